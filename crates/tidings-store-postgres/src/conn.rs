//! One database connection: prepared statements kept for reuse, and the
//! nesting of the transaction and savepoints open on it.
//!
//! PostgreSQL aborts a whole transaction when one statement fails, and then
//! turns a `COMMIT` into a silent `ROLLBACK`. The connection therefore
//! remembers the level at which a statement failed: rolling back to a
//! savepoint at or below that level clears it, and asking to keep a
//! transaction that failed rolls it back and reports an error instead of
//! pretending the writes stuck.

use postgres::types::ToSql;
use postgres::{Client, Row, Statement};
use std::collections::HashMap;
use tidings::{Error, ErrorKind, Result};

/// Parameters of a statement, as the client takes them.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// Logs a database error (which may name tables, never content) and maps it
/// to the core's content-free [`ErrorKind::Storage`].
pub(crate) fn storage(e: postgres::Error) -> Error {
    tracing::error!(error = %e, "database error");
    Error::new(ErrorKind::Storage, "database error")
}

/// u64 values (ids, modseqs, timestamps) are stored bit for bit in
/// PostgreSQL's signed `BIGINT`; every comparison of client-chosen values
/// happens in Rust.
pub(crate) fn to_sql(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

/// The inverse of [`to_sql`].
pub(crate) fn from_sql(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// Column `idx` of `row`, typed; a type mismatch is a storage error, not a panic.
pub(crate) fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T> {
    row.try_get(idx).map_err(storage)
}

/// A u64 column stored with [`to_sql`].
pub(crate) fn get_u64(row: &Row, idx: usize) -> Result<u64> {
    get::<i64>(row, idx).map(from_sql)
}

/// A u32 column (flags, rights, attempts) stored in a `BIGINT`.
pub(crate) fn get_u32(row: &Row, idx: usize) -> Result<u32> {
    u32::try_from(get::<i64>(row, idx)?)
        .map_err(|_| Error::new(ErrorKind::Storage, "stored value out of range"))
}

/// The client, closed on a thread of its own when dropped inside an async
/// runtime: the synchronous client blocks on its own runtime to close,
/// which tokio forbids on a thread driving async tasks (a server's pool and
/// an async test drop stores there).
struct Closing(Option<Client>);

impl core::ops::Deref for Closing {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.0.as_ref().expect("the client is taken only on drop")
    }
}

impl core::ops::DerefMut for Closing {
    fn deref_mut(&mut self) -> &mut Client {
        self.0.as_mut().expect("the client is taken only on drop")
    }
}

impl Drop for Closing {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else { return };
        if tokio::runtime::Handle::try_current().is_err() {
            drop(client);
            return;
        }
        // Detached: the process may end first, and the server then sees
        // the connection close all the same.
        let closing = std::thread::Builder::new()
            .name("tidings-pg-close".into())
            .spawn(move || drop(client));
        if let Err(e) = closing {
            tracing::warn!(error = %e, "cannot close a database connection cleanly");
        }
    }
}

/// The connection and its transaction state.
pub(crate) struct Conn {
    client: Closing,
    statements: HashMap<&'static str, Statement>,
    /// 0: autocommit; 1: a transaction is open; n > 1: n - 1 savepoints too.
    depth: u32,
    /// The lowest level at which a statement failed, if one did.
    failed_at: Option<u32>,
    /// When the connection last went back to its pool.
    returned_at: Option<std::time::Instant>,
    /// Handed out by the pool without a check: if its first round trip
    /// finds it closed, nothing ran on it, and the trip is made again on a
    /// new connection to `redial`.
    unchecked: bool,
    /// How a pooled connection connects again.
    redial: Option<postgres::Config>,
}

impl Conn {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client: Closing(Some(client)),
            statements: HashMap::new(),
            depth: 0,
            failed_at: None,
            returned_at: None,
            unchecked: false,
            redial: None,
        }
    }

    /// Lets a pooled connection connect again with `config` when it is
    /// found closed at its first round trip after an unchecked checkout.
    pub(crate) fn redial_with(&mut self, config: postgres::Config) {
        self.redial = Some(config);
    }

    /// Notes that the pool handed the connection out without checking it.
    pub(crate) fn handed_out_unchecked(&mut self) {
        self.unchecked = true;
    }

    /// Runs `op` (a round trip, with a prepare first if needed). On a
    /// connection handed out unchecked, a first round trip that finds it
    /// closed is made again once on a new connection: outside a
    /// transaction, and with the old one closed, nothing of it ran.
    fn run<T>(
        &mut self,
        mut op: impl FnMut(&mut Self) -> core::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let unchecked = core::mem::take(&mut self.unchecked);
        match op(self) {
            Ok(value) => Ok(value),
            Err(e) if unchecked && self.depth == 0 && (e.is_closed() || self.is_closed()) => {
                self.connect_again()?;
                op(self).map_err(|e| self.fail(e))
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn connect_again(&mut self) -> Result<()> {
        let Some(config) = &self.redial else {
            return Err(Error::new(
                ErrorKind::Storage,
                "the database connection closed",
            ));
        };
        tracing::info!("database connection found closed; connecting again");
        let client = crate::connect_client(config)?;
        self.client = Closing(Some(client));
        self.statements.clear();
        Ok(())
    }

    /// Whether the connection to the server is gone for good.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// How long the connection has been back in its pool (`None`: it was
    /// never returned).
    pub(crate) fn idle_for(&self) -> Option<std::time::Duration> {
        self.returned_at.map(|at| at.elapsed())
    }

    /// Notes that the connection went back to its pool.
    pub(crate) fn returned(&mut self) {
        self.returned_at = Some(std::time::Instant::now());
    }

    fn fail(&mut self, e: postgres::Error) -> Error {
        if self.depth > 0 {
            self.failed_at = Some(self.failed_at.map_or(self.depth, |f| f.min(self.depth)));
        }
        storage(e)
    }

    fn statement(&mut self, sql: &'static str) -> core::result::Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Every row `sql` returns.
    pub(crate) fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        self.run(|conn| {
            let statement = conn.statement(sql)?;
            conn.client.query(&statement, params)
        })
    }

    /// The one row `sql` returns, if any (more than one is an error).
    pub(crate) fn query_opt(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<Option<Row>> {
        self.run(|conn| {
            let statement = conn.statement(sql)?;
            conn.client.query_opt(&statement, params)
        })
    }

    /// Runs `sql`; returns how many rows it changed.
    pub(crate) fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        self.run(|conn| {
            let statement = conn.statement(sql)?;
            conn.client.execute(&statement, params)
        })
    }

    /// Runs statements without parameters (migrations, transaction control).
    pub(crate) fn batch_execute(&mut self, sql: &str) -> Result<()> {
        self.run(|conn| conn.client.batch_execute(sql))
    }

    /// Whether a transaction is open.
    pub(crate) fn in_transaction(&self) -> bool {
        self.depth > 0
    }

    /// Opens a transaction, or a savepoint inside the open one.
    pub(crate) fn begin(&mut self) -> Result<()> {
        let sql = match self.depth {
            0 => "BEGIN".to_string(),
            d => format!("SAVEPOINT level_{d}"),
        };
        self.batch_execute(&sql)?;
        self.depth += 1;
        Ok(())
    }

    /// Closes what [`begin`](Self::begin) opened: kept (committed or
    /// released) when `keep` and nothing in it failed, undone otherwise.
    /// Keeping what cannot be kept is an error.
    pub(crate) fn end(&mut self, keep: bool) -> Result<()> {
        let level = self.depth;
        if level == 0 {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "no transaction is open",
            ));
        }
        let failed = self.failed_at.is_some_and(|f| f >= level);
        let undo = !keep || failed;
        let sql = match (level, undo) {
            (1, false) => "COMMIT".to_string(),
            (1, true) => "ROLLBACK".to_string(),
            (d, false) => format!("RELEASE SAVEPOINT level_{}", d - 1),
            (d, true) => format!(
                "ROLLBACK TO SAVEPOINT level_{0}; RELEASE SAVEPOINT level_{0}",
                d - 1
            ),
        };
        let outcome = self.client.batch_execute(&sql);
        self.depth = level - 1;
        if failed || level == 1 {
            self.failed_at = None;
        }
        if let Err(e) = outcome {
            if self.depth > 0 {
                // The savepoint could not be closed: the transaction is lost.
                self.failed_at = Some(1);
            } else {
                // A failed COMMIT has already ended the transaction; make
                // sure nothing stays open on the connection.
                let _ = self.client.batch_execute("ROLLBACK");
            }
            return Err(storage(e));
        }
        if keep && failed {
            return Err(Error::new(
                ErrorKind::Storage,
                "a statement failed; the transaction was rolled back",
            ));
        }
        Ok(())
    }

    /// Runs `f` as one unit: a transaction of its own, or a savepoint inside
    /// the open one. Every write that moves a collection's head goes through
    /// here, so the head and its items always commit together.
    pub(crate) fn atomic<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.begin()?;
        let result = f(self);
        match self.end(result.is_ok()) {
            Ok(()) => result,
            Err(e) => result.and(Err(e)),
        }
    }
}
