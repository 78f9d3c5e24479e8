//! The outbox's sender: one task for every mirrored account, which takes
//! each due [`outbox`] row through SMTP submission, the
//! upstream's Sent folder and the answered flag, committing each step
//! before the next (see the outbox's table for what a crash leaves).
//!
//! - **Accepted** (2xx): the row is marked `Submitted`, then the mail is
//!   APPENDed to Sent (`\Seen`) unless `UID SEARCH HEADER Message-ID` finds
//!   it there already, the original of a reply or forward gets `\Answered`
//!   or `$Forwarded`, and the row is deleted. The mirror brings the Sent
//!   copy and the flag to devices as it brings any upstream change.
//! - **Refused** (5xx, or an address SMTP cannot carry): never retried; a
//!   notice (`Subject: Not sent: …`, header `X-Tidings-Error: 711`) is
//!   APPENDed to the sender's upstream INBOX, which devices get as mail.
//! - **Retry** (4xx, no connection, timeout): again after
//!   [`RETRY_FIRST`] doubling to [`RETRY_MAX`], at most [`MAX_ATTEMPTS`]
//!   times; then the sender gets a notice and the row is dropped.
//!
//! The Sent folder is the one LIST marks `\Sent` (RFC 6154), else the one
//! named `Sent`, created if missing.

use crate::account::SharedStore;
use crate::config::{Credentials, Endpoint, SmtpConfig};
use crate::notice::notice;
use crate::outbox::{self, Outbox, Row, State};
use crate::session::Upstream;
use crate::smtp::{Submitted, Submitter};
use async_imap::imap_proto::{MailboxDatum, NameAttribute, Response};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tidings::{Error, ErrorKind, Result};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The first wait before a retry; it doubles per failed attempt.
pub const RETRY_FIRST: Duration = Duration::from_secs(5);
/// The longest wait between two attempts.
pub const RETRY_MAX: Duration = Duration::from_secs(15 * 60);
/// Attempts (submission, or filing in Sent) before a row is given up.
pub const MAX_ATTEMPTS: u32 = 12;
/// How often the outbox is looked at when nothing woke the sender.
pub const LOOK_EVERY: Duration = Duration::from_secs(30);
/// Rows taken per look.
const BATCH: usize = 16;

/// What the sender needs: the upstream's endpoints and each principal's
/// credentials.
#[derive(Clone, Debug)]
pub struct SenderOptions {
    /// The IMAP server (Sent, the answered flag, notices).
    pub imap: Endpoint,
    /// The submission server.
    pub smtp: SmtpConfig,
    /// Each sending principal's credentials (IMAP, and SMTP AUTH).
    pub accounts: HashMap<u64, Credentials>,
}

struct Sender {
    imap: Endpoint,
    accounts: HashMap<u64, (Credentials, Submitter)>,
    store: SharedStore,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn backoff(attempts: u32) -> i64 {
    let wait = RETRY_FIRST
        .saturating_mul(1 << attempts.saturating_sub(1).min(16))
        .min(RETRY_MAX);
    now_ms().saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX))
}

/// Starts the sender; it stops when `shutdown` turns true. Fails at once
/// on a configuration error (a CA file that cannot be read). The outbox's
/// table must exist ([`outbox::migrate`]).
pub fn spawn(
    options: SenderOptions,
    store: SharedStore,
    outbox: Arc<Outbox>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<JoinHandle<()>> {
    let mut accounts = HashMap::with_capacity(options.accounts.len());
    for (principal, credentials) in options.accounts {
        let submitter = Submitter::new(&options.smtp, &credentials)?;
        accounts.insert(principal, (credentials, submitter));
    }
    let sender = Sender {
        imap: options.imap,
        accounts,
        store,
    };
    Ok(tokio::spawn(async move {
        loop {
            let more = sender.look().await;
            if *shutdown.borrow() {
                return;
            }
            if more {
                continue;
            }
            let wait = match sender.with_store(outbox::next_due) {
                Ok(Some(due)) => {
                    Duration::from_millis(u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0))
                        .min(LOOK_EVERY)
                }
                _ => LOOK_EVERY,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = outbox.woken() => {}
                _ = shutdown.changed() => return,
            }
        }
    }))
}

impl Sender {
    /// Runs `f` on the outbox's table, off the async threads (the store's
    /// lock may be held by a mirror's transaction).
    fn with_store<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> Result<T>) -> Result<T> {
        tokio::task::block_in_place(|| {
            let store = self
                .store
                .lock()
                .map_err(|_| Error::new(ErrorKind::Storage, "the store lock is poisoned"))?;
            f(store.companion_sql())
        })
    }

    fn set(&self, row: &Row, state: State, attempts: u32, next_try_ms: i64) -> Result<()> {
        self.with_store(|c| outbox::set_state(c, row.id, state, attempts, next_try_ms))
    }

    /// Takes the due rows; `true` if there may be more due at once.
    async fn look(&self) -> bool {
        let rows = match self.with_store(|c| outbox::due(c, now_ms(), BATCH)) {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(code = e.code(), "the outbox cannot be read");
                return false;
            }
        };
        let more = rows.len() == BATCH;
        for row in rows {
            if let Err(e) = self.handle(&row).await {
                tracing::warn!(code = e.code(), row = row.id, "an outbox step failed");
            }
        }
        more
    }

    async fn handle(&self, row: &Row) -> Result<()> {
        let Some((credentials, submitter)) = self.accounts.get(&row.principal) else {
            // The account left the configuration: its mail waits for it.
            return self.set(row, row.state, row.attempts, backoff(MAX_ATTEMPTS));
        };
        match row.state {
            State::Queued => {
                // Committed before DATA: a crash from here on never
                // submits this row again.
                self.set(row, State::Submitting, row.attempts, 0)?;
                match submitter
                    .submit(&row.sender, &row.recipients, &row.raw)
                    .await
                {
                    Submitted::Accepted => {
                        self.set(row, State::Submitted, 0, 0)?;
                        crate::crash_point("after-submit");
                        self.file(row, credentials, 0).await
                    }
                    Submitted::Refused(reply) => {
                        tracing::info!(row = row.id, "the SMTP server refused a mail");
                        self.tell(row, credentials, "Not sent", &reply).await
                    }
                    Submitted::Retry(reply) => {
                        let attempts = row.attempts + 1;
                        if attempts >= MAX_ATTEMPTS {
                            let why = format!(
                                "no SMTP server took it after {attempts} attempts; last answer: {reply}"
                            );
                            return self.tell(row, credentials, "Not sent", &why).await;
                        }
                        tracing::info!(row = row.id, attempts, "SMTP submission to be retried");
                        self.set(row, State::Queued, attempts, backoff(attempts))
                    }
                }
            }
            State::Submitting => {
                // A crash during the submission: the SMTP server may or may
                // not have the mail. Sending it again could deliver it twice.
                let why = "the gateway stopped while handing this mail to the SMTP server; \
                           it may or may not have been sent, and was not sent again";
                self.tell(row, credentials, "Perhaps not sent", why).await
            }
            State::Submitted => self.file(row, credentials, row.attempts).await,
            State::Notice => self.file_notice(row, credentials).await,
        }
    }

    /// Files a submitted mail in Sent and flags what it answers; deletes the
    /// row, or retries later (bounded: the mail is out already).
    async fn file(&self, row: &Row, credentials: &Credentials, attempts: u32) -> Result<()> {
        match self.file_upstream(row, credentials).await {
            Ok(()) => self.with_store(|c| outbox::remove(c, row.id)),
            Err(e) => {
                let attempts = attempts + 1;
                if attempts >= MAX_ATTEMPTS {
                    tracing::warn!(
                        row = row.id,
                        "a sent mail could not be filed in Sent; given up"
                    );
                    return self.with_store(|c| outbox::remove(c, row.id));
                }
                tracing::info!(
                    row = row.id,
                    code = e.code(),
                    "filing in Sent to be retried"
                );
                self.set(row, State::Submitted, attempts, backoff(attempts))
            }
        }
    }

    async fn file_upstream(&self, row: &Row, credentials: &Credentials) -> Result<()> {
        let mut upstream = crate::connect::connect(&self.imap, credentials).await?;
        let result = async {
            let sent = sent_folder(&mut upstream).await?;
            crate::imap_ops::select(&mut upstream, &sent).await?;
            if !has_message_id(&mut upstream, &row.message_id).await? {
                let copy = crate::sent_copy::with_bcc(&row.raw, &row.recipients);
                upstream.append(&sent, "(\\Seen)", &copy).await?;
            }
            if let Some(answers) = &row.answers {
                upstream.set_selected(None);
                let uidvalidity = crate::imap_ops::select(&mut upstream, &answers.folder).await?;
                // A folder recreated since: the UID names another message.
                if uidvalidity == Some(answers.uidvalidity)
                    && crate::imap_ops::flags_of(&mut upstream, answers.uid)
                        .await?
                        .is_some()
                {
                    crate::imap_ops::store_flags(&mut upstream, answers.uid, answers.flags, 0)
                        .await?;
                }
            }
            Ok(())
        }
        .await;
        upstream.logout().await;
        result
    }

    /// Files a notice row (its `raw` is the notice) in the upstream INBOX.
    async fn file_notice(&self, row: &Row, credentials: &Credentials) -> Result<()> {
        let appended = async {
            let mut upstream = crate::connect::connect(&self.imap, credentials).await?;
            let result = upstream.append("INBOX", "()", &row.raw).await;
            upstream.logout().await;
            result
        }
        .await;
        let attempts = row.attempts + 1;
        match appended {
            Ok(()) => self.with_store(|c| outbox::remove(c, row.id)),
            Err(_) if attempts < MAX_ATTEMPTS => {
                self.set(row, State::Notice, attempts, backoff(attempts))
            }
            Err(_) => {
                tracing::warn!(row = row.id, "a notice could not be filed; given up");
                self.with_store(|c| outbox::remove(c, row.id))
            }
        }
    }

    /// Tells the sender (a notice in its upstream INBOX) and drops the row;
    /// if the upstream cannot take the notice now, tries again later.
    async fn tell(
        &self,
        row: &Row,
        credentials: &Credentials,
        what: &str,
        why: &str,
    ) -> Result<()> {
        let notice = notice(
            &row.sender,
            &row.message_id,
            &row.recipients,
            &row.raw,
            what,
            why,
        );
        let appended = async {
            let mut upstream = crate::connect::connect(&self.imap, credentials).await?;
            let result = upstream.append("INBOX", "()", &notice).await;
            upstream.logout().await;
            result
        }
        .await;
        match appended {
            Ok(()) => self.with_store(|c| outbox::remove(c, row.id)),
            Err(e) if row.attempts + 1 < MAX_ATTEMPTS => {
                tracing::info!(row = row.id, code = e.code(), "a notice to be retried");
                // Kept as interrupted: it is never submitted again.
                self.set(
                    row,
                    State::Submitting,
                    row.attempts + 1,
                    backoff(row.attempts + 1),
                )
            }
            Err(_) => {
                tracing::warn!(row = row.id, "a notice could not be filed; given up");
                self.with_store(|c| outbox::remove(c, row.id))
            }
        }
    }
}

/// The folder LIST marks `\Sent`, else `Sent` (created if missing).
async fn sent_folder(upstream: &mut Upstream) -> Result<String> {
    let mut named_sent = false;
    // RETURN (SPECIAL-USE) needs LIST-EXTENDED (RFC 5258); a server
    // without it gets the plain LIST, and the name.
    let listed = match upstream
        .command("LIST \"\" \"*\" RETURN (SPECIAL-USE)")
        .await
    {
        Err(e) if e.kind() == ErrorKind::UpstreamRefused => {
            upstream.command("LIST \"\" \"*\"").await?
        }
        other => other?,
    };
    for response in listed {
        if let Response::MailboxData(MailboxDatum::List(data)) = response {
            if data.name_attributes.contains(&NameAttribute::Sent) {
                return Ok(crate::session::listed_name(&data.name));
            }
            named_sent |= data.name == "Sent";
        }
    }
    if !named_sent {
        upstream.command("CREATE \"Sent\"").await?;
    }
    Ok("Sent".to_owned())
}

/// Whether the selected folder holds a message with this Message-ID.
async fn has_message_id(upstream: &mut Upstream, message_id: &str) -> Result<bool> {
    // `message_id` holds no quote, backslash, bracket or space (see
    // `outbox::message_id`), so it quotes as is.
    let command = format!("UID SEARCH HEADER Message-ID \"<{message_id}>\"");
    for response in upstream.command(&command).await? {
        if let Response::MailboxData(MailboxDatum::Search(uids)) = response
            && !uids.is_empty()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_within_bounds() {
        let now = now_ms();
        assert!(backoff(1) - now >= 5_000 && backoff(1) - now < 6_000);
        assert!(backoff(40) - now <= 15 * 60 * 1000 + 1000);
    }
}
