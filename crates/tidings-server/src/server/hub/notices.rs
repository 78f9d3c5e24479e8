//! The watcher on PostgreSQL: every commit, whichever process made it,
//! announces the collections it moved, the devices it revoked or ordered
//! wiped and the delegations it changed ([`tidings_store_postgres::Notice`]).
//! The watcher reads only the heads named and broadcasts as the polling
//! watcher does; nothing is polled.
//!
//! A thread of its own waits on the listening connection (the client
//! blocks). Its first notice, and its first after a lost connection, is
//! [`Notice::Reconnected`]: the watcher then compares everything, as at
//! start, since notices sent meanwhile are lost. The connection listens
//! before that comparison reads, so nothing committed after it is missed.

use super::{Change, Hub, Seen, announce, look_at, seen_in};
use crate::server::access::{Access, Backend};
use crate::stores::ServerStore;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tidings::store::WipeState;
use tidings::sync::PageLimits;
use tidings_store_postgres::{DeviceOrder, Notice};
use tokio::sync::{mpsc, oneshot};

/// Notices queued for the watcher; a full queue holds the listening thread
/// back (PostgreSQL queues the rest for it).
const QUEUED_NOTICES: usize = 4096;

/// Notices handled in one look at most: a burst is coalesced into a few
/// looks, each of which reads every collection it names once.
const NOTICES_PER_LOOK: usize = 1024;

/// How long the listening thread waits on the connection before checking
/// whether the watcher is still there.
const LISTEN_SLICE: Duration = Duration::from_millis(500);

/// How long the watcher waits to look again after a failed look.
const RETRY: Duration = Duration::from_secs(1);

pub(super) async fn watch<B: Backend>(
    hub: Arc<Hub>,
    access: Arc<Access<B>>,
    limits: PageLimits,
    ready: oneshot::Sender<()>,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut ready = Some(ready);
    let (tx, mut rx) = mpsc::channel(QUEUED_NOTICES);
    let pool = access.shared_pool();
    let listening = std::thread::Builder::new()
        .name("tidings-listen".into())
        .spawn(move || listen(&*pool, &tx));
    if let Err(e) = listening {
        tracing::error!(error = %e, "cannot start the listening thread; live push is off");
        return;
    }
    tokio::pin!(stop);
    // `None` until the first look: nothing is known yet.
    let mut seen: Option<Seen> = None;
    let mut retry = false;
    loop {
        let mut notices = Vec::new();
        tokio::select! {
            () = &mut stop => return,
            got = rx.recv_many(&mut notices, NOTICES_PER_LOOK) => {
                if got == 0 {
                    tracing::error!("the listening thread ended; live push is off");
                    return;
                }
            }
            () = tokio::time::sleep(RETRY), if retry => notices.push(Notice::Reconnected),
        }
        let hub2 = hub.clone();
        let looked = access
            .run(move |pool| {
                let result = pool.read(|store| look(&hub2, store, &limits, &mut seen, &notices));
                (result, seen)
            })
            .await;
        let Some((result, back)) = looked else {
            tracing::error!("the watcher's store job failed; live push is off");
            return;
        };
        seen = back;
        if seen.is_some() {
            // The starting point is taken: the server may accept devices.
            if let Some(ready) = ready.take() {
                let _ = ready.send(());
            }
        }
        // What a failed look was told is lost: the next one compares all.
        retry = result
            .inspect_err(|e| tracing::error!(error = %e, "watching the store failed"))
            .is_err();
        if let (true, Some(known)) = (retry, seen.as_mut()) {
            known.retry = true;
        }
    }
}

/// Acts on a batch of notices, on one snapshot of the store.
fn look(
    hub: &Hub,
    store: &impl ServerStore,
    limits: &PageLimits,
    seen: &mut Option<Seen>,
    notices: &[Notice],
) -> tidings::Result<()> {
    let Some(known) = seen.as_mut() else {
        // The first look: what is there now is the starting point.
        *seen = Some(seen_in(store, 0)?);
        return Ok(());
    };
    if known.retry || notices.contains(&Notice::Reconnected) {
        look_at(hub, store, limits, known, true)?;
        known.retry = false;
        return Ok(());
    }
    let mut collections = BTreeSet::new();
    let mut principals = BTreeSet::new();
    for notice in notices {
        match *notice {
            Notice::Collection(head) => {
                collections.insert(head.collection_id);
            }
            Notice::Device {
                device,
                order: DeviceOrder::Policy,
            } => {
                let _ = hub.changes.send(Change::Policy { device_id: device });
            }
            Notice::Device { device, order } => {
                let (revoked, wipe) = known
                    .orders
                    .get(&device)
                    .copied()
                    .unwrap_or((false, WipeState::None));
                let now = match order {
                    DeviceOrder::Revoked => (true, wipe),
                    DeviceOrder::Wipe(wipe) => (revoked, wipe),
                    DeviceOrder::Policy => (revoked, wipe),
                };
                super::order(hub, known, device, now.0, now.1);
                known.orders.insert(device, now);
            }
            Notice::Grants { principal, .. } => {
                principals.insert(principal);
            }
            Notice::Reconnected => {}
        }
    }
    // The head as it is now, not as the notice had it: a burst of notices
    // for one collection is one look and one page.
    let mut appeared = false;
    for collection in collections {
        match store.head(collection) {
            Ok(head) => {
                appeared |= !known.heads.contains_key(&collection);
                announce(hub, store, limits, known, head);
            }
            Err(e) => tracing::warn!(collection, error = %e, "no head for a notice"),
        }
    }
    // A new collection or a changed delegation changes what principals may
    // see: their devices follow the new list.
    if appeared || !principals.is_empty() {
        let heads = store.heads()?;
        let now = super::visibility_in(store, &heads)?;
        super::see_visibility(hub, known, now, principals);
    }
    Ok(())
}

/// The listening thread: connects (again and again if need be), and passes
/// every notice on until the watcher is gone.
fn listen<B: Backend>(pool: &B, tx: &mpsc::Sender<Notice>) {
    let mut listener = None;
    while !tx.is_closed() {
        let Some(connected) = listener.as_mut() else {
            match pool.listener() {
                Ok(connected) => {
                    listener = Some(connected);
                    if tx.blocking_send(Notice::Reconnected).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for changes; trying again");
                    std::thread::sleep(RETRY);
                }
            }
            continue;
        };
        match connected.next(LISTEN_SLICE) {
            Ok(Some(notice)) => {
                if tx.blocking_send(notice).is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                // The listener reconnects by itself at the next call.
                tracing::warn!(error = %e, "lost the notification connection");
                std::thread::sleep(RETRY);
            }
        }
    }
}
