//! Live push: noticing every change to the store, whoever made it, and
//! telling every connection about it.
//!
//! Changes come from two places: operations of connected devices (their
//! connection pokes the hub) and other processes writing the database (an
//! admin command delivering mail; SQLite's `data_version` tells). Either
//! way the watcher compares each collection's head with the last it saw and
//! broadcasts one [`Change`] per collection that moved, with the delta page
//! prepared once for every device that was caught up (fan-out); a device
//! that was not computes its own. Device orders (revoke, wipe) written by
//! an admin are broadcast the same way.

use crate::store::SqliteStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tidings::proto::Cursor;
use tidings::session::PreparedPage;
use tidings::store::{DeviceRecord, WipeState};
use tidings::sync::{LogHead, PageLimits};
use tokio::sync::{Notify, broadcast};

/// What a connection is told.
#[derive(Clone, Debug)]
pub enum Change {
    /// A collection changed.
    Collection {
        /// The collection.
        collection_id: u64,
        /// The page for devices that stood at the previous head, if one
        /// could be prepared.
        page: Option<Arc<PreparedPage>>,
    },
    /// An administrator revoked a device.
    Revoked {
        /// The device.
        device_id: u64,
    },
    /// An administrator ordered a device wiped.
    Wipe {
        /// The device.
        device_id: u64,
        /// The order.
        wipe_id: u64,
    },
}

/// The broadcast side of live push.
#[derive(Debug)]
pub struct Hub {
    changes: broadcast::Sender<Change>,
    poke: Notify,
}

/// Changes queued per connection before a slow one is told it lagged (and
/// then recomputes what it owes its device from the store).
const QUEUED_CHANGES: usize = 1024;

impl Hub {
    /// A hub with no subscribers.
    pub fn new() -> Self {
        Self {
            changes: broadcast::channel(QUEUED_CHANGES).0,
            poke: Notify::new(),
        }
    }

    /// Changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// Asks the watcher to look for changes now (after this process wrote).
    pub fn poke(&self) {
        self.poke.notify_one();
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

/// What the watcher saw last.
struct Seen {
    data_version: u64,
    /// The last look failed half-way: look again at the next tick.
    retry: bool,
    heads: HashMap<u64, LogHead>,
    orders: HashMap<u64, (bool, WipeState)>,
}

fn orders(devices: &[DeviceRecord]) -> HashMap<u64, (bool, WipeState)> {
    devices
        .iter()
        .map(|d| (d.id, (d.revoked, d.wipe)))
        .collect()
}

/// Watches the store until `stop` resolves; `poll` bounds how late a change
/// made by another process is noticed.
pub async fn watch(
    hub: Arc<Hub>,
    store: Arc<Mutex<SqliteStore>>,
    limits: PageLimits,
    poll: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut seen = match snapshot(&store) {
        Ok(seen) => seen,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the store; live push is off");
            return;
        }
    };
    tokio::pin!(stop);
    loop {
        let poked = tokio::select! {
            () = &mut stop => return,
            () = hub.poke.notified() => true,
            () = tokio::time::sleep(poll) => false,
        };
        if let Err(e) = look(&hub, &store, &limits, &mut seen, poked) {
            tracing::error!(error = %e, "watching the store failed");
        }
    }
}

fn snapshot(store: &Mutex<SqliteStore>) -> tidings::Result<Seen> {
    let store = lock(store);
    Ok(Seen {
        data_version: store.data_version()?,
        retry: false,
        heads: store
            .heads()?
            .into_iter()
            .map(|h| (h.collection_id, h))
            .collect(),
        orders: orders(&store.devices()?),
    })
}

/// Locks the store; a panic elsewhere while holding it leaves SQLite
/// consistent (its transaction is rolled back), so the lock is taken anyway.
pub(crate) fn lock(store: &Mutex<SqliteStore>) -> std::sync::MutexGuard<'_, SqliteStore> {
    store
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn look(
    hub: &Hub,
    store: &Mutex<SqliteStore>,
    limits: &PageLimits,
    seen: &mut Seen,
    poked: bool,
) -> tidings::Result<()> {
    let store = lock(store);
    let data_version = store.data_version()?;
    let external = data_version != seen.data_version;
    if !poked && !external && !seen.retry {
        return Ok(());
    }
    // Until this look succeeds, the next one looks again whatever happens.
    seen.retry = true;
    let heads = store.heads()?;
    let devices = if external || seen.orders.is_empty() {
        Some(store.devices()?)
    } else {
        None
    };
    for head in heads {
        let before = seen.heads.insert(head.collection_id, head);
        if before == Some(head) {
            continue;
        }
        let page = match before {
            Some(old) if old.epoch == head.epoch && old.modseq < head.modseq => {
                let from = Cursor {
                    collection_id: old.collection_id,
                    epoch: old.epoch,
                    modseq: old.modseq,
                    floor: old.floor,
                    partial: false,
                };
                // Without a prepared page every session computes its own.
                PreparedPage::new(&*store, &from, limits)
                    .inspect_err(|e| tracing::warn!(error = %e, "no prepared page"))
                    .ok()
                    .flatten()
                    .map(Arc::new)
            }
            _ => None,
        };
        // No receivers (no connections) is not an error.
        let _ = hub.changes.send(Change::Collection {
            collection_id: head.collection_id,
            page,
        });
    }
    if let Some(devices) = devices {
        let now = orders(&devices);
        for (&device_id, &(revoked, wipe)) in &now {
            let before = seen.orders.get(&device_id).copied();
            if revoked && before.is_none_or(|(was, _)| !was) {
                let _ = hub.changes.send(Change::Revoked { device_id });
            }
            let ordered = before.is_none_or(|(_, was)| was != wipe);
            if let (WipeState::Pending(wipe_id), true) = (wipe, ordered) {
                let _ = hub.changes.send(Change::Wipe { device_id, wipe_id });
            }
        }
        seen.orders = now;
    }
    seen.data_version = data_version;
    seen.retry = false;
    Ok(())
}
