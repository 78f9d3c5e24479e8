//! Live push: noticing every change to the store, whoever made it, and
//! telling every connection about it.
//!
//! On SQLite, changes come from two places: operations of connected devices
//! (their connection pokes the hub) and other processes writing the
//! database (an admin command delivering mail; SQLite's `data_version`
//! tells). Either way the watcher compares each collection's head with the
//! last it saw and broadcasts one [`Change`] per collection that moved, with
//! the delta page prepared once for every device that was caught up
//! (fan-out); a device that was not computes its own. Device orders (revoke,
//! wipe) written by an admin are broadcast the same way.
//!
//! On PostgreSQL every commit, by any process, announces what it changed
//! (`LISTEN`/`NOTIFY`, the `notices` module): the watcher looks only at the
//! collections named, and polls nothing.

mod notices;

use super::access::{Access, Backend};
use super::visibility::Visibility;
use crate::stores::ServerStore;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tidings::proto::Cursor;
use tidings::session::PreparedPage;
use tidings::store::{DeviceRecord, WipeState};
use tidings::sync::{LogHead, PageLimits, Rights};
use tokio::sync::{Notify, broadcast, oneshot};

/// What a connection is told.
#[derive(Clone, Debug)]
pub enum Change {
    /// A collection changed.
    Collection {
        /// The collection.
        collection_id: u64,
        /// The page for devices that stood at the previous head, if one
        /// could be prepared.
        page: Option<Arc<Fanout>>,
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
    /// An administrator changed a device's policy: it is sent again.
    Policy {
        /// The device.
        device_id: u64,
    },
    /// What these principals may see changed (a collection created,
    /// renamed, deleted or recreated; a delegation changed): their devices
    /// recompute what they follow and get the new collection list.
    Grants {
        /// The principals whose visible collections may have changed.
        principals: Arc<BTreeSet<u64>>,
    },
}

/// One change, read once for every device: the page for devices that stood
/// at the previous head, and who may read the collection, both read in the
/// same snapshot. A connection whose device stands there and may read it
/// seals the page and sends it without asking the store anything.
#[derive(Debug)]
pub struct Fanout {
    /// The page.
    pub page: PreparedPage,
    /// (principal, rights bits) of the owner and every delegate, by principal.
    readers: Vec<(u64, u32)>,
}

impl Fanout {
    /// What `principal` could do in the collection when the page was read.
    pub fn rights(&self, principal: u64) -> Rights {
        self.readers
            .binary_search_by_key(&principal, |r| r.0)
            .ok()
            .and_then(|at| Rights::from_bits(self.readers[at].1).ok())
            .unwrap_or(Rights::NONE)
    }
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

    /// Tells every session of `device_id` in this process that it was
    /// revoked here, by one of its own sessions (a wipe acknowledged): the
    /// watcher reads device orders only after another process wrote.
    pub fn revoked(&self, device_id: u64) {
        let _ = self.changes.send(Change::Revoked { device_id });
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
    /// Each device's policy version (0: none set).
    policies: HashMap<u64, u64>,
    /// Collections and delegations, for noticing what principals may see.
    visibility: Visibility,
}

fn orders(devices: &[DeviceRecord]) -> HashMap<u64, (bool, WipeState)> {
    devices
        .iter()
        .map(|d| (d.id, (d.revoked, d.wipe)))
        .collect()
}

/// Watches the store until `stop` resolves: by its notices when it has
/// them, else by polling, where `poll` bounds how late a change made by
/// another process is noticed. Every look runs on a store worker. `ready`
/// is told once the starting point is read: the server accepts devices
/// only then, so no change made after a device connected can be taken for
/// part of that starting point and never announced.
pub(crate) async fn watch<B: Backend>(
    hub: Arc<Hub>,
    access: Arc<Access<B>>,
    limits: PageLimits,
    poll: Duration,
    ready: oneshot::Sender<()>,
    stop: impl std::future::Future<Output = ()>,
) {
    if access.pool().listens() {
        notices::watch(hub, access, limits, ready, stop).await;
    } else {
        watch_polling(hub, access, limits, poll, ready, stop).await;
    }
}

/// Watches by polling [`Backend::change_token`] (and by the pokes of this
/// process's connections).
async fn watch_polling<B: Backend>(
    hub: Arc<Hub>,
    access: Arc<Access<B>>,
    limits: PageLimits,
    poll: Duration,
    ready: oneshot::Sender<()>,
    stop: impl std::future::Future<Output = ()>,
) {
    let first = access.run(|pool| snapshot(pool)).await;
    let Some(Ok(mut seen)) = first else {
        tracing::error!("cannot read the store; live push is off");
        return;
    };
    let _ = ready.send(());
    tokio::pin!(stop);
    loop {
        let poked = tokio::select! {
            () = &mut stop => return,
            () = hub.poke.notified() => true,
            () = tokio::time::sleep(poll) => false,
        };
        let (hub2, limits2) = (hub.clone(), limits);
        let looked = access
            .run(move |pool| {
                let result = look(&hub2, pool, &limits2, &mut seen, poked);
                (result, seen)
            })
            .await;
        let Some((result, back)) = looked else {
            tracing::error!("the watcher's store job failed; live push is off");
            return;
        };
        seen = back;
        if let Err(e) = result {
            tracing::error!(error = %e, "watching the store failed");
        }
    }
}

fn snapshot<B: Backend>(pool: &B) -> tidings::Result<Seen> {
    let data_version = loop {
        // Nobody writes yet at start: the writer is free but for a moment.
        if let Some(version) = pool.change_token()? {
            break version;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    pool.read(|store| seen_in(store, data_version))
}

/// Everything the watcher compares, as `store` holds it now.
fn seen_in(store: &impl ServerStore, data_version: u64) -> tidings::Result<Seen> {
    let heads = store.heads()?;
    Ok(Seen {
        data_version,
        retry: false,
        visibility: visibility_in(store, &heads)?,
        heads: heads.into_iter().map(|h| (h.collection_id, h)).collect(),
        orders: orders(&store.devices()?),
        policies: store.policy_versions()?.into_iter().collect(),
    })
}

/// What decides every principal's visible collections, as `store` holds it.
fn visibility_in(store: &impl ServerStore, heads: &[LogHead]) -> tidings::Result<Visibility> {
    Ok(Visibility::new(
        store.collections()?,
        heads,
        store.grants()?,
    ))
}

fn look<B: Backend>(
    hub: &Hub,
    pool: &B,
    limits: &PageLimits,
    seen: &mut Seen,
    poked: bool,
) -> tidings::Result<()> {
    // A writer busy right now will poke when it commits; another process's
    // commit is then seen at the next tick.
    let data_version = pool.change_token()?.unwrap_or(seen.data_version);
    let external = data_version != seen.data_version;
    if !poked && !external && !seen.retry {
        return Ok(());
    }
    // Until this look succeeds, the next one looks again whatever happens.
    seen.retry = true;
    pool.read(|store| look_at(hub, store, limits, seen, external))?;
    seen.data_version = data_version;
    seen.retry = false;
    Ok(())
}

fn look_at(
    hub: &Hub,
    store: &impl ServerStore,
    limits: &PageLimits,
    seen: &mut Seen,
    external: bool,
) -> tidings::Result<()> {
    let heads = store.heads()?;
    // Announced first: devices wait on these, not on the orders below.
    for &head in &heads {
        announce(hub, store, limits, seen, head);
    }
    let devices = if external || seen.orders.is_empty() {
        Some((store.devices()?, store.policy_versions()?))
    } else {
        None
    };
    // Another process's commit, or collections that came, went or were
    // recreated here: read what decides visibility again.
    let visibility = if external || seen.visibility.heads_moved(&heads) {
        Some(visibility_in(store, &heads)?)
    } else {
        None
    };
    if let Some((devices, policies)) = devices {
        let now = orders(&devices);
        for (&device_id, &(revoked, wipe)) in &now {
            order(hub, seen, device_id, revoked, wipe);
        }
        seen.orders = now;
        for &(device_id, version) in &policies {
            if version > 0 && seen.policies.get(&device_id) != Some(&version) {
                let _ = hub.changes.send(Change::Policy { device_id });
            }
        }
        seen.policies = policies.into_iter().collect();
    }
    if let Some(visibility) = visibility {
        see_visibility(hub, seen, visibility, BTreeSet::new());
    }
    Ok(())
}

/// Tells the devices of every principal whose visible collections may have
/// changed (and of `also`) to follow their new list.
fn see_visibility(hub: &Hub, seen: &mut Seen, now: Visibility, also: BTreeSet<u64>) {
    let mut principals = seen.visibility.affected(&now);
    principals.extend(also);
    if !principals.is_empty() {
        let _ = hub.changes.send(Change::Grants {
            principals: Arc::new(principals),
        });
    }
    seen.visibility = now;
}

/// Broadcasts `head` if it moved since the watcher last saw it, with the
/// page for devices that stood at the old head when one can be prepared.
fn announce(
    hub: &Hub,
    store: &impl ServerStore,
    limits: &PageLimits,
    seen: &mut Seen,
    head: LogHead,
) {
    let before = seen.heads.insert(head.collection_id, head);
    if before == Some(head) {
        return;
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
            let prepared = PreparedPage::new(store, &from, limits).and_then(|page| {
                page.map(|page| {
                    let readers = store.collection_readers(head.collection_id)?;
                    Ok(Arc::new(Fanout { page, readers }))
                })
                .transpose()
            });
            prepared
                .inspect_err(|e| tracing::warn!(error = %e, "no prepared page"))
                .ok()
                .flatten()
        }
        _ => None,
    };
    // No receivers (no connections) is not an error.
    let _ = hub.changes.send(Change::Collection {
        collection_id: head.collection_id,
        page,
    });
}

/// Broadcasts a device's revocation or pending wipe if it is news.
fn order(hub: &Hub, seen: &Seen, device_id: u64, revoked: bool, wipe: WipeState) {
    let before = seen.orders.get(&device_id).copied();
    if revoked && before.is_none_or(|(was, _)| !was) {
        let _ = hub.changes.send(Change::Revoked { device_id });
    }
    let ordered = before.is_none_or(|(_, was)| was != wipe);
    if let (WipeState::Pending(wipe_id), true) = (wipe, ordered) {
        let _ = hub.changes.send(Change::Wipe { device_id, wipe_id });
    }
}
