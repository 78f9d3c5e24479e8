//! [`PostgresPool`]: connections for a server's blocking threads.
//!
//! Each [`PostgresStore`] is one connection; a server with several
//! transactions in flight (one per blocking thread doing store work) checks
//! stores out of a pool. The pool bounds how many connections one process
//! opens, bounds how long a caller waits for one, and replaces a connection
//! that broke (the database restarted, the network failed).

use crate::{Batch, Listener, PostgresStore, config, connect_client};
use postgres::Config;
use std::time::Duration;
use tidings::{Error, ErrorKind, Result};

/// What the pool needs to open and check stores.
#[derive(Debug)]
pub struct Manager {
    config: Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PostgresStore;
    type Error = Error;

    fn connect(&self) -> Result<PostgresStore> {
        // The pool migrated the schema when it was built.
        let store = PostgresStore::from_client(connect_client(&self.config)?);
        store.conn().redial_with(self.config.clone());
        Ok(store)
    }

    fn is_valid(&self, store: &mut PostgresStore) -> Result<()> {
        // A connection back from work moments ago is handed out without the
        // check, a round trip on every job (one of a reconnect's four). If
        // the database ended it meanwhile (a restart, a terminated
        // backend), its first round trip finds it closed and is made again
        // on a new connection (`Conn::run`).
        let mut conn = store.conn();
        match conn.idle_for() {
            Some(idle) if idle < CHECK_AFTER_IDLE => {
                conn.handed_out_unchecked();
                Ok(())
            }
            _ => conn.batch_execute(""),
        }
    }

    fn has_broken(&self, store: &mut PostgresStore) -> bool {
        let mut conn = store.conn();
        conn.returned();
        conn.is_closed()
    }
}

/// How long a connection may rest in the pool and still be handed out
/// without a round trip to check it.
pub const CHECK_AFTER_IDLE: Duration = Duration::from_millis(500);

/// A store checked out of a [`PostgresPool`]; it goes back when dropped.
pub type PooledStore = r2d2::PooledConnection<Manager>;

/// A bounded pool of [`PostgresStore`]s on one database.
#[derive(Clone, Debug)]
pub struct PostgresPool {
    pool: r2d2::Pool<Manager>,
    /// For the listener, which holds a connection of its own.
    config: Config,
}

impl PostgresPool {
    /// Connects to the database at `url`, brings its schema up to date, and
    /// keeps at most `max_connections` connections; a caller waits at most
    /// `wait` for one.
    pub fn connect(url: &str, max_connections: u32, wait: Duration) -> Result<Self> {
        let config = config(url, "tidings")?;
        // Migrates once, and proves the database is reachable before the
        // pool starts filling itself in the background.
        PostgresStore::connect_with(&config)?;
        let pool = r2d2::Pool::builder()
            .max_size(max_connections.max(1))
            .min_idle(Some(0))
            .connection_timeout(wait)
            .build_unchecked(Manager {
                config: config.clone(),
            });
        Ok(Self { pool, config })
    }

    /// Runs `f` on a pooled store, each statement in autocommit. Every
    /// read the server makes is consistent in one statement (a delta reads
    /// the head and the entries together), so no transaction is opened: a
    /// push to one device is then one round trip, not three.
    pub fn read<T>(&self, f: impl FnOnce(&PostgresStore) -> Result<T>) -> Result<T> {
        let store = self.get()?;
        f(&store)
    }

    /// Runs `f` in one transaction ([`PostgresStore::transaction`]).
    pub fn write<T>(&self, f: impl FnOnce(&mut PostgresStore) -> Result<T>) -> Result<T> {
        self.get()?.transaction(f)
    }

    /// A batch: reads in autocommit until the first write, then one
    /// transaction committed by [`Batch::finish`].
    pub fn batch(&self) -> Result<Batch> {
        Ok(Batch::new(self.get()?))
    }

    /// A [`Listener`] on the same database, on a connection of its own
    /// (outside the pool's bound).
    pub fn listener(&self) -> Result<Listener> {
        let mut config = self.config.clone();
        config.application_name("tidings-listener");
        Listener::connect_with(config)
    }

    /// A store for one unit of work, waiting for a free connection at most
    /// as long as the pool was built with ([`ErrorKind::StorageLimit`] then).
    pub fn get(&self) -> Result<PooledStore> {
        self.pool.get().map_err(|_| {
            Error::new(
                ErrorKind::StorageLimit,
                "no database connection free in time",
            )
        })
    }
}
