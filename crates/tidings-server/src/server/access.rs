//! The server's one way into the store: every store call runs off the async
//! worker threads, on tokio's blocking pool, at most `store_workers` at
//! once. A slow query then delays only the connection that asked for it;
//! the async threads keep accepting, handshaking and pushing.
//!
//! This is also the backend boundary: connections see a [`Backend`], which
//! gives a read handle ([`Backend::read`]), a batch that takes the write lock
//! only when it writes ([`Backend::batch`], [`Backend::finish`]), and the
//! way to notice writes by other processes: a change token to poll
//! ([`Backend::change_token`], SQLite) or a feed of notices
//! ([`Backend::listener`], PostgreSQL's `LISTEN`/`NOTIFY`). [`SqlitePool`]
//! and [`PostgresPool`] implement it.

use crate::store::{Batch, SqlitePool, SqliteStore};
use crate::stores::{PostgresStore, ServerStore};
use std::sync::Arc;
use tidings::Result;
use tidings::store::Store;
use tidings_store_postgres::{Listener, PostgresPool};
use tokio::sync::Semaphore;

/// What the server needs of a store. Connections, the watcher and the
/// admin helpers use only this, the core's [`Store`] traits and
/// [`ServerStore`].
pub trait Backend: Send + Sync + 'static {
    /// One connection's store, for reads and for whole transactions.
    type Store: ServerStore;
    /// One turn of a device's session.
    type Batch<'a>: Store
    where
        Self: 'a;
    /// Runs `f` on a consistent read-only view.
    fn read<T>(&self, f: impl FnOnce(&Self::Store) -> Result<T>) -> Result<T>;
    /// Runs `f` in one transaction.
    fn write<T>(&self, f: impl FnOnce(&mut Self::Store) -> Result<T>) -> Result<T>;
    /// A batch that reads without the write lock and holds one write
    /// transaction from its first write until [`finish`](Self::finish).
    fn batch(&self) -> Result<Self::Batch<'_>>;
    /// The store inside `batch`'s transaction, for writes beyond the core's
    /// traits (mail delivery) that commit with the batch.
    fn in_batch<'b>(batch: &'b mut Self::Batch<'_>) -> Result<&'b mut Self::Store>;
    /// What `batch` reads, without taking a write lock it does not hold.
    fn batch_reads<'b>(batch: &'b Self::Batch<'_>) -> Result<&'b Self::Store>;
    /// Commits what `batch` wrote, if anything.
    fn finish(batch: Self::Batch<'_>) -> Result<()>;
    /// [`finish`](Self::finish), with how long `batch` waited for a lock
    /// another writer held, as [`waited`](Self::waited) tells it, its end
    /// included.
    fn finish_waited(batch: Self::Batch<'_>) -> (Result<()>, std::time::Duration) {
        let waited = Self::waited(&batch);
        (Self::finish(batch), waited)
    }
    /// How long `batch` waited for a lock another writer held, as far as
    /// the store can tell (SQLite's single writer; PostgreSQL's row locks
    /// are waited for inside statements and not told apart).
    fn waited(batch: &Self::Batch<'_>) -> std::time::Duration;
    /// A value that changes when another process commits; `None` when it
    /// cannot be read without waiting (look again later).
    fn change_token(&self) -> Result<Option<u64>>;
    /// Whether the database announces every commit's changes, from any
    /// process ([`listener`](Self::listener)); the watcher then waits on
    /// them instead of polling [`change_token`](Self::change_token).
    fn listens(&self) -> bool;
    /// A new connection hearing those announcements (blocks while it
    /// connects).
    fn listener(&self) -> Result<Listener>;
}

impl Backend for SqlitePool {
    type Store = SqliteStore;
    type Batch<'a> = Batch<'a>;

    fn read<T>(&self, f: impl FnOnce(&SqliteStore) -> Result<T>) -> Result<T> {
        SqlitePool::read(self, f)
    }

    fn write<T>(&self, f: impl FnOnce(&mut SqliteStore) -> Result<T>) -> Result<T> {
        SqlitePool::write(self, f)
    }

    fn batch(&self) -> Result<Batch<'_>> {
        SqlitePool::batch(self)
    }

    fn in_batch<'b>(batch: &'b mut Batch<'_>) -> Result<&'b mut SqliteStore> {
        batch.w()
    }

    fn batch_reads<'b>(batch: &'b Batch<'_>) -> Result<&'b SqliteStore> {
        batch.reads()
    }

    fn finish(batch: Batch<'_>) -> Result<()> {
        batch.finish()
    }

    fn finish_waited(batch: Batch<'_>) -> (Result<()>, std::time::Duration) {
        batch.finish_waited()
    }

    fn waited(batch: &Batch<'_>) -> std::time::Duration {
        batch.waited()
    }

    fn change_token(&self) -> Result<Option<u64>> {
        // The writer's data_version moves only for other connections'
        // commits: the readers never commit, so that means other processes.
        self.try_writer().map(|w| w.data_version()).transpose()
    }

    fn listens(&self) -> bool {
        false
    }

    fn listener(&self) -> Result<Listener> {
        Err(tidings::Error::new(
            tidings::ErrorKind::InvalidState,
            "SQLite announces no changes",
        ))
    }
}

impl Backend for PostgresPool {
    type Store = PostgresStore;
    type Batch<'a> = tidings_store_postgres::Batch;

    fn read<T>(&self, f: impl FnOnce(&PostgresStore) -> Result<T>) -> Result<T> {
        PostgresPool::read(self, f)
    }

    fn write<T>(&self, f: impl FnOnce(&mut PostgresStore) -> Result<T>) -> Result<T> {
        PostgresPool::write(self, f)
    }

    fn batch(&self) -> Result<Self::Batch<'_>> {
        PostgresPool::batch(self)
    }

    fn in_batch<'b>(batch: &'b mut Self::Batch<'_>) -> Result<&'b mut PostgresStore> {
        batch.w()
    }

    fn batch_reads<'b>(batch: &'b Self::Batch<'_>) -> Result<&'b PostgresStore> {
        Ok(batch.reads())
    }

    fn finish(batch: Self::Batch<'_>) -> Result<()> {
        batch.finish()
    }

    fn waited(_: &Self::Batch<'_>) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    fn change_token(&self) -> Result<Option<u64>> {
        // Changes arrive as notices (`listener`); there is nothing to poll.
        Ok(Some(0))
    }

    fn listens(&self) -> bool {
        true
    }

    fn listener(&self) -> Result<Listener> {
        PostgresPool::listener(self)
    }
}

/// The store and the bound on store jobs running at once.
pub(crate) struct Access<B> {
    pool: Arc<B>,
    workers: Arc<Semaphore>,
}

impl<B: Backend> Access<B> {
    pub(crate) fn new(pool: B, workers: usize) -> Self {
        Self {
            pool: Arc::new(pool),
            workers: Arc::new(Semaphore::new(workers.max(1))),
        }
    }

    /// The store, for synchronous callers that may block (admin helpers).
    pub(crate) fn pool(&self) -> &B {
        &self.pool
    }

    /// The store, to hand to a thread of its own.
    pub(crate) fn shared_pool(&self) -> Arc<B> {
        self.pool.clone()
    }

    /// Runs `f` on the blocking pool once a store worker is free; `None` if
    /// `f` panicked (the caller ends its connection).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&B) -> T + Send + 'static,
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
