//! The outbox: mail a mirrored principal sends, kept durably until the
//! upstream has it. A row is written in the same store transaction as the
//! device operation that sent the mail (so the device's `Done` and the row
//! commit together); the [`sender`](crate::sender) task submits it over
//! SMTP, files it in the upstream's Sent folder, and deletes it.
//!
//! A row moves through three states, each committed before the next step:
//!
//! | state | meaning | after a crash |
//! |---|---|---|
//! | `Queued` | not handed to SMTP yet | submitted |
//! | `Submitting` | SMTP `DATA` may be under way | **not** submitted again: the sender gets a notice |
//! | `Submitted` | the SMTP server accepted it | only filed in Sent (unless Sent has its Message-ID) |
//! | `Notice` | a notice for the sender's INBOX, not mail to send | filed in INBOX |
//!
//! Other code (the CalDAV gateway's iTIP REPLY) queues mail with
//! [`Outbox::enqueue`], inside its own store transaction.

use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use tidings::{Error, ErrorKind, Result};
use tokio::sync::Notify;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS upstream_outbox (
    id INTEGER PRIMARY KEY,
    principal INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipients TEXT NOT NULL,
    raw BLOB NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try_ms INTEGER NOT NULL DEFAULT 0,
    answers_folder TEXT,
    answers_uidvalidity INTEGER,
    answers_uid INTEGER,
    answers_flags INTEGER
);
CREATE INDEX IF NOT EXISTS upstream_outbox_by_principal ON upstream_outbox (principal);
";

/// Most bytes of one queued message (the core's own limits keep a device's
/// mail far below it).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

fn db(e: rusqlite::Error) -> Error {
    tracing::error!(error = %e, "outbox database error");
    Error::new(ErrorKind::Storage, "database error")
}

fn to_sql(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

fn from_sql(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// Creates the outbox table if it is missing.
pub fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA).map_err(db)
}

/// Where a row's state stands (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not handed to SMTP yet.
    Queued = 0,
    /// SMTP may have it: never submitted again.
    Submitting = 1,
    /// The SMTP server accepted it: only Sent is left.
    Submitted = 2,
    /// Not mail to send but a notice for the sender's INBOX (`raw`).
    Notice = 3,
}

impl State {
    fn from_sql(v: i64) -> State {
        match v {
            1 => State::Submitting,
            2 => State::Submitted,
            3 => State::Notice,
            _ => State::Queued,
        }
    }
}

/// The upstream message a reply or forward answers: flagged `\Answered`
/// (or `$Forwarded`) once the mail is submitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answers {
    /// Its folder upstream.
    pub folder: String,
    /// That folder's UIDVALIDITY the UID belongs to.
    pub uidvalidity: u32,
    /// Its UID.
    pub uid: u32,
    /// The MailFlag bits to set.
    pub flags: u32,
}

/// One queued mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The row's id.
    pub id: i64,
    /// The sending principal.
    pub principal: u64,
    /// The message's Message-ID, without the angle brackets.
    pub message_id: String,
    /// The envelope sender.
    pub sender: String,
    /// The envelope recipients.
    pub recipients: Vec<String>,
    /// The composed RFC 5322 message.
    pub raw: Vec<u8>,
    /// Where it stands.
    pub state: State,
    /// Failed attempts so far.
    pub attempts: u32,
    /// What it answers, if anything.
    pub answers: Option<Answers>,
}

/// The gateway's outbox: which principals send through it, its limit, and
/// the bell that wakes the sender after a commit.
#[derive(Debug)]
pub struct Outbox {
    principals: HashSet<u64>,
    limit: usize,
    bell: Notify,
    /// Set by every enqueue: a commit since then may have made mail due.
    queued: AtomicBool,
}

impl Outbox {
    /// An outbox for `principals`, each holding at most `limit` mails.
    pub fn new(principals: HashSet<u64>, limit: usize) -> Outbox {
        Outbox {
            principals,
            limit,
            bell: Notify::new(),
            queued: AtomicBool::new(false),
        }
    }

    /// Whether `principal`'s mail goes out through this outbox.
    pub fn sends_for(&self, principal: u64) -> bool {
        self.principals.contains(&principal)
    }

    /// Refuses with [`ErrorKind::LimitExceeded`] when `principal`'s outbox
    /// is full: checked before the mail is composed.
    pub fn check_room(&self, conn: &Connection, principal: u64) -> Result<()> {
        let waiting: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM upstream_outbox WHERE principal = ?1 AND state < 3",
                [to_sql(principal)],
                |r| r.get(0),
            )
            .map_err(db)?;
        if usize::try_from(waiting).unwrap_or(usize::MAX) >= self.limit {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                "too many mails waiting to be sent",
            ));
        }
        Ok(())
    }

    /// Queues `raw` from `principal` (envelope `from` → `to`) in the open
    /// transaction of `conn`: it is sent once that transaction commits and
    /// [`wake`](Self::wake) is called (or at the sender's next look). `raw`
    /// must carry a `Message-ID` header: it is how a restart knows whether
    /// the upstream's Sent folder has the mail already.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::PermissionDenied`] for a principal this outbox does not
    /// send for; [`ErrorKind::LimitExceeded`] when its outbox is full or
    /// the message is over [`MAX_MESSAGE_BYTES`]; [`ErrorKind::InvalidArgument`]
    /// without a Message-ID or recipients.
    pub fn enqueue(
        &self,
        conn: &Connection,
        principal: u64,
        from: &str,
        to: &[String],
        raw: &[u8],
        answers: Option<&Answers>,
    ) -> Result<i64> {
        if !self.sends_for(principal) {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "this principal does not send upstream",
            ));
        }
        if raw.len() > MAX_MESSAGE_BYTES {
            return Err(Error::new(ErrorKind::LimitExceeded, "message too large"));
        }
        if to.is_empty() {
            return Err(Error::new(ErrorKind::InvalidArgument, "no recipients"));
        }
        self.check_room(conn, principal)?;
        let message_id = message_id(raw)
            .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "the mail has no Message-ID"))?;
        conn.execute(
            "INSERT INTO upstream_outbox (principal, message_id, sender, recipients, raw,
                answers_folder, answers_uidvalidity, answers_uid, answers_flags)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                to_sql(principal),
                message_id,
                from,
                to.join("\n"),
                raw,
                answers.map(|a| a.folder.clone()),
                answers.map(|a| a.uidvalidity),
                answers.map(|a| a.uid),
                answers.map(|a| a.flags),
            ],
        )
        .map_err(db)?;
        self.queued.store(true, Ordering::Release);
        Ok(conn.last_insert_rowid())
    }

    /// Queues a notice for `principal`'s upstream INBOX instead of mail
    /// that could not be queued (its outbox was full). Notices have a limit
    /// of their own, the outbox's: beyond it nothing is queued and `false`
    /// is returned (the caller logs it).
    pub fn enqueue_notice(&self, conn: &Connection, principal: u64, notice: &[u8]) -> Result<bool> {
        let waiting: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM upstream_outbox WHERE principal = ?1 AND state = 3",
                [to_sql(principal)],
                |r| r.get(0),
            )
            .map_err(db)?;
        if usize::try_from(waiting).unwrap_or(usize::MAX) >= self.limit {
            return Ok(false);
        }
        conn.execute(
            "INSERT INTO upstream_outbox (principal, message_id, sender, recipients, raw, state)
             VALUES (?1, '', '', '', ?2, 3)",
            params![to_sql(principal), notice],
        )
        .map_err(db)?;
        self.queued.store(true, Ordering::Release);
        Ok(true)
    }

    /// Wakes the sender: call after the transaction that queued mail commits.
    pub fn wake(&self) {
        self.bell.notify_one();
    }

    /// Wakes the sender if anything was queued since the last call: for
    /// callers that commit transactions which may or may not have queued
    /// mail (a device's batch: a calendar answer queues an iTIP REPLY).
    /// The store's transactions are serial, so a row queued before this
    /// commit is committed when the flag is seen.
    pub fn wake_if_queued(&self) {
        if self.queued.swap(false, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Waits for [`wake`](Self::wake).
    pub(crate) async fn woken(&self) {
        self.bell.notified().await;
    }
}

/// The `Message-ID` of `raw` (without angle brackets), from its header
/// section; `None` when it has none that fits a search.
pub fn message_id(raw: &[u8]) -> Option<String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
        .unwrap_or(raw.len());
    let headers = String::from_utf8_lossy(&raw[..end]);
    let mut lines = headers.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("message-id") {
            continue;
        }
        let mut value = value.trim().to_owned();
        while let Some(next) = lines.peek().filter(|l| l.starts_with([' ', '\t'])) {
            value.push_str(next.trim());
            lines.next();
        }
        let id = value.trim().trim_start_matches('<').trim_end_matches('>');
        let fits = !id.is_empty()
            && id.len() <= 998
            && id
                .bytes()
                .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\'));
        return fits.then(|| id.to_owned());
    }
    None
}

/// Rows due at `now_ms`, oldest first, at most `max`.
pub(crate) fn due(conn: &Connection, now_ms: i64, max: usize) -> Result<Vec<Row>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, principal, message_id, sender, recipients, raw, state, attempts,
                answers_folder, answers_uidvalidity, answers_uid, answers_flags
             FROM upstream_outbox WHERE next_try_ms <= ?1 ORDER BY id LIMIT ?2",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map(params![now_ms, max as i64], |r| {
            let recipients: String = r.get(4)?;
            let folder: Option<String> = r.get(8)?;
            Ok(Row {
                id: r.get(0)?,
                principal: from_sql(r.get(1)?),
                message_id: r.get(2)?,
                sender: r.get(3)?,
                recipients: recipients.split('\n').map(str::to_owned).collect(),
                raw: r.get(5)?,
                state: State::from_sql(r.get(6)?),
                attempts: r.get(7)?,
                answers: match folder {
                    Some(folder) => Some(Answers {
                        folder,
                        uidvalidity: r.get(9)?,
                        uid: r.get(10)?,
                        flags: r.get(11)?,
                    }),
                    None => None,
                },
            })
        })
        .map_err(db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db)
}

/// When the next row is due (ms), if any row waits.
pub(crate) fn next_due(conn: &Connection) -> Result<Option<i64>> {
    conn.query_row("SELECT MIN(next_try_ms) FROM upstream_outbox", [], |r| {
        r.get(0)
    })
    .optional()
    .map(Option::flatten)
    .map_err(db)
}

/// Records a row's new state (committed at once: the caller is outside
/// any transaction).
pub(crate) fn set_state(
    conn: &Connection,
    id: i64,
    state: State,
    attempts: u32,
    next_try_ms: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE upstream_outbox SET state = ?2, attempts = ?3, next_try_ms = ?4 WHERE id = ?1",
        params![id, state as i64, attempts, next_try_ms],
    )
    .map(drop)
    .map_err(db)
}

/// Removes a row: the upstream has the mail (or its sender was told).
pub(crate) fn remove(conn: &Connection, id: i64) -> Result<()> {
    conn.execute("DELETE FROM upstream_outbox WHERE id = ?1", [id])
        .map(drop)
        .map_err(db)
}

#[cfg(test)]
mod tests;
