//! The server's static-static DH cache, shared by all its sessions.
//!
//! One [`StaticStaticCache`] behind a mutex: the lock is held only to look a
//! device up (the value is copied out) or to add or drop one, never across
//! a handshake. The application creates it and hands a clone to each
//! session ([`ServerSession::with_dh_cache`](super::ServerSession::with_dh_cache)).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::crypto::{StaticStaticCache, StaticStaticDh};

/// A [`StaticStaticCache`] its sessions share; cloning shares it.
#[derive(Clone, Debug)]
pub struct SharedDhCache(Arc<Mutex<StaticStaticCache>>);

impl SharedDhCache {
    /// An empty cache of at most `capacity` devices (0 disables it); see
    /// [`DEFAULT_DH_CACHE_CAPACITY`](crate::crypto::DEFAULT_DH_CACHE_CAPACITY).
    pub fn new(capacity: usize) -> Self {
        Self(Arc::new(Mutex::new(StaticStaticCache::new(capacity))))
    }

    /// Devices held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no device is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Drops `device_key`'s value (a device revoked outside a session).
    pub fn forget(&self, device_key: &[u8; 32]) {
        self.lock().remove(device_key);
    }

    pub(crate) fn get(&self, device_key: &[u8; 32]) -> Option<StaticStaticDh> {
        self.lock().get(device_key).cloned()
    }

    /// Keeps a value an enrolled device's handshake computed when it missed
    /// the cache, for its next handshakes.
    pub(crate) fn keep(&self, value: StaticStaticDh) {
        self.lock().keep(value);
    }

    fn lock(&self) -> MutexGuard<'_, StaticStaticCache> {
        // A panic elsewhere while holding the lock cannot leave a wrong
        // value: each entry is written whole before it is inserted.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
