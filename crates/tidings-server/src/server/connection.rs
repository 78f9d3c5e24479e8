//! One device's connection: its [`ServerSession`] driven by the socket, the
//! clock and the hub.
//!
//! Every batch of bytes from the device is handled in one store [`Batch`]
//! that commits before any reply leaves: a device is never told of an
//! effect that a crash could still undo, and an operation and the record of
//! its id commit together. The batch runs off the async threads (see
//! [`access`](super::access)) and takes the write lock only if it writes.
//!
//! Before authentication a connection has a deadline, and its bytes are cut
//! into whole handshake frames of bounded size ([`HandshakeFrames`]); an
//! enrollment attempt must pass the [`Gate`](super::gate::Gate)'s rates.
//! After it, each device has a budget of store time per second: a device
//! that spends more is not read from until it is out of debt, so the one
//! busy device slows down and nobody else does.

use super::Shared;
use super::access::Backend;
use super::gate::{Admission, Bucket};
use super::handshake::{HandshakeFrames, Opening};
use super::hub::Change;
use super::presence::{Ended, Presence};
use super::wire::Wire;
use crate::clock::{now_ms, random};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tidings::session::{MailTransport, ServerEvent, ServerSession};
use tidings::store::{DeviceRegistry, Directory, Store, WipeState};
use tidings_upstream::outbox::Outbox;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::broadcast::{self, error::RecvError};

mod sender;
mod step;

use sender::Sender;

/// Where this connection stands with its device.
struct Device {
    id: u64,
    principal: u64,
    /// Collections the device follows (its principal's and those delegated
    /// to it): changes to others are none of its business. A boxed slice:
    /// held by every idle connection.
    follows: Box<[u64]>,
}

/// What a connection keeps from one wake-up to the next.
struct Held {
    session: Box<ServerSession>,
    /// Boxed: the waiting state of every idle connection would hold it.
    handshake: Option<Box<HandshakeFrames>>,
    /// Subscribed at the first whole handshake frame: a stranger that never
    /// sends one holds no place in the hub.
    changes: Option<broadcast::Receiver<Change>>,
    device: Option<Device>,
    budget: Budget,
    /// What was read; taken once handled, so an idle connection holds none.
    buf: Vec<u8>,
}

/// What woke the connection up.
enum Step {
    Read(std::io::Result<bool>),
    Throttled,
    HandshakeExpired,
    Change(Result<Change, RecvError>),
    Timer,
    Shutdown,
    /// A newer session of the device took this one's place.
    Displaced,
    /// Bytes handled without a store job.
    Handled(tidings::Result<()>),
}

/// The store time a connection spends: its own until its device is
/// authenticated, the device's (shared by all its sessions) from then on.
enum Budget {
    /// Boxed: held by every idle connection, which has a `Device` budget.
    Own(Box<Bucket>),
    Device(Presence),
}

impl Budget {
    fn spend(&mut self, ms: f64, now: Instant) {
        match self {
            Budget::Own(bucket) => bucket.spend(ms, now),
            Budget::Device(presence) => presence.spend(ms, now),
        }
    }

    fn debt_wait(&mut self, now: Instant) -> Duration {
        match self {
            Budget::Own(bucket) => bucket.debt_wait(now),
            Budget::Device(presence) => presence.debt_wait(now),
        }
    }
}

/// Resolves when the connection must end: the server stops, or (once its
/// device is known) a newer session of the device displaces it. One wait
/// either way, so an idle connection holds one waiter, not two.
fn ended<'a, B>(shared: &'a Shared<B>, budget: &'a Budget) -> impl Future<Output = Step> + 'a {
    let presence = match budget {
        Budget::Own(_) => None,
        Budget::Device(presence) => Some(presence),
    };
    let notify = presence.map_or(shared.shutdown.notify(), |p| p.changed());
    let shutdown = &shared.shutdown;
    // An `async` block, so its state holds what it uses once: every idle
    // connection holds it.
    async move {
        loop {
            // Registered before the check: a change between the two still
            // wakes this waiter.
            let changed = notify.notified();
            let why = match presence {
                None => shutdown.is_ordered().then_some(Ended::Shutdown),
                Some(presence) => presence.why_ended(),
            };
            match why {
                Some(Ended::Shutdown) => return Step::Shutdown,
                Some(Ended::Displaced) => return Step::Displaced,
                None => changed.await,
            }
        }
    }
}

/// Which deadline the connection's one timer stands for.
#[derive(Clone, Copy)]
enum Deadline {
    Timer,
    Throttled,
    HandshakeExpired,
}

/// Serves one connection until the device leaves, the session ends or the
/// server shuts down, then gives back its slot (`permit`).
///
/// An `async` block, not an `async fn`: an `async fn` keeps each argument
/// twice in its state (as passed, and moved into its body), and this state
/// is held for every idle device.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice"
)]
pub(crate) fn serve<B: Backend>(
    shared: Arc<Shared<B>>,
    mut wire: Wire,
    mut admission: Admission,
    permit: OwnedSemaphorePermit,
) -> impl Future<Output = ()> + Send {
    async move {
        serve_inner(&shared, &mut wire, &mut admission).await;
        drop(permit);
    }
}

#[expect(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice"
)]
fn serve_inner<'a, B: Backend>(
    shared: &'a Arc<Shared<B>>,
    wire: &'a mut Wire,
    admission: &'a mut Admission,
) -> impl Future<Output = ()> + Send + 'a {
    async move {
        let limits = &shared.limits;
        let session = Box::new(
            ServerSession::new(
                shared.config.clone(),
                shared.keys.clone(),
                random(),
                now_ms(),
            )
            .with_dh_cache(shared.dh_cache.clone())
            .with_catch_up_pacing(shared.presences.clone()),
        );
        let handshake = Some(Box::new(HandshakeFrames::new(limits.max_handshake_bytes)));
        let handshake_deadline = tokio::time::Instant::now() + limits.handshake_timeout();
        #[allow(clippy::cast_precision_loss)]
        let rate = limits.store_ms_per_second as f64;
        let mut held = Held {
            session,
            handshake,
            changes: None,
            device: None,
            budget: Budget::Own(Box::new(Bucket::new(rate, 2.0 * rate, Instant::now()))),
            buf: Vec::new(),
        };
        tracing::debug!(peer = %admission.ip(), "connected");
        loop {
            let mut throttle = held.budget.debt_wait(Instant::now());
            // First pages that wait for the device's debt: built once it
            // is repaid (`Step::Throttled`), at once if it already is.
            if held.session.catch_up_deferred() {
                throttle = throttle.max(Duration::from_millis(1));
            }
            let (at, fired, reading) = next_wake(
                held.session.poll_timeout(),
                throttle,
                // Until the Hello is answered: an enrolled device that never
                // sends one is a stranger still.
                (!held.session.is_established()).then_some(handshake_deadline),
            );
            let step = tokio::select! {
                read = wire.read(&mut held.buf), if reading => Step::Read(read),
                change = recv(&mut held.changes) => Step::Change(change),
                () = tokio::time::sleep_until(at) => match fired {
                    Deadline::Timer => Step::Timer,
                    Deadline::Throttled => Step::Throttled,
                    Deadline::HandshakeExpired => Step::HandshakeExpired,
                },
                step = ended(shared, &held.budget) => step,
            };
            let (flow, back) =
                Box::pin(step::handle_step(shared, wire, admission, held, step)).await;
            match (flow, back) {
                (step::Flow::Next, Some(back)) => held = back,
                (step::Flow::Done, _) => return,
                _ => break,
            }
        }
        tracing::debug!(peer = %admission.ip(), "disconnected");
    }
}

/// When the connection's one timer fires and for which step, and whether
/// the device's bytes are read meanwhile (not while it is throttled). One
/// timer for the earliest of three deadlines: every timer future lives in
/// the task while it waits, for each of thousands of idle devices, and the
/// step is kept as a one-byte code for the same reason.
fn next_wake(
    session_timeout: Option<u64>,
    throttle: Duration,
    handshake_deadline: Option<tokio::time::Instant>,
) -> (tokio::time::Instant, Deadline, bool) {
    let wait = session_timeout.map_or(Duration::from_secs(3600), |at| {
        Duration::from_millis(at.saturating_sub(now_ms()))
    });
    let now = tokio::time::Instant::now();
    // A session that wants no timer for ages waits an hour at most.
    let mut at = now
        .checked_add(wait)
        .unwrap_or_else(|| now + Duration::from_secs(3600));
    let mut fired = Deadline::Timer;
    if let Some(deadline) = handshake_deadline.filter(|deadline| *deadline <= at) {
        (at, fired) = (deadline, Deadline::HandshakeExpired);
    }
    if !throttle.is_zero() && now + throttle <= at {
        (at, fired) = (now + throttle, Deadline::Throttled);
    }
    (at, fired, throttle.is_zero())
}

async fn recv(changes: &mut Option<broadcast::Receiver<Change>>) -> Result<Change, RecvError> {
    match changes {
        Some(changes) => changes.recv().await,
        None => std::future::pending().await,
    }
}

/// Cuts a stranger's bytes into whole handshake frames and counts an
/// enrollment or reconnect attempt; `None` ends the connection.
fn admit_frames<B>(
    shared: &Shared<B>,
    frames: &mut HandshakeFrames,
    input: &[u8],
    peer: std::net::IpAddr,
) -> Option<Vec<Vec<u8>>> {
    let Ok(whole) = frames.push(input) else {
        tracing::debug!(%peer, "handshake frame over the limit");
        return None;
    };
    for frame in &whole {
        let counted = match frames.opens(frame) {
            Some(Opening::Enrollment) => shared.gate.enroll_attempt(peer),
            Some(Opening::Reconnect(ephemeral)) => shared.gate.hello_attempt(peer, ephemeral),
            None => Ok(()),
        };
        if let Err(why) = counted {
            tracing::debug!(%peer, ?why, "handshake attempt refused");
            return None;
        }
    }
    Some(whole)
}

/// Handles an established session's bytes without a store job when they
/// need none (a caught-up device's acknowledgements, keepalives), recording
/// the cursors for the group writer. Otherwise the bytes are decrypted into
/// the session, which keeps the messages that need the store for the turn
/// (`buf` is then left empty).
fn without_store<B>(
    shared: &Shared<B>,
    session: &mut ServerSession,
    device: Option<&Device>,
    buf: &mut Vec<u8>,
) -> Step {
    let Some(device) = device.filter(|_| session.is_established()) else {
        return Step::Read(Ok(true));
    };
    let handled = session.handle_bytes_without_store(now_ms(), buf);
    // Freed, not kept: an idle connection holds no read buffer.
    *buf = Vec::new();
    match handled {
        Ok(done) => {
            shared.cursors.record(device.id, done.acknowledged);
            if done.needs_store {
                Step::Read(Ok(true))
            } else {
                Step::Handled(Ok(()))
            }
        }
        Err(e) => Step::Handled(Err(e)),
    }
}

fn store_ms(spent: Duration) -> f64 {
    spent.as_secs_f64() * 1000.0
}

/// What one turn hands back to the connection.
struct Turn {
    session: Box<ServerSession>,
    handshake: Option<Box<HandshakeFrames>>,
    /// The session's verdict on the bytes (an error closes it).
    handled: tidings::Result<()>,
    /// Whether the batch committed.
    committed: tidings::Result<()>,
    events: Vec<ServerEvent>,
    /// Mail was delivered: the watcher must look after the commit.
    delivered: bool,
    /// What the device that came online in this turn needs, if one did.
    online: Option<tidings::Result<Online>>,
    /// Store time charged to the device: the turn's, less its waits for
    /// another writer.
    spent: Duration,
    /// Bytes of mail the committed batches sent.
    sent: u64,
    /// Some batch of the turn committed (a later one may still fail).
    committed_some: bool,
}

/// What a device that came online needs from the store: looked up in the
/// turn that authenticated it, so a reconnect costs one store job, not two.
struct Online {
    follows: Vec<u64>,
    wipe: WipeState,
}

/// Looks up [`Online`] for the device `events` say came online, if any;
/// what it follows is the session's own list once its Hello is answered.
fn online_of(
    store: &impl Store,
    events: &[ServerEvent],
    session: &ServerSession,
) -> Option<tidings::Result<Online>> {
    let (device_id, principal_id) = events.iter().find_map(|event| match event {
        ServerEvent::Enrolled {
            device_id,
            principal_id,
        }
        | ServerEvent::Connected {
            device_id,
            principal_id,
        } => Some((*device_id, *principal_id)),
        _ => None,
    })?;
    Some(match session.followed_collections() {
        // The record the session authenticated the device with was read in
        // this turn: its wipe state is not read again.
        Some(follows) => Ok(Online {
            follows,
            wipe: session.wipe_at_hello(),
        }),
        None => look_up_online(store, device_id, principal_id),
    })
}

fn look_up_online(
    store: &impl Store,
    device_id: u64,
    principal_id: u64,
) -> tidings::Result<Online> {
    Ok(Online {
        follows: follows_of(store, principal_id)?,
        wipe: store.device(device_id)?.wipe,
    })
}

/// How long one batch of a turn may run before what it wrote is committed
/// and the rest of the turn's bytes go on in a new batch: a turn of many
/// slow reads after one write held that write's locks (on PostgreSQL, its
/// rows) for as long as all of them took, and others' writes waited.
const BATCH_SLICE: Duration = Duration::from_millis(50);

/// Bytes fed to the session at a time, between looks at the clock.
const FEED_CHUNK: usize = 1024;

/// Feeds one read's bytes to the session, on a store worker, in batches of
/// at most about [`BATCH_SLICE`] each (an operation is never cut: the
/// session takes whole frames). Before authentication the bytes arrive as
/// whole `frames`; once the session authenticates, whatever follows them
/// is fed as it is.
fn turn<B: Backend>(
    pool: &B,
    mut session: Box<ServerSession>,
    mut handshake: Option<Box<HandshakeFrames>>,
    frames: Vec<Vec<u8>>,
    input: &[u8],
    now: u64,
    outbox: Option<&Outbox>,
) -> Turn {
    let started = Instant::now();
    let mut events = Vec::new();
    let mut handled = Ok(());
    let mut delivered = false;
    let mut online = None;
    let mut waited = Duration::ZERO;
    let mut sent = 0;
    let mut fed = 0;
    let mut committed_some = false;
    let mut frames = frames.as_slice();
    let committed = loop {
        let slice_started = Instant::now();
        let mut batch_delivered = false;
        let committed = pool.batch().and_then(|mut batch| {
            let mut sender = Sender::<B>::new(outbox);
            handled = feed(
                &mut session,
                &mut handshake,
                (core::mem::take(&mut frames), input, &mut fed),
                (&mut batch, &mut sender),
                now,
                slice_started,
            );
            batch_delivered = sender.delivered;
            events.extend(std::iter::from_fn(|| session.poll_event()));
            if online.is_none() {
                online = online_of(&batch, &events, &session);
            }
            // A batch that only read may still wait at its end, to commit
            // its acknowledgements: not the device's doing either.
            let (finished, batch_waited) = B::finish_waited(batch);
            waited += batch_waited;
            finished
        });
        // What this batch sent counts once it committed (a rolled-back
        // send sent nothing).
        let charged = session.take_outgoing_charged();
        if committed.is_ok() {
            sent += charged;
            delivered |= batch_delivered;
            committed_some = true;
        }
        if committed.is_err() || handled.is_err() || fed >= input.len() {
            break committed;
        }
    };
    Turn {
        session,
        handshake,
        handled,
        committed,
        events,
        delivered,
        online,
        sent,
        committed_some,
        // Not the wait for another writer: the device is not charged
        // for another device's (or the operator's) transaction.
        spent: started.elapsed().saturating_sub(waited),
    }
}

/// Feeds `frames`, then `input` from `fed` on, in [`FEED_CHUNK`]s, until
/// all is fed or the batch has run [`BATCH_SLICE`] since `slice_started`;
/// `fed` is moved past what was fed.
fn feed<S: Store>(
    session: &mut ServerSession,
    handshake: &mut Option<Box<HandshakeFrames>>,
    (frames, input, fed): (&[Vec<u8>], &[u8], &mut usize),
    (batch, sender): (&mut S, &mut dyn MailTransport<S>),
    now: u64,
    slice_started: Instant,
) -> tidings::Result<()> {
    for frame in frames {
        session.handle_bytes_sending(now, frame, batch, sender)?;
    }
    if handshake.is_some() && session.device().is_some() {
        let rest = handshake.take().map(|frames| frames.into_rest());
        session.handle_bytes_sending(now, &rest.unwrap_or_default(), batch, sender)?;
    }
    if handshake.is_some() || session.is_closed() {
        *fed = input.len();
        return Ok(());
    }
    // Even with no new bytes: messages may wait in the session for a store
    // (see `without_store`).
    loop {
        let rest = input.get(*fed..).unwrap_or_default();
        let chunk = rest.get(..rest.len().min(FEED_CHUNK)).unwrap_or_default();
        session.handle_bytes_sending(now, chunk, batch, sender)?;
        *fed += chunk.len();
        if *fed >= input.len() || session.is_closed() {
            *fed = input.len();
            return Ok(());
        }
        if slice_started.elapsed() >= BATCH_SLICE {
            return Ok(());
        }
    }
}

fn drain(session: &mut ServerSession) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| session.poll_transmit()).collect()
}

/// Store work for one push, run on a store worker.
type PushJob<B> = Box<dyn FnOnce(&B, &mut ServerSession) -> tidings::Result<()> + Send>;

/// Passes a change on to the device if it concerns it: the prepared page
/// when the device stands where it starts, its own delta otherwise (after a
/// lag, everything it is owed). Returns the session, or `None` if a store
/// job failed.
async fn push<B: Backend>(
    shared: &Shared<B>,
    mut session: Box<ServerSession>,
    device: &mut Device,
    change: Result<Change, RecvError>,
) -> (tidings::Result<()>, Option<Box<ServerSession>>) {
    let now = now_ms();
    let job: PushJob<B> = match change {
        Ok(Change::Collection {
            collection_id,
            page,
        }) => {
            // First pages held back for the device's debt: the catch-up
            // that follows its repayment sends this change too, and a
            // change must not buy the device its catch-up early.
            if !device.follows.contains(&collection_id) || session.catch_up_deferred() {
                return (Ok(()), Some(session));
            }
            // The prepared page when the device stands where it starts and
            // its principal could read the collection when the page was
            // read: sealed and sent here, without a store job. Its own
            // delta otherwise (the core checks the rights again).
            if let Some(fanout) = &page {
                let rights = fanout.rights(device.principal);
                match session.push_prepared_with_rights(now, rights, &fanout.page) {
                    Ok(true) => return (Ok(()), Some(session)),
                    Ok(false) => {}
                    Err(e) => return (Err(e), Some(session)),
                }
            }
            Box::new(move |pool, session| pool.read(|s| session.push_changes(now, s)))
        }
        Ok(Change::Revoked { device_id }) if device_id == device.id => {
            Box::new(move |pool, session| in_batch(pool, |b| session.revoke(now, b)))
        }
        Ok(Change::Wipe { device_id, wipe_id }) if device_id == device.id => {
            Box::new(move |pool, session| in_batch(pool, |b| session.order_wipe(now, b, wipe_id)))
        }
        Ok(Change::Policy { device_id }) if device_id == device.id => {
            Box::new(move |pool, session| pool.read(|s| session.send_stored_policy(now, s)))
        }
        Ok(Change::Grants { principals }) if principals.contains(&device.principal) => {
            // What the device may see changed: follow the new list, and the
            // session sends it (and what a new collection holds).
            let principal = device.principal;
            let done = shared
                .access
                .run(move |pool| {
                    let result = pool.read(|s| {
                        let follows = follows_of(s, principal)?;
                        session.refresh_collections(now, s)?;
                        Ok(follows)
                    });
                    (result, session)
                })
                .await;
            return match done {
                Some((Ok(follows), session)) => {
                    device.follows = follows.into_boxed_slice();
                    (Ok(()), Some(session))
                }
                Some((Err(e), session)) => (Err(e), Some(session)),
                None => (Ok(()), None),
            };
        }
        Ok(_) | Err(RecvError::Closed) => return (Ok(()), Some(session)),
        Err(RecvError::Lagged(_)) => {
            // The changes missed may have held an order for this device: its
            // record says whether one is outstanding.
            let device_id = device.id;
            Box::new(move |pool, session| {
                let record = pool.read(|s| s.device(device_id))?;
                if record.revoked {
                    return in_batch(pool, |b| session.revoke(now, b));
                }
                if let WipeState::Pending(wipe_id) = record.wipe {
                    in_batch(pool, |b| session.order_wipe(now, b, wipe_id))?;
                }
                if session.catch_up_deferred() {
                    return Ok(());
                }
                pool.read(|s| session.push_changes(now, s))
            })
        }
    };
    let done = shared
        .access
        .run(move |pool| {
            let result = job(pool, &mut session);
            (result, session)
        })
        .await;
    match done {
        Some((result, session)) => (result, Some(session)),
        None => (Ok(()), None),
    }
}

/// Runs `f` in a batch that commits what it wrote.
fn in_batch<B: Backend>(
    pool: &B,
    f: impl FnOnce(&mut B::Batch<'_>) -> tidings::Result<()>,
) -> tidings::Result<()> {
    let mut batch = pool.batch()?;
    let result = f(&mut batch);
    B::finish(batch)?;
    result
}

fn follows_of(store: &impl Directory, principal: u64) -> tidings::Result<Vec<u64>> {
    let visible = store.visible_collections(principal)?;
    // Collected into a list of its own size: collected in place, the ids
    // would keep the whole list's allocation for the connection's life.
    let mut ids = Vec::with_capacity(visible.len());
    ids.extend(visible.into_iter().map(|(c, _)| c.id));
    Ok(ids)
}

/// Acts on a session event; returns a pending wipe to order again.
async fn handle_event<B: Backend>(
    shared: &Shared<B>,
    device: &mut Option<Device>,
    event: ServerEvent,
    online: &mut Option<tidings::Result<Online>>,
) -> Option<u64> {
    match event {
        ServerEvent::Enrolled {
            device_id,
            principal_id,
        }
        | ServerEvent::Connected {
            device_id,
            principal_id,
        } => {
            tracing::info!(device_id, principal_id, "device online");
            let looked = match online.take() {
                Some(looked) => Some(looked),
                None => {
                    shared
                        .access
                        .run(move |pool| pool.read(|s| look_up_online(s, device_id, principal_id)))
                        .await
                }
            };
            let (follows, wipe) = match looked {
                Some(Ok(Online { follows, wipe })) => (follows, wipe),
                _ => (Vec::new(), WipeState::None),
            };
            *device = Some(Device {
                id: device_id,
                principal: principal_id,
                follows: follows.into_boxed_slice(),
            });
            // A wipe ordered while the device was away is ordered again.
            if let WipeState::Pending(wipe_id) = wipe {
                return Some(wipe_id);
            }
        }
        ServerEvent::CollectionChanged { .. } => shared.hub.poke(),
        ServerEvent::WipeAcknowledged { device_id, wipe_id } => {
            tracing::info!(device_id, wipe_id, "wipe acknowledged");
            // Wiped, the device is revoked: its other sessions are told.
            shared.hub.revoked(device_id);
        }
        // Every device of the principal is locked out until its list is
        // shorter: the operator must hear of it, with what to shorten.
        ServerEvent::WelcomeTooLarge {
            device_id,
            principal_id,
            collections,
            bytes,
        } => {
            tracing::warn!(
                device_id,
                principal_id,
                collections,
                bytes,
                "a device cannot connect: its principal's collection list does not fit the \
                 Welcome (one message, at most 65,535 bytes); remove collections or grants of \
                 the principal, or shorten their names"
            );
        }
        ServerEvent::Closed { error: Some(e) } => {
            tracing::debug!(code = e.code(), "session closed");
        }
        _ => {}
    }
    None
}

/// Acts on the session's events, ordering again a wipe that was pending;
/// `None` if a store job failed.
async fn handle_events<B: Backend>(
    shared: &Shared<B>,
    mut session: Box<ServerSession>,
    device: &mut Option<Device>,
    events: impl IntoIterator<Item = ServerEvent>,
    mut online: Option<tidings::Result<Online>>,
) -> Option<Box<ServerSession>> {
    for event in events {
        if let Some(wipe_id) = handle_event(shared, device, event, &mut online).await {
            let now = now_ms();
            session = shared
                .access
                .run(move |pool| {
                    let _ = in_batch(pool, |b| session.order_wipe(now, b, wipe_id));
                    session
                })
                .await?;
        }
    }
    Some(session)
}
