//! One wake-up of a connection, handled: what the device sent, a change to
//! push, a timer, or the end.
//!
//! A function of its own, whose future is boxed while it runs: its locals
//! (the step, the frames and input of a turn, its outcome) would otherwise
//! be laid out in the state every idle connection holds while it waits.

use super::{
    Budget, Held, Step, admit_frames, drain, handle_events, push, store_ms, turn, without_store,
};
use crate::clock::now_ms;
use crate::server::Shared;
use crate::server::access::Backend;
use crate::server::gate::Admission;
use crate::server::wire::Wire;
use std::sync::Arc;
use std::time::Instant;

/// What the connection does after a step.
pub(super) enum Flow {
    /// Waits for the next wake-up.
    Next,
    /// Ends the connection.
    Stop,
    /// Ended it already (closed and shut down).
    Done,
}

/// Handles `step`; gives back what the connection keeps unless it ends.
pub(super) async fn handle_step<B: Backend>(
    shared: &Arc<Shared<B>>,
    wire: &mut Wire,
    admission: &mut Admission,
    held: Held,
    step: Step,
) -> (Flow, Option<Held>) {
    let Held {
        mut session,
        mut handshake,
        mut changes,
        mut device,
        mut budget,
        mut buf,
    } = held;
    let step = match step {
        Step::Read(Ok(true)) if handshake.is_none() => {
            // Charged to the device like store time: a flood of
            // acknowledgements is throttled as any other.
            let started = Instant::now();
            let step = without_store(shared, &mut session, device.as_ref(), &mut buf);
            budget.spend(store_ms(started.elapsed()), Instant::now());
            step
        }
        other => other,
    };
    let outcome = match step {
        Step::Handled(outcome) => outcome,
        Step::Read(Ok(true)) => {
            let input = core::mem::take(&mut buf);
            let frames = match &mut handshake {
                Some(frames) => match admit_frames(shared, frames, &input, admission.ip()) {
                    Some(frames) => frames,
                    None => return (Flow::Stop, None),
                },
                None => Vec::new(),
            };
            if handshake.is_some() && frames.is_empty() {
                // Part of a handshake frame: nothing for the store yet.
                return (
                    Flow::Next,
                    Some(Held {
                        session,
                        handshake,
                        changes,
                        device,
                        budget,
                        buf,
                    }),
                );
            }
            let input = if handshake.is_some() {
                Vec::new()
            } else {
                input
            };
            // Subscribed before the turn that may authenticate: a change
            // committed while the session computes its Welcome and first
            // pages is queued, not missed.
            if changes.is_none() {
                changes = Some(shared.hub.subscribe());
            }
            // Mail the device may send in this turn: all its budget
            // has, held for the turn, while its other sessions' turns
            // wait. Before the device is known (an enrollment whose
            // first operations ride with it) a new device's whole
            // budget, charged to it once it joins.
            let one_turn = match &budget {
                Budget::Own(_) => None,
                Budget::Device(presence) => Some(presence.one_turn().await),
            };
            let reserved = match &budget {
                Budget::Own(_) => None,
                Budget::Device(presence) => Some(presence.reserve_sending(Instant::now())),
            };
            let (bytes, whole) = reserved.unwrap_or((shared.presences.sending_full(), true));
            session.set_outgoing_allowance(bytes, whole);
            let outbox = shared.outbox.clone();
            // A stranger whose handshake the store is working on is not
            // closed to make room for another meanwhile.
            let authenticating = handshake.is_some();
            let reconnecting = handshake.as_ref().is_some_and(|h| h.reconnecting());
            if authenticating {
                admission.authenticating(true);
            }
            let turn = shared.access.run(move |pool| {
                let outbox = outbox.as_deref();
                turn(pool, session, handshake, frames, &input, now_ms(), outbox)
            });
            let Some(done) = Box::pin(turn).await else {
                return (Flow::Stop, None);
            };
            session = done.session;
            handshake = done.handshake;
            budget.spend(store_ms(done.spent), Instant::now());
            // What the committed batches sent; what was held and not
            // sent goes back.
            let sent = done.sent;
            if let (Some((held, _)), Budget::Device(presence)) = (reserved, &budget) {
                presence.settle_sending(held, sent, Instant::now());
            }
            drop(one_turn);
            match done.committed {
                // Whatever the session queued may claim effects that were
                // rolled back: nothing is sent, the device resumes later.
                Err(e) => {
                    tracing::warn!(peer = %admission.ip(), code = e.code(), "batch not committed");
                    // What an earlier batch of the turn committed (a send,
                    // a change) is pushed and queued mail goes out all the
                    // same: the watcher and the outbox read committed state.
                    if done.committed_some {
                        shared.hub.poke();
                        if let Some(outbox) = &shared.outbox {
                            outbox.wake_if_queued();
                        }
                    }
                    return (Flow::Stop, None);
                }
                Ok(()) => {
                    if done.delivered {
                        shared.hub.poke();
                    }
                    // Mail queued by the batch (a send, an invitation's
                    // answer) is in the committed state now.
                    if let Some(outbox) = &shared.outbox {
                        outbox.wake_if_queued();
                    }
                    let Some(back) = Box::pin(handle_events(
                        shared,
                        session,
                        &mut device,
                        done.events,
                        done.online,
                    ))
                    .await
                    else {
                        return (Flow::Stop, None);
                    };
                    session = back;
                    if device.is_none() && authenticating {
                        admission.authenticating(false);
                    }
                    // A reconnect's one turn authenticates the device or
                    // fails (an enrollment's first turn authenticates no one).
                    if device.is_none() && reconnecting {
                        shared.gate.hello_failed(admission.ip());
                    }
                    if let Some(known) = &device {
                        admission.authenticated();
                        if let Budget::Own(own) = &budget {
                            let presence = shared.presences.join(known.id, (**own).clone());
                            budget = Budget::Device(presence);
                        }
                    }
                    // The mail an enrollment turn sent, charged to the
                    // device now that it has joined.
                    if let (None, Budget::Device(presence)) = (reserved, &budget) {
                        presence.settle_sending(0, sent, Instant::now());
                    }
                }
            }
            done.handled
        }
        Step::Read(Ok(false)) => return (Flow::Stop, None),
        Step::Read(Err(e)) => {
            tracing::debug!(peer = %admission.ip(), error = %e, "read failed");
            return (Flow::Stop, None);
        }
        // The first pages of a reconnect that came while the device owed
        // store time, now that it does not: built as any catch-up is, and
        // charged to the device.
        Step::Throttled
            if session.catch_up_deferred() && budget.debt_wait(Instant::now()).is_zero() =>
        {
            let now = now_ms();
            let done = shared
                .access
                .run(move |pool| {
                    let started = Instant::now();
                    let result = pool.read(|s| session.push_changes(now, s));
                    (result, started.elapsed(), session)
                })
                .await;
            let Some((result, spent, back)) = done else {
                return (Flow::Stop, None);
            };
            session = back;
            budget.spend(store_ms(spent), Instant::now());
            crate::server::stats::caught_up_late();
            result
        }
        Step::Throttled => Ok(()),
        Step::HandshakeExpired => {
            tracing::debug!(peer = %admission.ip(), "no handshake within the deadline");
            return (Flow::Stop, None);
        }
        Step::Change(change) => {
            let Some(known) = device.as_mut() else {
                return (
                    Flow::Next,
                    Some(Held {
                        session,
                        handshake,
                        changes,
                        device,
                        budget,
                        buf,
                    }),
                );
            };
            let (result, back) = push(shared, session, known, change).await;
            let Some(back) = back else {
                return (Flow::Stop, None);
            };
            session = back;
            result
        }
        Step::Timer => session.handle_timeout(now_ms()),
        Step::Shutdown | Step::Displaced => {
            if matches!(step, Step::Displaced) {
                tracing::debug!(peer = %admission.ip(), "displaced by a newer session of the device");
            }
            let _ = session.close(now_ms());
            let _ = wire.write(drain(&mut session)).await;
            wire.shutdown().await;
            return (Flow::Done, None);
        }
    };
    if let Err(e) = &outcome {
        // A stranger's failures are its own business, and at the info
        // level anyone could fill the log with them.
        match &device {
            Some(known) => {
                tracing::info!(peer = %admission.ip(), device = known.id, code = e.code(), error = %e, "session ended with an error")
            }
            None => {
                tracing::debug!(peer = %admission.ip(), code = e.code(), error = %e, "handshake refused")
            }
        }
    }
    let events: Vec<_> = std::iter::from_fn(|| session.poll_event()).collect();
    let Some(back) = Box::pin(handle_events(shared, session, &mut device, events, None)).await
    else {
        return (Flow::Stop, None);
    };
    session = back;
    if let Err(e) = wire.write(drain(&mut session)).await {
        tracing::debug!(peer = %admission.ip(), error = %e, "write failed");
        return (Flow::Stop, None);
    }
    if session.is_closed() {
        wire.shutdown().await;
        return (Flow::Stop, None);
    }
    (
        Flow::Next,
        Some(Held {
            session,
            handshake,
            changes,
            device,
            budget,
            buf,
        }),
    )
}
