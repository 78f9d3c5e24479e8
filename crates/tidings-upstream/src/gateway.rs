//! The running mirror of one account: connect (retrying with backoff), sync
//! everything, then sync what the watcher reports and serve write-backs, in
//! one task per account. The server talks to it through a [`Handle`].

use crate::account::{Account, SharedStore};
use crate::config::{Credentials, Endpoint};
use crate::push::{Changes, Signal, Watcher};
use std::sync::Arc;
use std::time::Duration;
use tidings::{Error, ErrorKind, Result};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

/// Write-backs queued per account before callers wait.
const QUEUE: usize = 64;
/// The longest wait between two reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// How often the folder list is compared with the upstream's (one `LIST`,
/// a few hundred bytes) whatever push says: Dovecot 2.3's NOTIFY was seen
/// to drop the `MailboxName` event of a rename that closely follows other
/// changes to the folder, and a renamed folder must not wait a full poll.
pub const FOLDER_LIST_EVERY: Duration = Duration::from_secs(30);

/// How one account's mirror runs.
#[derive(Clone, Debug)]
pub struct AccountOptions {
    /// The upstream IMAP server.
    pub endpoint: Endpoint,
    /// How to log in.
    pub credentials: Credentials,
    /// The Tidings principal's address.
    pub principal: String,
    /// Text preview size of new mail items.
    pub preview_bytes: usize,
    /// Full re-sync interval when no push event arrives.
    pub poll: Duration,
    /// Whether Dovecot's push-notification plugin reports new mail to the
    /// gateway ([`crate::dovecot_push`]): the account's metadata entry is
    /// set at every connection.
    pub dovecot_push: bool,
}

enum Request {
    SetFlags {
        collection: u64,
        item: u64,
        set: u32,
        clear: u32,
        reply: oneshot::Sender<Result<u32>>,
    },
    Move {
        collection: u64,
        item: u64,
        to: u64,
        reply: oneshot::Sender<Result<u64>>,
    },
    Delete {
        collection: u64,
        item: u64,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// How the server asks an account's mirror to write a device's operation
/// back upstream. Each call returns once the upstream and then the store
/// have the change, or with the error the device gets
/// ([`ErrorKind::NotFound`] when the message was deleted upstream).
#[derive(Clone, Debug)]
pub struct Handle {
    requests: mpsc::Sender<Request>,
    signal: Arc<Signal>,
}

fn stopped() -> Error {
    Error::new(
        ErrorKind::UpstreamUnavailable,
        "the upstream mirror has stopped",
    )
}

impl Handle {
    /// Sets and clears MailFlag bits on a mirrored mail; returns its new bits.
    pub async fn set_flags(&self, collection: u64, item: u64, set: u32, clear: u32) -> Result<u32> {
        let (reply, answer) = oneshot::channel();
        let request = Request::SetFlags {
            collection,
            item,
            set,
            clear,
            reply,
        };
        self.requests.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Moves a mirrored mail to folder `to`; returns its id there (0 when
    /// the next sync of `to` will bring it).
    pub async fn move_item(&self, collection: u64, item: u64, to: u64) -> Result<u64> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Move {
            collection,
            item,
            to,
            reply,
        };
        self.requests.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Deletes a mirrored mail.
    pub async fn delete_item(&self, collection: u64, item: u64) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let request = Request::Delete {
            collection,
            item,
            reply,
        };
        self.requests.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Handle {
    /// Something changed in `folder` upstream (Dovecot's push said so):
    /// the mirror syncs it next, coalesced with whatever else is pending.
    pub fn upstream_changed(&self, folder: String) {
        self.signal.note(|c| {
            c.folders.insert(folder);
        });
    }
}

/// Starts mirroring one account; it runs until `shutdown` turns true.
pub fn spawn(
    options: AccountOptions,
    store: SharedStore,
    shutdown: watch::Receiver<bool>,
) -> (Handle, tokio::task::JoinHandle<()>) {
    let (requests, inbox) = mpsc::channel(QUEUE);
    let signal = Arc::new(Signal::default());
    // Every line the account's tasks log names it.
    let span = tracing::warn_span!("upstream_imap", account = %options.principal);
    let task = tokio::spawn(run(options, store, inbox, signal.clone(), shutdown).instrument(span));
    (Handle { requests, signal }, task)
}

async fn run(
    options: AccountOptions,
    store: SharedStore,
    mut inbox: mpsc::Receiver<Request>,
    signal: Arc<Signal>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_secs(1);
    while !*shutdown.borrow() {
        let account = Account::open(
            &options.endpoint,
            &options.credentials,
            &options.principal,
            store.clone(),
            options.preview_bytes,
        )
        .await;
        // Only a session whose first sync completed starts the backoff
        // afresh: a login that succeeds before the same sync fails again
        // (a message no fetch can bring) must not retry every second.
        let mut synced = false;
        match account {
            Ok(mut account) => {
                if options.dovecot_push {
                    account.register_dovecot_push(&options.principal).await;
                }
                let served = serve(
                    account,
                    &options,
                    &mut inbox,
                    &signal,
                    &mut shutdown,
                    &mut synced,
                );
                match served.await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(code = e.code(), error = %e, "upstream mirror interrupted")
                    }
                }
            }
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "cannot open the upstream account")
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

/// Serves one connection's life; `Ok` means shut down, `Err` reconnect.
/// `synced` turns true once the first full sync is done.
async fn serve(
    mut account: Account,
    options: &AccountOptions,
    inbox: &mut mpsc::Receiver<Request>,
    signal: &Arc<Signal>,
    shutdown: &mut watch::Receiver<bool>,
    synced: &mut bool,
) -> Result<()> {
    let watcher = tokio::spawn(watch_forever(options.clone(), signal.clone()).in_current_span());
    let _stop_watcher = AbortOnDrop(watcher);
    account.sync_all().await?;
    *synced = true;
    // Intervals, not sleeps restarted by every event: a busy account still
    // gets its full re-sync and folder-list check on time.
    let mut poll =
        tokio::time::interval_at(tokio::time::Instant::now() + options.poll, options.poll);
    let every = FOLDER_LIST_EVERY.min(options.poll);
    let mut lists = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    for ticker in [&mut poll, &mut lists] {
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                account.close().await;
                return Ok(());
            }
            request = inbox.recv() => match request {
                None => {
                    account.close().await;
                    return Ok(());
                }
                Some(request) => answer(&mut account, request).await?,
            },
            changes = signal.wait() => apply(&mut account, changes).await?,
            _ = poll.tick() => account.sync_all().await?,
            _ = lists.tick() => drop(account.sync_folder_list().await?),
        }
    }
}

/// Keeps a watcher connected. The backoff grows only while connecting
/// fails: a watcher that got going and was then cut off (a Dovecot restart,
/// an administrator's kick) is back a second later however often it
/// happened before, as the mirror's own connection is.
async fn watch_forever(options: AccountOptions, signal: Arc<Signal>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match Watcher::start(&options.endpoint, &options.credentials, &signal).await {
            Ok(watcher) => {
                backoff = Duration::from_secs(1);
                if let Err(e) = watcher.run(&signal).await {
                    tracing::warn!(code = e.code(), error = %e, "upstream watcher interrupted");
                }
            }
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "cannot start the upstream watcher");
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn apply(account: &mut Account, changes: Changes) -> Result<()> {
    tracing::debug!(?changes, "syncing what the upstream reported");
    if changes.everything {
        return account.sync_all().await;
    }
    if changes.folder_list {
        account.sync_folder_list().await?;
    }
    for name in &changes.folders {
        account.sync_folder_named(name).await?;
    }
    Ok(())
}

/// Answers one write-back; only a broken connection ends the session (the
/// caller got its error and the mirror reconnects).
async fn answer(account: &mut Account, request: Request) -> Result<()> {
    fn fatal<T>(result: &Result<T>) -> bool {
        matches!(result, Err(e) if e.kind() == ErrorKind::UpstreamUnavailable)
    }
    let broken = match request {
        Request::SetFlags {
            collection,
            item,
            set,
            clear,
            reply,
        } => {
            let result = account.set_flags(collection, item, set, clear).await;
            let broken = fatal(&result);
            let _ = reply.send(result);
            broken
        }
        Request::Move {
            collection,
            item,
            to,
            reply,
        } => {
            let result = account.move_item(collection, item, to).await;
            let broken = fatal(&result);
            let _ = reply.send(result);
            broken
        }
        Request::Delete {
            collection,
            item,
            reply,
        } => {
            let result = account.delete_item(collection, item).await;
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
