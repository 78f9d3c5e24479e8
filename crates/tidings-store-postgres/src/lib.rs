//! [`PostgresStore`]: the Tidings core's store traits over PostgreSQL, for
//! operators who outgrow one SQLite file and run several server processes on
//! one database.
//!
//! The schema is the reference server's SQLite schema carried over (one row
//! per item, indexed by the modseq of its latest change; the head of each
//! collection in its own row), and the delta and activation rules are the
//! core's ([`tidings::sync::page_after`], [`ActivationRecord::redeem`]), so
//! this store serves byte-identical deltas to [`tidings::store::MemoryStore`].
//!
//! - **Modseqs are gap-free per collection and ordered with their commits**:
//!   every write bumps the collection's head with `UPDATE … RETURNING` inside
//!   its transaction, and the row lock makes the next writer of that
//!   collection wait for the commit.
//! - **Migrations** are SQL files in the crate (`migrations/`), applied in
//!   order under an advisory lock when a store connects, and recorded in
//!   `schema_migrations` ([`migrate`]).
//! - **Change notification**: triggers announce every moved head, changed
//!   delegation, revocation and wipe on channel `tidings` from the writing
//!   transaction; a [`Listener`] hears them, from any process.
//! - **Atomicity** is the server's, as with SQLite: [`PostgresStore::transaction`]
//!   and [`PostgresStore::batch`].
//!
//! ```no_run
//! use tidings::store::{Directory, ItemStore};
//! use tidings_store_postgres::PostgresStore;
//!
//! let mut store = PostgresStore::connect("postgres://tidings@127.0.0.1/tidings")?;
//! let ada = store.add_principal("Ada", "ada@town.example")?;
//! let inbox = store.add_collection(ada, tidings::proto::CollectionKind::Mail, "Inbox")?;
//! store.add_message(inbox, b"Subject: hi\r\n\r\nhello\r\n", 2048)?;
//! assert_eq!(store.collection_state(inbox)?.1, 1);
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! Every call blocks on the network: call it from a thread that may block
//! (`tokio::task::spawn_blocking`), never from an async task. One store is
//! one connection; a server that wants several transactions in flight
//! checks stores out of a [`PostgresPool`].
//!
//! [`ActivationRecord::redeem`]: tidings::store::ActivationRecord::redeem

#![forbid(unsafe_code)]

mod batch;
mod conn;
mod devices;
mod directory;
mod items;
pub mod migrate;
mod notify;
mod pages;
mod parts;
mod pool;
#[cfg(feature = "testing")]
pub mod testing;
mod uploads;

pub use batch::Batch;
pub use notify::{CHANNEL, DeviceOrder, Listener, Notice};
pub use pool::{CHECK_AFTER_IDLE, Manager, PooledStore, PostgresPool};
pub use postgres::Config;

use conn::{Conn, from_sql, get};
use std::sync::{Mutex, MutexGuard, PoisonError};
use tidings::{Error, ErrorKind, Result};

/// Every store trait of the core, over one PostgreSQL connection.
pub struct PostgresStore {
    conn: Mutex<Conn>,
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// Parses a connection string (`postgres://user@host:port/db` or
/// `host=… user=… dbname=…`), naming the client `application_name` when the
/// string does not.
pub(crate) fn config(url: &str, application_name: &str) -> Result<Config> {
    let mut config: Config = url.parse().map_err(|_| {
        // The string may hold a password: it stays out of the error.
        Error::new(
            ErrorKind::InvalidArgument,
            "not a PostgreSQL connection string",
        )
    })?;
    if config.get_application_name().is_none() {
        config.application_name(application_name);
    }
    Ok(config)
}

pub(crate) fn connect_client(config: &Config) -> Result<postgres::Client> {
    let fail = |e: postgres::Error| {
        tracing::error!(error = %e, "cannot connect to PostgreSQL");
        Error::new(ErrorKind::Storage, "cannot connect to the database")
    };
    let mut client = config.connect(postgres::NoTls).map_err(fail)?;
    // Every statement is prepared once per connection and looks rows up by
    // key, so one plan serves every execution. Left to choose, PostgreSQL
    // plans a join or a `LIMIT $n` afresh on each execution (a custom plan
    // looks cheaper), and planning was a third of its CPU per reconnect.
    client
        .batch_execute("SET plan_cache_mode = force_generic_plan")
        .map_err(fail)?;
    Ok(client)
}

impl PostgresStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_with(&config(url, "tidings")?)
    }

    /// Connects with a prepared [`Config`] and brings the schema up to date.
    pub fn connect_with(config: &Config) -> Result<Self> {
        let store = Self::from_client(connect_client(config)?);
        migrate::migrate(&mut store.conn())?;
        Ok(store)
    }

    /// A store over a connected client whose schema is known to be current.
    fn from_client(client: postgres::Client) -> Self {
        Self {
            conn: Mutex::new(Conn::new(client)),
        }
    }

    /// The connection, for one call. A panic elsewhere cannot leave it
    /// half-used (each call runs to completion under the lock), so a
    /// poisoned lock is taken over.
    fn conn(&self) -> MutexGuard<'_, Conn> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the connection is gone for good (the database restarted, the
    /// network failed): a pool drops such a store and connects a new one.
    pub fn is_closed(&self) -> bool {
        self.conn().is_closed()
    }

    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled
    /// back (every write of `f` undone) if it returns `Err`. Inside another
    /// transaction it is a savepoint.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn().begin()?;
        let result = self.unwinding_rolls_back(f);
        let ended = self.conn().end(result.is_ok());
        match ended {
            Ok(()) => result,
            Err(e) => result.and(Err(e)),
        }
    }

    /// Runs `f` in one transaction that commits whatever `f` wrote, even
    /// when it returns `Err`, and then returns `f`'s result. The server runs
    /// each batch of a device's bytes this way: what a failing session stored
    /// on the way (a wrong activation guess counted, a hello timestamp) must
    /// stick. A failed commit is an error of its own, and so is a statement
    /// that failed inside (PostgreSQL then keeps nothing of the transaction).
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.conn().begin()?;
        let result = self.unwinding_rolls_back(f);
        self.conn().end(true)?;
        result
    }

    /// Runs `f`; if it panics, rolls back what [`begin`](Conn::begin)
    /// opened before the panic goes on, so the connection is not left inside
    /// a transaction that would swallow every later write.
    fn unwinding_rolls_back<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(self))) {
            Ok(result) => result,
            Err(panic) => {
                let _ = self.conn().end(false);
                std::panic::resume_unwind(panic)
            }
        }
    }

    /// A persistent value of the server's own (its key, settings).
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.conn()
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
            .map(|row| get(&row, 0))
            .transpose()
    }

    /// Sets a persistent value of the server's own.
    pub fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .map(drop)
    }
}

/// A fresh id from the database's sequence: unique across processes.
pub(crate) fn fresh_id(conn: &mut Conn) -> Result<u64> {
    let row = conn
        .query_opt("SELECT nextval('ids')", &[])?
        .ok_or_else(|| Error::new(ErrorKind::Storage, "no id drawn"))?;
    get::<i64>(&row, 0).map(from_sql)
}
