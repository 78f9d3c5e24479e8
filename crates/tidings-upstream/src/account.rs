//! One mirrored account: the principal in the store, the connection that
//! syncs and writes back, and what it has fetched (for the tests' and the
//! operators' accounting).

use crate::config::{Credentials, Endpoint};
use crate::session::Upstream;
use crate::state;
use std::sync::{Arc, Mutex};
use tidings::store::Directory;
use tidings::{Error, ErrorKind, Result};
use tidings_store_sqlite::SqliteStore;

/// The store the gateway mirrors into, shared with the server.
pub type SharedStore = Arc<Mutex<SqliteStore>>;

/// What an account has fetched from the upstream since it connected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fetched {
    /// Whole messages downloaded.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One principal's upstream account, connected.
#[derive(Debug)]
pub struct Account {
    pub(crate) upstream: Upstream,
    pub(crate) principal: u64,
    pub(crate) store: SharedStore,
    pub(crate) preview_bytes: usize,
    pub(crate) fetched: Fetched,
}

impl Account {
    /// Connects and logs in for the principal with address `principal`
    /// (which must exist in the store), creating the mirror's tables if needed.
    pub async fn open(
        endpoint: &Endpoint,
        credentials: &Credentials,
        principal: &str,
        store: SharedStore,
        preview_bytes: usize,
    ) -> Result<Account> {
        let principal = reading(&store, |store| {
            state::migrate(store.companion_sql())?;
            store
                .principal_by_email(principal)?
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "no principal with this address"))
                .map(|p| p.id)
        })?;
        let upstream = crate::connect::connect(endpoint, credentials).await?;
        Ok(Account {
            upstream,
            principal,
            store,
            preview_bytes,
            fetched: Fetched::default(),
        })
    }

    /// The principal this account mirrors.
    pub fn principal(&self) -> u64 {
        self.principal
    }

    /// What this connection has downloaded so far.
    pub fn fetched(&self) -> Fetched {
        self.fetched
    }

    /// Every mirrored folder.
    pub fn folders(&self) -> Result<Vec<state::Folder>> {
        reading(&self.store, |store| {
            state::folders(store.companion_sql(), self.principal)
        })
    }

    /// Syncs the folder list, then every folder.
    pub async fn sync_all(&mut self) -> Result<()> {
        for folder in self.sync_folder_list().await? {
            self.sync_folder(&folder).await?;
        }
        Ok(())
    }

    /// Syncs the folder named `name` upstream, if it is mirrored.
    pub async fn sync_folder_named(&mut self, name: &str) -> Result<()> {
        let folder = self.folders()?.into_iter().find(|f| f.name == name);
        match folder {
            Some(folder) => self.sync_folder(&folder).await,
            None => Ok(()),
        }
    }

    /// Logs out.
    pub async fn close(self) {
        self.upstream.logout().await;
    }

    /// Runs `f` in one store transaction: what it mirrors and the mirror's
    /// own bookkeeping commit together or not at all.
    pub(crate) fn transaction<T>(
        &self,
        f: impl FnOnce(&mut SqliteStore) -> Result<T>,
    ) -> Result<T> {
        blocking(|| lock(&self.store)?.transaction(f))
    }

    /// Runs `f` on the store (reads outside a transaction).
    pub(crate) fn reading<T>(&self, f: impl FnOnce(&SqliteStore) -> Result<T>) -> Result<T> {
        reading(&self.store, f)
    }
}

/// Runs `f` with the store, off the async worker's duty: the store may be
/// locked for a while (another account's commit, or a device's write-back
/// holding SQLite's write lock while it waits for the upstream), and a
/// worker thread blocked here could be the one the device writer needs to
/// make that wait end.
fn reading<T>(store: &SharedStore, f: impl FnOnce(&SqliteStore) -> Result<T>) -> Result<T> {
    blocking(|| f(&*lock(store)?))
}

/// `block_in_place` on a multi-threaded runtime (the other tasks of this
/// worker move elsewhere while it blocks); a plain call on a
/// current-thread one (tests), where nothing else could run anyway.
pub(crate) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// The shared store; waiting for another mirror's transaction (which may
/// itself wait for a device's write-back) happens off the async worker.
pub(crate) fn lock(store: &SharedStore) -> Result<std::sync::MutexGuard<'_, SqliteStore>> {
    let poisoned = |_| Error::new(ErrorKind::Storage, "the store lock was poisoned");
    match store.try_lock() {
        Ok(guard) => Ok(guard),
        Err(std::sync::TryLockError::WouldBlock) => blocking(|| store.lock().map_err(poisoned)),
        Err(std::sync::TryLockError::Poisoned(_)) => Err(Error::new(
            ErrorKind::Storage,
            "the store lock was poisoned",
        )),
    }
}
