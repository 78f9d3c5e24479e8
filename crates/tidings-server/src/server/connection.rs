//! One device's connection: its [`ServerSession`] driven by the socket, the
//! clock and the hub.
//!
//! Every batch of bytes from the device is handled inside one store
//! transaction that commits before any reply leaves: a device is never told
//! of an effect that a crash could still undo, and an operation and the
//! record of its id commit together, so a retry after a crash is answered
//! from the record instead of applied again.

use super::Shared;
use super::hub::{Change, lock};
use super::wire::Wire;
use crate::clock::{now_ms, random};
use crate::store::SqliteStore;
use std::sync::Arc;
use std::time::Duration;
use tidings::session::{ServerEvent, ServerSession};
use tidings::store::Directory;
use tokio::sync::broadcast::error::RecvError;

/// Where this connection stands with its device.
struct Device {
    id: u64,
    /// Collections the device follows (its principal's and those delegated
    /// to it): changes to others are none of its business.
    follows: Vec<u64>,
}

/// Serves one connection until the device leaves, the session ends or the
/// server shuts down.
pub(crate) async fn serve(shared: Arc<Shared>, mut wire: Wire, peer: String) {
    let mut changes = shared.hub.subscribe();
    let mut session = ServerSession::new(
        shared.config.clone(),
        shared.keys.clone(),
        random(),
        now_ms(),
    );
    let mut device: Option<Device> = None;
    let mut shutdown = std::pin::pin!(super::stopped(shared.shutdown.clone()));
    let mut buf = Vec::new();
    let mut events = Vec::new();
    tracing::debug!(%peer, "connected");
    loop {
        let wait = session
            .poll_timeout()
            .map_or(Duration::from_secs(3600), |at| {
                Duration::from_millis(at.saturating_sub(now_ms()))
            });
        let outcome = tokio::select! {
            read = wire.read(&mut buf) => match read {
                Ok(true) => {
                    let now = now_ms();
                    let store = &shared.store;
                    let handled = lock(store).batch(|store| {
                        let handled = session.handle_bytes(now, &buf, store);
                        // Mail to send commits with the operation that sent it.
                        deliver_outgoing(&shared, &mut session, store, &mut events);
                        handled
                    });
                    super::wire::release(&mut buf);
                    handled
                }
                Ok(false) => break,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "read failed");
                    break;
                }
            },
            change = changes.recv() => push(&shared, &mut session, device.as_ref(), change),
            () = tokio::time::sleep(wait) => session.handle_timeout(now_ms()),
            () = &mut shutdown => {
                let _ = session.close(now_ms());
                let _ = wire.write(drain(&mut session)).await;
                wire.shutdown().await;
                return;
            }
        };
        if let Err(e) = &outcome {
            tracing::info!(%peer, code = e.code(), error = %e, "session ended with an error");
        }
        events.extend(std::iter::from_fn(|| session.poll_event()));
        for event in events.drain(..) {
            handle_event(&shared, &mut session, &mut device, event);
        }
        if let Err(e) = wire.write(drain(&mut session)).await {
            tracing::debug!(%peer, error = %e, "write failed");
            break;
        }
        if session.is_closed() {
            wire.shutdown().await;
            break;
        }
    }
    tracing::debug!(%peer, "disconnected");
}

fn drain(session: &mut ServerSession) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| session.poll_transmit()).collect()
}

/// Passes a change on to the device if it follows the collection: the
/// prepared page when the device stands where it starts, its own delta
/// otherwise. After a lag, everything the device is owed is recomputed.
fn push(
    shared: &Shared,
    session: &mut ServerSession,
    device: Option<&Device>,
    change: Result<Change, RecvError>,
) -> tidings::Result<()> {
    let Some(device) = device else {
        return Ok(());
    };
    let now = now_ms();
    match change {
        Ok(Change::Collection {
            collection_id,
            page,
        }) => {
            if !device.follows.contains(&collection_id) {
                return Ok(());
            }
            if let Some(page) = page {
                if session.push_prepared(now, &*lock(&shared.store), &page)? {
                    return Ok(());
                }
            }
            session.push_changes(now, &*lock(&shared.store))
        }
        Ok(Change::Revoked { device_id }) if device_id == device.id => {
            let store = &shared.store;
            lock(store).batch(|store| session.revoke(now, store))
        }
        Ok(Change::Wipe { device_id, wipe_id }) if device_id == device.id => {
            let store = &shared.store;
            lock(store).batch(|store| session.order_wipe(now, store, wipe_id))
        }
        Ok(_) => Ok(()),
        Err(RecvError::Lagged(_)) => session.push_changes(now, &*lock(&shared.store)),
        Err(RecvError::Closed) => Ok(()),
    }
}

/// Delivers the mail the device asked to send, inside the batch's
/// transaction; every other event is kept for [`handle_event`].
fn deliver_outgoing(
    shared: &Shared,
    session: &mut ServerSession,
    store: &mut SqliteStore,
    events: &mut Vec<ServerEvent>,
) {
    while let Some(event) = session.poll_event() {
        let ServerEvent::Outgoing(outgoing) = event else {
            events.push(event);
            continue;
        };
        match crate::compose::deliver(store, &outgoing) {
            Ok(report) => {
                tracing::info!(
                    local = report.local,
                    external = report.external,
                    "mail sent"
                );
                // The watcher looks once this batch has committed (it needs
                // the store lock the batch holds).
                shared.hub.poke();
            }
            Err(e) => tracing::warn!(code = e.code(), error = %e, "outgoing mail not delivered"),
        }
    }
}

fn handle_event(
    shared: &Shared,
    session: &mut ServerSession,
    device: &mut Option<Device>,
    event: ServerEvent,
) {
    match event {
        ServerEvent::Enrolled {
            device_id,
            principal_id,
        }
        | ServerEvent::Connected {
            device_id,
            principal_id,
        } => {
            let follows = lock(&shared.store)
                .visible_collections(principal_id)
                .map(|v| v.into_iter().map(|(c, _)| c.id).collect())
                .unwrap_or_default();
            tracing::info!(device_id, principal_id, "device online");
            *device = Some(Device {
                id: device_id,
                follows,
            });
            resend_pending_wipe(shared, session, device_id);
        }
        ServerEvent::CollectionChanged { .. } => shared.hub.poke(),
        ServerEvent::WipeAcknowledged { device_id, wipe_id } => {
            tracing::info!(device_id, wipe_id, "wipe acknowledged");
        }
        ServerEvent::Closed { error: Some(e) } => {
            tracing::debug!(code = e.code(), "session closed");
        }
        _ => {}
    }
}

/// A wipe ordered while the device was away is ordered again on connect.
fn resend_pending_wipe(shared: &Shared, session: &mut ServerSession, device_id: u64) {
    use tidings::store::{DeviceRegistry, WipeState};
    let store = &shared.store;
    let mut store = lock(store);
    if let Ok(record) = store.device(device_id) {
        if let WipeState::Pending(wipe_id) = record.wipe {
            let _ = store.batch(|store| session.order_wipe(now_ms(), store, wipe_id));
        }
    }
}
