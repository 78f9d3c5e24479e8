//! The running mirror of one CalDAV account: sync everything, then every
//! interval ask each calendar for its changes (the calendar list itself
//! every [`LIST_EVERY`] intervals), and serve write-backs in between, in one
//! task per account. The server talks to it through a [`CalendarHandle`].

use super::config::{CalDavAccount, Server};
use super::sync::CalAccount;
use super::writeback::{EventResult, Responded};
use crate::account::SharedStore;
use std::time::Duration;
use tidings::proto::{CalendarItem, CalendarTime, ParticipationStatus};
use tidings::{Error, ErrorKind, Result};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

/// Write-backs queued per account before callers wait.
const QUEUE: usize = 64;
/// The longest wait between two attempts after an upstream failure.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The calendar list (discovery: three PROPFINDs) is re-read every this
/// many intervals; calendars' contents every interval.
pub const LIST_EVERY: u32 = 10;

/// How one account's mirror runs.
#[derive(Clone, Debug)]
pub struct CalendarOptions {
    /// The CalDAV server.
    pub server: Server,
    /// The account.
    pub account: CalDavAccount,
    /// How often each calendar is asked for changes.
    pub interval: Duration,
}

enum Request {
    Create {
        calendar: u64,
        item: CalendarItem,
        reply: oneshot::Sender<Result<EventResult>>,
    },
    Update {
        calendar: u64,
        item: CalendarItem,
        expected_version: u64,
        reply: oneshot::Sender<Result<EventResult>>,
    },
    Delete {
        calendar: u64,
        id: u64,
        expected_version: u64,
        reply: oneshot::Sender<Result<EventResult>>,
    },
    Respond {
        calendar: u64,
        id: u64,
        status: ParticipationStatus,
        recurrence_id: Option<CalendarTime>,
        comment: String,
        reply: oneshot::Sender<Result<Responded>>,
    },
    SyncNow {
        reply: oneshot::Sender<Result<()>>,
    },
}

/// How the server asks an account's mirror to write a device's event
/// operation back upstream. Each call returns once the upstream and then
/// the store have the change, or with the answer the device gets.
#[derive(Clone, Debug)]
pub struct CalendarHandle {
    requests: mpsc::Sender<Request>,
}

fn stopped() -> Error {
    Error::new(
        ErrorKind::UpstreamUnavailable,
        "the calendar mirror has stopped",
    )
}

impl CalendarHandle {
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Request) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(make(reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// `CreateEvent`: answers `Done { item_id, version: 1 }`.
    pub async fn create_event(&self, calendar: u64, item: CalendarItem) -> Result<EventResult> {
        self.ask(|reply| Request::Create {
            calendar,
            item,
            reply,
        })
        .await
    }

    /// `UpdateEvent`: `Done { version }`, or `Conflict` with the current
    /// (upstream) version.
    pub async fn update_event(
        &self,
        calendar: u64,
        item: CalendarItem,
        expected_version: u64,
    ) -> Result<EventResult> {
        self.ask(|reply| Request::Update {
            calendar,
            item,
            expected_version,
            reply,
        })
        .await
    }

    /// `DeleteEvent`: `Done`, or `Conflict` with the current version.
    pub async fn delete_event(
        &self,
        calendar: u64,
        id: u64,
        expected_version: u64,
    ) -> Result<EventResult> {
        self.ask(|reply| Request::Delete {
            calendar,
            id,
            expected_version,
            reply,
        })
        .await
    }

    /// `RespondToInvitation` as the calendar's owner, for the whole series
    /// or the instance at `recurrence_id`: `Done { version }`, and the iTIP
    /// REPLY (with `comment`) the server must mail to an organizer who is
    /// not local (RFC 6047).
    pub async fn respond(
        &self,
        calendar: u64,
        id: u64,
        status: ParticipationStatus,
        recurrence_id: Option<CalendarTime>,
        comment: String,
    ) -> Result<Responded> {
        self.ask(|reply| Request::Respond {
            calendar,
            id,
            status,
            recurrence_id,
            comment,
            reply,
        })
        .await
    }

    /// Syncs the calendar list and every calendar now (an operator's
    /// "refresh", and the tests' way to skip waiting for the interval).
    pub async fn sync_now(&self) -> Result<()> {
        self.ask(|reply| Request::SyncNow { reply }).await
    }
}

/// Starts mirroring one account; it runs until `shutdown` turns true.
pub fn spawn(
    options: CalendarOptions,
    store: SharedStore,
    shutdown: watch::Receiver<bool>,
) -> (CalendarHandle, tokio::task::JoinHandle<()>) {
    let (requests, inbox) = mpsc::channel(QUEUE);
    // Every line the account's task logs names it.
    let span = tracing::warn_span!("upstream_caldav", account = %options.account.principal);
    let task = tokio::spawn(run(options, store, inbox, shutdown).instrument(span));
    (CalendarHandle { requests }, task)
}

async fn run(
    options: CalendarOptions,
    store: SharedStore,
    mut inbox: mpsc::Receiver<Request>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    while !*shutdown.borrow() {
        // As in the IMAP mirror: only a session whose first sync completed
        // starts the backoff afresh, so a server that fails now and then
        // is retried within a second, and one that never syncs is not
        // retried every second.
        let mut synced = false;
        match CalAccount::open(&options.server, &options.account, store.clone()) {
            Ok(account) => {
                match serve(account, &options, &mut inbox, &mut shutdown, &mut synced).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(code = e.code(), error = %e, "calendar mirror interrupted")
                    }
                }
            }
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "cannot open the calendar account")
            }
        }
        if synced {
            backoff = Duration::from_secs(1);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Serves until shutdown (`Ok`) or an upstream failure (`Err`: retry).
/// `synced` turns true once the first full sync is done.
async fn serve(
    mut account: CalAccount,
    options: &CalendarOptions,
    inbox: &mut mpsc::Receiver<Request>,
    shutdown: &mut watch::Receiver<bool>,
    synced: &mut bool,
) -> Result<()> {
    account.sync_all().await?;
    *synced = true;
    let mut ticks = 0u32;
    let mut next = tokio::time::Instant::now() + options.interval;
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            request = inbox.recv() => match request {
                None => return Ok(()),
                Some(request) => answer(&mut account, request).await?,
            },
            _ = tokio::time::sleep_until(next) => {
                next = tokio::time::Instant::now() + options.interval;
                ticks = (ticks + 1) % LIST_EVERY;
                if ticks == 0 {
                    account.sync_all().await?;
                } else {
                    account.sync_calendars().await?;
                }
            }
        }
    }
}

/// Answers one request; an unreachable upstream ends the session after the
/// caller got its error (the mirror retries with backoff).
async fn answer(account: &mut CalAccount, request: Request) -> Result<()> {
    fn fatal<T>(result: &Result<T>) -> bool {
        matches!(result, Err(e) if e.kind() == ErrorKind::UpstreamUnavailable)
    }
    let broken = match request {
        Request::Create {
            calendar,
            item,
            reply,
        } => {
            let result = account.create_event(calendar, item).await;
            let broken = fatal(&result);
            let _ = reply.send(result);
            broken
        }
        Request::Update {
            calendar,
            item,
            expected_version,
            reply,
        } => {
            let result = account.update_event(calendar, item, expected_version).await;
            let broken = fatal(&result);
            let _ = reply.send(result);
            broken
        }
        Request::Delete {
            calendar,
            id,
            expected_version,
            reply,
        } => {
            let result = account.delete_event(calendar, id, expected_version).await;
            let broken = fatal(&result);
            let _ = reply.send(result);
            broken
        }
        Request::Respond {
            calendar,
            id,
            status,
            recurrence_id,
            comment,
            reply,
        } => {
            let result = account
                .respond(calendar, id, status, recurrence_id.as_ref(), &comment)
                .await;
            let broken = fatal(&result);
            let _ = reply.send(result);
            broken
        }
        Request::SyncNow { reply } => {
            let result = account.sync_all().await;
            let broken = fatal(&result);
            let _ = reply.send(result);
            broken
        }
    };
    if broken {
        return Err(stopped());
    }
    Ok(())
}
