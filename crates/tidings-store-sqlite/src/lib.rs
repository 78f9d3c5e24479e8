//! [`SqliteStore`]: the core's store traits over an embedded SQLite database,
//! the reference server's store (re-exported there as `tidings_server::store`).
//!
//! One file holds everything the server remembers: principals, collections
//! and their change logs, items, raw messages for range fetches, the device
//! registry, cursors and applied operation ids. WAL mode lets admin commands
//! (another process) write while the server reads.
//!
//! Atomicity is per call of [`SqliteStore::transaction`]: the server runs
//! each batch of bytes from a device inside one, so an operation's effect and
//! the record of its id commit together, and a crash can neither lose the
//! one nor apply the other twice. The delta and activation rules are the
//! core's ([`tidings::sync::page_after`], [`ActivationRecord::redeem`]), so
//! this store serves byte-identical deltas to [`tidings::store::MemoryStore`].
//!
//! [`ActivationRecord::redeem`]: tidings::store::ActivationRecord::redeem

#![forbid(unsafe_code)]

mod acks;
mod devices;
mod directory;
mod items;
mod lifecycle;
mod parts;
mod pool;
mod schema;
mod shared;
mod uploads;
mod write_back;

pub use pool::{Batch, SqlitePool};
pub use write_back::WriteBack;

use rusqlite::Connection;
use std::path::Path;
use tidings::{Error, ErrorKind, Result};

/// How hard commits hold on to the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Survives a crash of the server process (`kill -9`): the default.
    /// A power cut may lose the last few commits, never consistency.
    #[default]
    Process,
    /// Survives a power cut too: every commit waits for the disk.
    PowerLoss,
}

/// Every store trait of the core, in one SQLite database.
pub struct SqliteStore {
    conn: Connection,
    /// Mails removed in the open server batch, whose bytes are freed just
    /// before it commits (see [`SqliteStore::defer_frees`]); `None`
    /// outside one, where a removal frees them at once.
    deferred_frees: Option<Vec<u64>>,
}

impl core::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.conn.path())
            .finish()
    }
}

/// Logs a database error (which may name tables, never content) and maps it
/// to the core's content-free [`ErrorKind::Storage`].
pub(crate) fn storage(e: rusqlite::Error) -> Error {
    tracing::error!(error = %e, "database error");
    Error::new(ErrorKind::Storage, "database error")
}

/// u64 values (ids, modseqs, timestamps) are stored bit for bit in SQLite's
/// signed integers; every comparison of client-chosen values happens in Rust.
pub(crate) fn to_sql(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// The inverse of [`to_sql`].
pub(crate) fn from_sql(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path, durability: Durability) -> Result<Self> {
        let conn = Connection::open(path).map_err(storage)?;
        Self::configure(conn, durability)
    }

    /// A read-only connection to the database at `path` (already created
    /// by [`open`](Self::open)): the server's readers, which never take the
    /// write lock and so never wait for it (WAL mode).
    pub fn open_reader(path: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(path, flags).map_err(storage)?;
        // A reader waits only while a checkpoint resets the WAL (rare, short).
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(storage)?;
        conn.pragma_update(None, "query_only", "ON")
            .map_err(storage)?;
        Ok(Self {
            conn,
            deferred_frees: None,
        })
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory() -> Result<Self> {
        let conn = Connection::open_in_memory().map_err(storage)?;
        Self::configure(conn, Durability::Process)
    }

    fn configure(conn: Connection, durability: Durability) -> Result<Self> {
        let synchronous = match durability {
            Durability::Process => "NORMAL",
            Durability::PowerLoss => "FULL",
        };
        // Another process (an admin command) may hold the write lock briefly.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(storage)?;
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(storage)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(storage)?;
        schema::migrate(&conn)?;
        Ok(Self {
            conn,
            deferred_frees: None,
        })
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled
    /// back (every write of `f` undone) if it returns `Err`.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(storage)?;
        match f(self) {
            Ok(value) => {
                self.conn.execute_batch("COMMIT").map_err(storage)?;
                Ok(value)
            }
            Err(e) => {
                // A failed rollback leaves SQLite to roll back on close.
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Runs `f` in one transaction that commits whatever `f` wrote, even
    /// when it returns `Err`, and then returns `f`'s result. The server runs
    /// each batch of a device's bytes this way: a session that fails has
    /// already queued the reason for the device, and what it stored on the
    /// way (a wrong activation guess counted, a hello timestamp) must stick.
    /// Only a failed commit is an error of its own.
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(storage)?;
        let result = f(self);
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(storage(e));
        }
        result
    }

    /// Runs `f` as one unit: a transaction of its own when none is open, a
    /// savepoint inside one. Every write that moves a collection's head and
    /// its items goes through here: a reader (the server's watcher, in
    /// another process or not) that saw the new head without the item would
    /// serve a page that skips it.
    pub fn atomic<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.conn.is_autocommit() {
            return self.transaction(f);
        }
        self.conn
            .execute_batch("SAVEPOINT atomic")
            .map_err(storage)?;
        match f(self) {
            Ok(value) => {
                self.conn.execute_batch("RELEASE atomic").map_err(storage)?;
                Ok(value)
            }
            Err(e) => {
                let _ = self
                    .conn
                    .execute_batch("ROLLBACK TO atomic; RELEASE atomic");
                Err(e)
            }
        }
    }

    /// A number that changes whenever another connection (an admin command,
    /// a mail delivery agent) commits to the database: the server polls it
    /// to push changes it did not make itself.
    pub fn data_version(&self) -> Result<u64> {
        self.conn
            .pragma_query_value(None, "data_version", |row| row.get::<_, i64>(0))
            .map(from_sql)
            .map_err(storage)
    }

    /// A persistent value of the server's own (its key, settings).
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(storage)
    }

    /// Sets a persistent value of the server's own.
    pub fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, value],
            )
            .map(drop)
            .map_err(storage)
    }

    /// `n` (at least one) fresh ids, in order.
    fn fresh_ids(&mut self, n: usize) -> Result<Vec<u64>> {
        let n = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        let last = self
            .conn
            .query_row(
                "UPDATE meta SET value = value + ?1 WHERE key = 'next_id' RETURNING value",
                [to_sql(n)],
                |row| row.get::<_, i64>(0),
            )
            .map(from_sql)
            .map_err(storage)?;
        Ok((last.saturating_sub(n - 1)..=last).collect())
    }

    fn fresh_id(&mut self) -> Result<u64> {
        self.conn
            .query_row(
                "UPDATE meta SET value = value + 1 WHERE key = 'next_id' RETURNING value",
                [],
                |row| row.get::<_, i64>(0),
            )
            .map(from_sql)
            .map_err(storage)
    }
}

#[cfg(test)]
mod freeing_tests;
#[cfg(test)]
mod tests;
