//! A bounded cache of static-static DH values, one per peer static key.
//!
//! A server sees the same devices reconnect again and again; the IK `ss`
//! token is `DH(server static, device static)`, the same on every one of
//! their handshakes. Keeping it saves one X25519 operation per handshake
//! (see [`StaticStaticDh`]) with byte-identical messages.
//!
//! The cache is plain state its owner holds and passes (no global, no
//! clock): least-recently-used eviction by a use counter, so it behaves the
//! same on every run. Entries are secret and zeroized when evicted, removed
//! or dropped (each is a [`StaticStaticDh`]). The owner decides what enters:
//! a server inserts only devices its store knows and has not revoked, so a
//! stranger's hellos cannot push real devices out.

use std::collections::BTreeMap;

use super::keys::{DH_LEN, StaticKeypair, StaticStaticDh};
use crate::error::Result;

/// Peers a server keeps by default: at most 4,096 × 528 B ≈ 2.1 MiB (see
/// [`StaticStaticCache::BYTES_PER_ENTRY`]).
pub const DEFAULT_DH_CACHE_CAPACITY: usize = 4096;

/// At most `capacity` static-static DH values, keyed by the peer's static
/// public key, least recently used evicted first.
pub struct StaticStaticCache {
    capacity: usize,
    /// Use counter: larger is more recent. Only grows.
    clock: u64,
    entries: BTreeMap<[u8; DH_LEN], (StaticStaticDh, u64)>,
    /// The same entries by last use, to find the eviction victim in O(log n).
    by_use: BTreeMap<u64, [u8; DH_LEN]>,
}

impl StaticStaticCache {
    /// Upper bound of the memory one entry costs, B-tree slack included:
    /// its payload is 32 + 96 + 8 bytes in one map and 8 + 32 in the other
    /// (176 B); std's B-tree leaves are at least 5/11 full and its internal
    /// nodes add under a fifth more, so three times the payload bounds it.
    pub const BYTES_PER_ENTRY: usize = 3 * (DH_LEN + 96 + 8 + 8 + DH_LEN);

    /// An empty cache holding at most `capacity` peers (0 disables it).
    pub fn new(capacity: usize) -> Self {
        StaticStaticCache {
            capacity,
            clock: 0,
            entries: BTreeMap::new(),
            by_use: BTreeMap::new(),
        }
    }

    /// The most peers this cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Peers held now.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no peer is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value kept for `peer`, marked as just used.
    pub fn get(&mut self, peer: &[u8; DH_LEN]) -> Option<&StaticStaticDh> {
        let now = self.tick();
        let (value, used) = self.entries.get_mut(peer)?;
        self.by_use.remove(used);
        self.by_use.insert(now, *peer);
        *used = now;
        Some(value)
    }

    /// Computes `DH(local, peer)` and keeps it, evicting the least recently
    /// used peer when full. Fails with
    /// [`ErrorKind::LowOrderPoint`](crate::error::ErrorKind::LowOrderPoint)
    /// as [`StaticKeypair::static_static`] does, keeping nothing.
    pub fn insert(&mut self, local: &StaticKeypair, peer: &[u8; DH_LEN]) -> Result<()> {
        if self.capacity == 0 {
            return Ok(());
        }
        self.keep(local.static_static(peer)?);
        Ok(())
    }

    /// Keeps `value`, a DH already computed (by a handshake that missed the
    /// cache), evicting the least recently used peer when full.
    pub fn keep(&mut self, value: StaticStaticDh) {
        if self.capacity == 0 {
            return;
        }
        let peer = &value.peer_public();
        self.remove(peer);
        while self.entries.len() >= self.capacity {
            let Some((_, victim)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&victim);
        }
        let now = self.tick();
        self.by_use.insert(now, *peer);
        self.entries.insert(*peer, (value, now));
    }

    /// Forgets `peer` (a revoked device); its value is zeroized.
    pub fn remove(&mut self, peer: &[u8; DH_LEN]) {
        if let Some((_, used)) = self.entries.remove(peer) {
            self.by_use.remove(&used);
        }
    }

    fn tick(&mut self) -> u64 {
        // 2^64 uses never happen; saturating keeps the arithmetic checked.
        self.clock = self.clock.saturating_add(1);
        self.clock
    }
}

impl core::fmt::Debug for StaticStaticCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StaticStaticCache")
            .field("capacity", &self.capacity)
            .field("len", &self.entries.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(n: u8) -> [u8; DH_LEN] {
        StaticKeypair::from_secret_bytes([n; 32]).public_key()
    }

    #[test]
    fn keeps_exactly_the_dh_of_the_two_static_keys() {
        let server = StaticKeypair::from_secret_bytes([1; 32]);
        let device = StaticKeypair::from_secret_bytes([2; 32]);
        let mut cache = StaticStaticCache::new(4);
        cache.insert(&server, &device.public_key()).unwrap();
        let kept = cache.get(&device.public_key()).unwrap();
        let direct = device.diffie_hellman(&server.public_key()).unwrap();
        assert_eq!(
            kept.for_keys(&server.public_key(), &device.public_key()),
            Some(direct.as_bytes())
        );
    }

    #[test]
    fn evicts_the_least_recently_used_peer_and_never_grows_past_capacity() {
        let server = StaticKeypair::from_secret_bytes([1; 32]);
        let mut cache = StaticStaticCache::new(2);
        cache.insert(&server, &peer(2)).unwrap();
        cache.insert(&server, &peer(3)).unwrap();
        assert!(cache.get(&peer(2)).is_some()); // 3 is now the oldest
        cache.insert(&server, &peer(4)).unwrap();
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&peer(3)).is_none());
        assert!(cache.get(&peer(2)).is_some());
        assert!(cache.get(&peer(4)).is_some());
        // Inserting a held peer again replaces it, not adds.
        cache.insert(&server, &peer(4)).unwrap();
        assert_eq!((cache.len(), cache.by_use.len()), (2, 2));
    }

    #[test]
    fn a_removed_peer_is_gone_and_zero_capacity_holds_nothing() {
        let server = StaticKeypair::from_secret_bytes([1; 32]);
        let mut cache = StaticStaticCache::new(2);
        cache.insert(&server, &peer(2)).unwrap();
        cache.remove(&peer(2));
        assert!(cache.is_empty() && cache.by_use.is_empty());
        let mut off = StaticStaticCache::new(0);
        off.insert(&server, &peer(2)).unwrap();
        assert!(off.get(&peer(2)).is_none());
    }

    #[test]
    fn a_low_order_peer_is_refused_and_not_kept() {
        let server = StaticKeypair::from_secret_bytes([1; 32]);
        let mut cache = StaticStaticCache::new(2);
        assert!(cache.insert(&server, &[0; 32]).is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn debug_shows_no_secret() {
        let server = StaticKeypair::from_secret_bytes([1; 32]);
        let mut cache = StaticStaticCache::new(2);
        cache.insert(&server, &peer(2)).unwrap();
        assert_eq!(
            format!("{cache:?}"),
            "StaticStaticCache { capacity: 2, len: 1, .. }"
        );
    }
}
