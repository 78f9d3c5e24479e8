//! The device writer of one account: its own IMAP connection, which carries
//! device operations upstream and never touches the store.
//!
//! A device's operation runs inside the server's store transaction (see
//! [`device_writes`](crate::device_writes)), which holds the store's write
//! lock until the upstream has answered. The mirror's connection cannot
//! carry it: the mirror may itself be waiting for that lock to commit a
//! sync. This connection only talks IMAP, so the wait always ends.

use crate::config::{Credentials, Endpoint};
use crate::imap_ops;
use crate::session::Upstream;
use std::time::Duration;
use tidings::{Error, ErrorKind, Result};
use tokio::sync::{mpsc, oneshot};

/// Operations queued per account before callers wait.
const QUEUE: usize = 64;

/// The longest a device operation waits for the upstream (connect, select,
/// the command), after which it fails with `UpstreamUnavailable` and the
/// device may try again. The operation's store transaction holds the
/// store's write lock meanwhile, so this stays well below the 10 s the
/// store's other writers (the mirrors) wait for that lock: one slow
/// upstream must not fail everyone else's transactions. At 1,000
/// principals a login that Dovecot answered only after 100 s held the lock
/// that long with the earlier 90 s, and the mirrors failed one after
/// another (docs/performance.md, Gateway).
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a mirrored message is upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// Its folder's name.
    pub folder: String,
    /// The folder's UIDVALIDITY the UID belongs to.
    pub uidvalidity: u32,
    /// Its UID.
    pub uid: u32,
}

/// One device operation, upstream only.
#[derive(Debug)]
enum Order {
    Flags {
        at: Located,
        set: u32,
        clear: u32,
        /// The message's flags upstream afterwards; `None`: it is gone.
        reply: oneshot::Sender<Result<Option<u32>>>,
    },
    Move {
        at: Located,
        to: String,
        /// `None`: it is gone; `Some(uid)`: its UID in `to`, if told.
        reply: oneshot::Sender<Result<Option<Option<u32>>>>,
    },
    Delete {
        at: Located,
        /// `false`: it was gone already.
        reply: oneshot::Sender<Result<bool>>,
    },
}

impl Order {
    /// Whether nobody waits for the answer any more.
    fn abandoned(&self) -> bool {
        match self {
            Order::Flags { reply, .. } => reply.is_closed(),
            Order::Move { reply, .. } => reply.is_closed(),
            Order::Delete { reply, .. } => reply.is_closed(),
        }
    }
}

/// How device operations reach one account's writer.
#[derive(Clone, Debug)]
pub struct Writer {
    orders: mpsc::Sender<Order>,
}

fn stopped() -> Error {
    Error::new(
        ErrorKind::UpstreamUnavailable,
        "the upstream writer has stopped",
    )
}

impl Writer {
    /// Starts the writer of the account `credentials` log in to; it stops
    /// when the last `Writer` is dropped.
    pub fn spawn(endpoint: Endpoint, credentials: Credentials) -> Writer {
        let (orders, inbox) = mpsc::channel(QUEUE);
        tokio::spawn(run(endpoint, credentials, inbox));
        Writer { orders }
    }

    async fn ask<T>(&self, order: impl FnOnce(oneshot::Sender<Result<T>>) -> Order) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let asked = async {
            self.orders
                .send(order(reply))
                .await
                .map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        };
        tokio::time::timeout(WRITE_TIMEOUT, asked)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::UpstreamUnavailable,
                    "the upstream did not answer in time",
                )
            })?
    }

    /// Sets and clears MailFlag bits; the message's bits afterwards, or
    /// `None` if it no longer exists upstream.
    pub async fn set_flags(&self, at: Located, set: u32, clear: u32) -> Result<Option<u32>> {
        self.ask(|reply| Order::Flags {
            at,
            set,
            clear,
            reply,
        })
        .await
    }

    /// Moves to folder `to`: `None` if the message no longer exists, else
    /// its UID in `to` when the server said (`COPYUID`).
    pub async fn move_to(&self, at: Located, to: String) -> Result<Option<Option<u32>>> {
        self.ask(|reply| Order::Move { at, to, reply }).await
    }

    /// Deletes; `false` if the message was gone already.
    pub async fn delete(&self, at: Located) -> Result<bool> {
        self.ask(|reply| Order::Delete { at, reply }).await
    }
}

async fn run(endpoint: Endpoint, credentials: Credentials, mut inbox: mpsc::Receiver<Order>) {
    let mut connection: Option<Upstream> = None;
    while let Some(order) = inbox.recv().await {
        if order.abandoned() {
            // Its caller gave up waiting (and its store transaction failed):
            // writing it now would change the upstream behind the device.
            continue;
        }
        match order {
            Order::Flags {
                at,
                set,
                clear,
                reply,
            } => {
                let result = with_message(
                    &endpoint,
                    &credentials,
                    &mut connection,
                    at,
                    Action::Flags { set, clear },
                )
                .await
                .map(|done| match done {
                    Some(Done::Flags(bits)) => bits,
                    _ => None,
                });
                let _ = reply.send(result);
            }
            Order::Move { at, to, reply } => {
                let result = with_message(
                    &endpoint,
                    &credentials,
                    &mut connection,
                    at,
                    Action::Move { to },
                )
                .await
                .map(|done| match done {
                    Some(Done::Moved(uid)) => Some(uid),
                    _ => None,
                });
                let _ = reply.send(result);
            }
            Order::Delete { at, reply } => {
                let result =
                    with_message(&endpoint, &credentials, &mut connection, at, Action::Delete)
                        .await
                        .map(|done| done.is_some());
                let _ = reply.send(result);
            }
        }
    }
    if let Some(upstream) = connection {
        upstream.logout().await;
    }
}

/// What to do to a message that still exists.
enum Action {
    Flags { set: u32, clear: u32 },
    Move { to: String },
    Delete,
}

/// What it did.
enum Done {
    /// The message's flags afterwards (`None`: it vanished meanwhile).
    Flags(Option<u32>),
    /// Its UID in the target, if the server said.
    Moved(Option<u32>),
    Deleted,
}

async fn act(upstream: &mut Upstream, uid: u32, action: Action) -> Result<Done> {
    match action {
        Action::Flags { set, clear } => {
            imap_ops::store_flags(upstream, uid, set, clear).await?;
            imap_ops::flags_of(upstream, uid).await.map(Done::Flags)
        }
        Action::Move { to } => imap_ops::uid_move(upstream, uid, &to)
            .await
            .map(Done::Moved),
        Action::Delete => imap_ops::expunge(upstream, uid)
            .await
            .map(|()| Done::Deleted),
    }
}

/// Does `action` to the message at `at` if it still exists upstream
/// (`None` if not): selects its folder afresh (so UIDVALIDITY is checked
/// and expunges by other clients are seen), checks the UID is there. A
/// broken connection is dropped (the next order reconnects); a cached one
/// that broke while idle is replaced before anything is written.
async fn with_message(
    endpoint: &Endpoint,
    credentials: &Credentials,
    connection: &mut Option<Upstream>,
    at: Located,
    action: Action,
) -> Result<Option<Done>> {
    let mut upstream = match connection.take() {
        Some(mut cached) => match cached.command("NOOP").await {
            Ok(_) => cached,
            Err(_) => crate::connect::connect(endpoint, credentials).await?,
        },
        None => crate::connect::connect(endpoint, credentials).await?,
    };
    let result = async {
        upstream.set_selected(None);
        let uidvalidity = imap_ops::select(&mut upstream, &at.folder).await?;
        if uidvalidity != Some(at.uidvalidity) {
            // The folder was recreated: the UID names nothing any more.
            return Ok(None);
        }
        if imap_ops::flags_of(&mut upstream, at.uid).await?.is_none() {
            return Ok(None);
        }
        act(&mut upstream, at.uid, action).await.map(Some)
    }
    .await;
    match &result {
        Err(e) if e.kind() == ErrorKind::UpstreamUnavailable => {}
        _ => *connection = Some(upstream),
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Located {
        Located {
            folder: "INBOX".into(),
            uidvalidity: 1,
            uid: 7,
        }
    }

    #[test]
    fn an_order_nobody_waits_for_is_abandoned() {
        let (reply, waiting) = oneshot::channel();
        let order = Order::Delete { at: at(), reply };
        assert!(!order.abandoned(), "its caller still waits");
        drop(waiting);
        assert!(order.abandoned(), "its caller timed out and left");
        let (reply, waiting) = oneshot::channel();
        let order = Order::Flags {
            at: at(),
            set: 1,
            clear: 0,
            reply,
        };
        drop(waiting);
        assert!(order.abandoned());
    }
}
