//! The server's one way into the store: every store call runs off the async
//! worker threads, on tokio's blocking pool, at most `store_workers` at
//! once. A slow query then delays only the connection that asked for it;
//! the async threads keep accepting, handshaking and pushing.
//!
//! This is also the backend boundary: connections see a [`Backend`], which
//! gives a read handle ([`Backend::read`]), a batch that takes the write lock
//! only when it writes ([`Backend::batch`], [`Backend::finish`]), and a
//! change token for noticing writes by other processes
//! ([`Backend::change_token`]). [`SqlitePool`] is the one implementation
//! today; a PostgreSQL pool would be the second.

use crate::store::{Batch, SqlitePool, SqliteStore};
use std::sync::Arc;
use tidings::Result;
use tidings::store::Store;
use tokio::sync::Semaphore;

/// What the server needs of a store. Connections use only this (and the
/// core's [`Store`] traits on what it hands out); mail delivery and the
/// admin helpers still name [`SqliteStore`].
pub trait Backend: Send + Sync + 'static {
    /// A read-only view.
    type Reader: Store;
    /// One turn of a device's session.
    type Batch<'a>: Store
    where
        Self: 'a;
    /// Runs `f` on a consistent read-only view.
    fn read<T>(&self, f: impl FnOnce(&Self::Reader) -> Result<T>) -> Result<T>;
    /// A batch that reads without the write lock and holds one write
    /// transaction from its first write until [`finish`](Self::finish).
    fn batch(&self) -> Result<Self::Batch<'_>>;
    /// Commits what `batch` wrote, if anything.
    fn finish(batch: Self::Batch<'_>) -> Result<()>;
    /// A value that changes when another process commits; `None` when it
    /// cannot be read without waiting (look again later).
    fn change_token(&self) -> Result<Option<u64>>;
}

impl Backend for SqlitePool {
    type Reader = SqliteStore;
    type Batch<'a> = Batch<'a>;

    fn read<T>(&self, f: impl FnOnce(&SqliteStore) -> Result<T>) -> Result<T> {
        SqlitePool::read(self, f)
    }

    fn batch(&self) -> Result<Batch<'_>> {
        SqlitePool::batch(self)
    }

    fn finish(batch: Batch<'_>) -> Result<()> {
        batch.finish()
    }

    fn change_token(&self) -> Result<Option<u64>> {
        // The writer's data_version moves only for other connections'
        // commits: the readers never commit, so that means other processes.
        self.try_writer().map(|w| w.data_version()).transpose()
    }
}

/// The store and the bound on store jobs running at once.
pub(crate) struct Access {
    pool: Arc<SqlitePool>,
    workers: Arc<Semaphore>,
}

impl Access {
    pub(crate) fn new(pool: SqlitePool, workers: usize) -> Self {
        Self {
            pool: Arc::new(pool),
            workers: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// The store, for synchronous callers that may block (admin helpers).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Runs `f` on the blocking pool once a store worker is free; `None` if
    /// `f` panicked (the caller ends its connection).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SqlitePool) -> T + Send + 'static,
    ) -> Option<T> {
        let permit = self.workers.clone().acquire_owned().await.ok()?;
        let pool = self.pool.clone();
        let job = tokio::task::spawn_blocking(move || {
            let out = f(&pool);
            drop(permit);
            out
        });
        match job.await {
            Ok(out) => Some(out),
            Err(e) => {
                tracing::error!(error = %e, "a store job failed");
                None
            }
        }
    }
}
