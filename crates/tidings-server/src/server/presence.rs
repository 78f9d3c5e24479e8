//! What the connections of one device share once it is authenticated: its
//! budgets of store time and of mail to send (the device's, not each
//! connection's: opening more sessions buys no more), and a bound on its
//! sessions at once. A session beyond the bound displaces the device's oldest: a
//! handset whose old connection is dead but not yet found gone (that takes
//! up to the idle timeout) gets in at once, and one device cannot hold the
//! server's connection slots.
//!
//! A device's share outlives its last session while it owes sending time:
//! reconnecting does not refill it. Per process: with several server
//! processes each bounds its own share.

use super::gate::Bucket;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tidings::session::CatchUpPacing;
use tokio::sync::Notify;

/// Sessions one device may hold at once in one process.
pub(crate) const SESSIONS_PER_DEVICE: usize = 8;

/// Every authenticated device of this process, by id.
pub(crate) struct Presences {
    devices: Mutex<HashMap<u64, Arc<DeviceShare>>>,
    next_session: AtomicU64,
    /// The server is stopping: every session ends.
    stopping: AtomicBool,
    /// What a device may send: bytes per second, and saved up at most.
    sending: (f64, f64),
}

/// One device's share, held by each of its sessions.
struct DeviceShare {
    state: Mutex<ShareState>,
    /// Held by a session for each turn that may send mail: the device's
    /// turns reserve what it may send one at a time.
    turns: Arc<tokio::sync::Mutex<()>>,
    /// Woken when a session of the device is displaced, or at shutdown.
    changed: Notify,
}

struct ShareState {
    budget: Bucket,
    /// Bytes of mail it may send (`Outgoing::stored_bytes`); `None` while
    /// full, as it is for most devices most of the time (memory for every
    /// idle device).
    sending: Option<Box<Bucket>>,
    sessions: Sessions,
}

/// A device's sessions, oldest first; the first inline, since most
/// devices have one.
#[derive(Default)]
struct Sessions {
    /// 0: none (session numbers start at 1).
    oldest: u64,
    newer: Vec<u64>,
}

impl Sessions {
    fn len(&self) -> usize {
        usize::from(self.oldest != 0) + self.newer.len()
    }

    fn contains(&self, session: u64) -> bool {
        self.oldest == session || self.newer.contains(&session)
    }

    fn push(&mut self, session: u64) {
        if self.oldest == 0 {
            self.oldest = session;
        } else {
            self.newer.push(session);
        }
    }

    fn remove_oldest(&mut self) {
        self.oldest = match self.newer.is_empty() {
            true => 0,
            false => self.newer.remove(0),
        };
        if self.newer.is_empty() {
            self.newer = Vec::new();
        }
    }

    fn remove(&mut self, session: u64) {
        if self.oldest == session {
            self.remove_oldest();
        } else {
            self.newer.retain(|s| *s != session);
        }
    }
}

/// Why an authenticated session must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The server is stopping.
    Shutdown,
    /// A newer session of the device took its place.
    Displaced,
}

/// One session's place among its device's.
pub(crate) struct Presence {
    presences: Arc<Presences>,
    device: u64,
    share: Arc<DeviceShare>,
    session: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Presences {
    /// No devices yet; each may send `bytes_per_hour`, saved up to as much.
    pub(crate) fn new(bytes_per_hour: f64) -> Self {
        Self {
            devices: Mutex::default(),
            next_session: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
            sending: (bytes_per_hour / 3_600.0, bytes_per_hour),
        }
    }

    /// Enters a session of `device`, whose budget until now was `fresh`:
    /// it starts the device's share if the device has none, else what it
    /// spent is charged to the share. The oldest session is displaced if
    /// the device has too many.
    pub(crate) fn join(self: &Arc<Self>, device: u64, fresh: Bucket) -> Presence {
        let session = self.next_session.fetch_add(1, Ordering::Relaxed);
        // The map stays locked while the session is entered, so a last
        // session leaving at the same time cannot drop this share from it.
        let mut devices = lock(&self.devices);
        let share = match devices.get(&device) {
            Some(share) => {
                // What the session spent before the device was known (its
                // hello's turn, the first pages) is the device's, as it
                // is when the session starts the share.
                let mut fresh = fresh;
                let now = Instant::now();
                lock(&share.state).budget.spend(fresh.spent(now), now);
                share.clone()
            }
            None => {
                let share = Arc::new(DeviceShare {
                    state: Mutex::new(ShareState {
                        budget: fresh,
                        sending: None,
                        sessions: Sessions::default(),
                    }),
                    turns: Arc::default(),
                    changed: Notify::new(),
                });
                devices.insert(device, share.clone());
                share
            }
        };
        let displaced = {
            let mut state = lock(&share.state);
            state.sessions.push(session);
            let over = state.sessions.len() > SESSIONS_PER_DEVICE;
            if over {
                state.sessions.remove_oldest();
            }
            over
        };
        drop(devices);
        if displaced {
            tracing::info!(device, "a session displaced the device's oldest");
            share.changed.notify_waiters();
        }
        Presence {
            presences: self.clone(),
            device,
            share,
            session,
        }
    }

    /// Ends every authenticated session (the server is stopping).
    pub(crate) fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let shares: Vec<_> = lock(&self.devices).values().cloned().collect();
        for share in shares {
            share.changed.notify_waiters();
        }
    }

    /// A full sending budget, in whole bytes.
    pub(crate) fn sending_full(&self) -> u64 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let full = self.sending.1.max(0.0) as u64;
        full
    }

    #[cfg(test)]
    fn devices(&self) -> usize {
        lock(&self.devices).len()
    }
}

/// A reconnect's first pages wait while its device owes store time: they
/// are built in the hello's turn, which would otherwise do that work at
/// every reconnect of a device in a loop, whatever its budget.
impl CatchUpPacing for Presences {
    fn defer_first_pages(&self, device_id: u64) -> bool {
        let share = lock(&self.devices).get(&device_id).cloned();
        share.is_some_and(|share| {
            !lock(&share.state)
                .budget
                .debt_wait(Instant::now())
                .is_zero()
        })
    }
}

impl Presence {
    /// Charges `ms` of store time to the device.
    pub(crate) fn spend(&self, ms: f64, now: Instant) {
        lock(&self.share.state).budget.spend(ms, now);
    }

    /// How long until the device is out of debt.
    pub(crate) fn debt_wait(&self, now: Instant) -> Duration {
        lock(&self.share.state).budget.debt_wait(now)
    }

    /// Waits for the device's other sessions' turns: held for a turn,
    /// from [`reserve_sending`](Self::reserve_sending) to
    /// [`settle_sending`](Self::settle_sending). Without it a session
    /// whose turn overlapped another's found nothing left to send (the
    /// other held it all) and was refused with the budget barely touched.
    pub(crate) async fn one_turn(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.share.turns.clone().lock_owned().await
    }

    /// Takes every byte of mail the device may send now, for one turn of
    /// one session (held under [`one_turn`](Self::one_turn), so its
    /// other sessions wait rather than find it spent), and whether that is
    /// its whole budget. The turn gives back what it did not send with
    /// [`settle_sending`](Self::settle_sending).
    pub(crate) fn reserve_sending(&self, now: Instant) -> (u64, bool) {
        let (rate, burst) = self.presences.sending;
        let mut state = lock(&self.share.state);
        let bucket = state
            .sending
            .get_or_insert_with(|| Box::new(Bucket::new(rate, burst, now)));
        let whole = bucket.full(now);
        let reserved = bucket.tokens_left();
        #[allow(clippy::cast_precision_loss)]
        bucket.spend(reserved as f64, now);
        (reserved, whole)
    }

    /// Ends a turn that reserved `reserved` bytes and sent `sent` (more,
    /// in debt, if it had the whole budget).
    pub(crate) fn settle_sending(&self, reserved: u64, sent: u64, now: Instant) {
        let (rate, burst) = self.presences.sending;
        let mut state = lock(&self.share.state);
        let bucket = state
            .sending
            .get_or_insert_with(|| Box::new(Bucket::new(rate, burst, now)));
        #[allow(clippy::cast_precision_loss)]
        bucket.spend(sent as f64 - reserved as f64, now);
        if bucket.full(now) {
            state.sending = None;
        }
    }

    /// What wakes this session's waiter when it may have ended.
    pub(crate) fn changed(&self) -> &Notify {
        &self.share.changed
    }

    /// Why this session must end, if it must.
    pub(crate) fn why_ended(&self) -> Option<Ended> {
        if self.presences.stopping.load(Ordering::SeqCst) {
            return Some(Ended::Shutdown);
        }
        let state = lock(&self.share.state);
        (!state.sessions.contains(self.session)).then_some(Ended::Displaced)
    }

    /// Resolves when this session must end, and says why. (A connection
    /// waits with `changed` and `why_ended` itself, in one future with its
    /// wait for shutdown.)
    #[cfg(test)]
    async fn ended(&self) -> Ended {
        loop {
            // Registered before the check: a change between the two still
            // wakes this waiter.
            let changed = self.share.changed.notified();
            if let Some(why) = self.why_ended() {
                return why;
            }
            changed.await;
        }
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let mut devices = lock(&self.presences.devices);
        let last = {
            let mut state = lock(&self.share.state);
            state.sessions.remove(self.session);
            let now = Instant::now();
            state.sessions.len() == 0
                && state.budget.full(now)
                && state.sending.as_mut().is_none_or(|b| b.full(now))
        };
        // The device's share goes with its last session, unless it owes
        // store or sending time (reconnecting must not refill it; a
        // displaced session may outlive it: it is no longer listed there).
        if last
            && devices
                .get(&self.device)
                .is_some_and(|s| Arc::ptr_eq(s, &self.share))
        {
            devices.remove(&self.device);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> Bucket {
        Bucket::new(1_000.0, 2_000.0, Instant::now())
    }

    #[tokio::test]
    async fn a_device_beyond_its_sessions_displaces_its_oldest() {
        let presences = Arc::new(Presences::new(1_000.0));
        let sessions: Vec<_> = (0..SESSIONS_PER_DEVICE)
            .map(|_| presences.join(7, bucket()))
            .collect();
        let other = presences.join(8, bucket());
        let bounded = Duration::from_millis(50);
        for session in &sessions {
            assert!(
                tokio::time::timeout(bounded, session.ended())
                    .await
                    .is_err()
            );
        }
        let newest = presences.join(7, bucket());
        let ended = tokio::time::timeout(bounded, sessions[0].ended()).await;
        assert_eq!(ended, Ok(Ended::Displaced));
        for session in sessions.iter().skip(1).chain([&newest, &other]) {
            assert!(
                tokio::time::timeout(bounded, session.ended())
                    .await
                    .is_err()
            );
        }
        drop(sessions);
        drop(newest);
        assert_eq!(presences.devices(), 1, "only the other device is left");
        presences.stop_all();
        let ended = tokio::time::timeout(bounded, other.ended()).await;
        assert_eq!(ended, Ok(Ended::Shutdown));
    }

    #[test]
    fn a_devices_sessions_share_one_budget() {
        let presences = Arc::new(Presences::new(1_000.0));
        let now = Instant::now();
        let fresh = || Bucket::new(1_000.0, 1_000.0, now);
        let first = presences.join(7, fresh());
        let second = presences.join(7, fresh());
        let stranger = presences.join(8, fresh());
        first.spend(3_000.0, now);
        assert!(second.debt_wait(now) >= Duration::from_secs(1));
        assert_eq!(stranger.debt_wait(now), Duration::ZERO);
    }

    #[test]
    fn store_time_owed_survives_a_reconnect_and_holds_back_first_pages() {
        let presences = Arc::new(Presences::new(1_000.0));
        let now = Instant::now();
        // 1 ms of store time a second, 10 saved up.
        let fresh = || Bucket::new(1.0, 10.0, now);
        let first = presences.join(7, fresh());
        assert!(!presences.defer_first_pages(7));
        first.spend(20.0, now);
        assert!(presences.defer_first_pages(7), "10 ms in debt");
        assert!(!presences.defer_first_pages(8), "another device");
        drop(first);
        assert_eq!(presences.devices(), 1, "kept while the device owes");
        // The next reconnect's hello turn, spent before the device was known.
        let mut own = fresh();
        own.spend(5.0, now);
        let again = presences.join(7, own);
        assert!(
            again.debt_wait(now) >= Duration::from_secs(14),
            "the debt and the hello's cost: {:?}",
            again.debt_wait(now)
        );
    }

    #[tokio::test]
    async fn a_devices_turns_take_what_it_may_send_one_at_a_time() {
        let presences = Arc::new(Presences::new(1_000.0));
        let now = Instant::now();
        let first = presences.join(7, bucket());
        let second = presences.join(7, bucket());
        let stranger = presences.join(8, bucket());
        let turn = first.one_turn().await;
        let bounded = Duration::from_millis(50);
        assert!(
            tokio::time::timeout(bounded, second.one_turn())
                .await
                .is_err()
        );
        assert!(
            tokio::time::timeout(bounded, stranger.one_turn())
                .await
                .is_ok()
        );
        assert_eq!(first.reserve_sending(now), (1_000, true));
        first.settle_sending(1_000, 100, now);
        drop(turn);
        let _turn = tokio::time::timeout(bounded, second.one_turn())
            .await
            .expect("the next turn");
        assert_eq!(second.reserve_sending(now), (900, false));
    }

    #[test]
    fn what_a_device_may_send_is_shared_and_survives_a_reconnect() {
        let presences = Arc::new(Presences::new(1_000.0));
        let now = Instant::now();
        let first = presences.join(7, bucket());
        let second = presences.join(7, bucket());
        assert_eq!(first.reserve_sending(now), (1_000, true));
        assert_eq!(
            second.reserve_sending(now),
            (0, false),
            "a turn of one session holds what the device may send"
        );
        second.settle_sending(0, 0, now);
        first.settle_sending(1_000, 600, now);
        assert_eq!(second.reserve_sending(now), (400, false));
        second.settle_sending(400, 0, now);
        drop((first, second));
        let again = presences.join(7, bucket());
        assert_eq!(
            again.reserve_sending(now),
            (400, false),
            "reconnecting refills nothing"
        );
    }
}
