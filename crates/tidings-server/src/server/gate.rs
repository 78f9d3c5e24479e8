//! What a stranger may cost before it authenticates: connections per source
//! address, unauthenticated connections in all and per source, and the rate
//! of enrollment attempts in all and per source.
//!
//! Every connection, raw TCP or HTTP (and the WebSocket it may become),
//! holds an [`Admission`] for its whole life; dropping it gives the slot
//! back.
//!
//! When the strangers' room is full, a newcomer from a source holding fewer
//! strangers than the source holding the most closes that source's oldest
//! stranger and takes its place (see [`State::eviction_for`]): sources that
//! fill the room between them cannot keep others' devices out.
//!
//! The gate's lock is taken by every new connection, so nothing slow runs
//! under it: no system call, and no scan of all strangers or sources (only
//! the rate buckets are pruned there, once more than
//! [`ENROLL_SOURCES_KEPT`] sources' are kept).

use super::handshake::EphemeralPrefix;
use super::limits::Limits;
use super::replays::{PER_GENERATION, RecentEphemerals};
use socket2::SockRef;
use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Shutdown};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Self {
            tokens: burst,
            last: now,
            rate,
            burst,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes one token if there is one.
    pub(crate) fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes `amount` tokens, going into debt if need be.
    pub(crate) fn spend(&mut self, amount: f64, now: Instant) {
        self.refill(now);
        self.tokens -= amount;
    }

    /// How long until the bucket is out of debt (zero if it is not).
    pub(crate) fn debt_wait(&mut self, now: Instant) -> std::time::Duration {
        self.refill(now);
        if self.tokens >= 0.0 || self.rate <= 0.0 {
            return std::time::Duration::ZERO;
        }
        std::time::Duration::from_secs_f64(-self.tokens / self.rate)
    }

    /// Whole tokens left (none while in debt).
    pub(crate) fn tokens_left(&self) -> u64 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = self.tokens.max(0.0).floor() as u64;
        whole
    }

    /// What was taken out of it and not yet refilled.
    pub(crate) fn spent(&mut self, now: Instant) -> f64 {
        self.refill(now);
        (self.burst - self.tokens).max(0.0)
    }

    /// Whether the bucket holds all it can.
    pub(crate) fn full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

#[derive(Default)]
struct Source {
    connections: usize,
    /// Its strangers' admission numbers, oldest first.
    strangers: BTreeSet<NonZeroU64>,
}

/// A connection not yet authenticated, as the gate keeps it.
struct Stranger {
    /// The source it counts under ([`source_of`]).
    source: IpAddr,
    /// The same socket (a duplicate descriptor), to close it by: shutting
    /// it down ends the connection's reads, and so its task. `None` if the
    /// descriptor could not be duplicated (it is then never evicted).
    socket: Option<socket2::Socket>,
    /// Its authenticating turn is running in the store: it is not closed
    /// meanwhile, or the store's work (and the device's) would be wasted.
    authenticating: bool,
}

impl Stranger {
    /// Whether it may be closed to make room: not while the store works on
    /// its handshake, and never without a descriptor to close it by (it
    /// would go on uncounted).
    fn closable(&self) -> bool {
        !self.authenticating && self.socket.is_some()
    }
}

/// Sources a newcomer's eviction looks at, those holding most first: the
/// oldest stranger among them gives way.
const EVICTION_CANDIDATES: usize = 16;

struct State {
    sources: HashMap<IpAddr, Source>,
    /// Every stranger, by admission number.
    strangers: HashMap<NonZeroU64, Stranger>,
    /// The sources holding strangers, by how many they hold.
    by_held: BTreeSet<(usize, IpAddr)>,
    last_admitted: u64,
    enroll: Bucket,
    /// Kept apart from `sources`: a source's budget must outlive its
    /// connections, or reconnecting would refill it.
    enroll_by_source: HashMap<IpAddr, Bucket>,
    /// Reconnects (IK hellos) per source, kept the same way.
    hellos_by_source: HashMap<IpAddr, Bucket>,
    /// Strangers of others a source's newcomers closed, kept the same way.
    evictions_by_source: HashMap<IpAddr, Bucket>,
    /// Reconnects' ephemeral keys, to close a replayed hello.
    ephemerals: RecentEphemerals,
}

/// Admission control for every new connection.
pub(crate) struct Gate {
    limits: Limits,
    state: Mutex<State>,
}

/// Why a connection or an attempt was refused (logged, never sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    SourceConnections,
    SourceUnauthenticated,
    Unauthenticated,
    EnrollRate,
    EnrollRateSource,
    HelloRateSource,
    EvictionRateSource,
    /// A hello whose ephemeral key was seen before: a copy.
    ReplayedHello,
}

/// What a reconnect that fails to authenticate (unreadable, unknown
/// device, stale timestamp, revoked) costs its source, in hellos: a
/// device's own reconnects rarely fail, and a stranger's keep failing.
const FAILED_HELLO_COST: f64 = 10.0;

/// The source a per-source limit counts `ip` under: an IPv4 address (or an
/// IPv4-mapped IPv6 one) as it is, an IPv6 address by its /64, the block
/// one subscriber is given (RFC 6177): otherwise one host could be any
/// number of sources.
fn source_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// Remembered enrollment budgets before full ones are forgotten.
const ENROLL_SOURCES_KEPT: usize = 10_000;

/// `source`'s bucket in `buckets` (`rate` a second, `burst` saved up),
/// forgetting full ones first when too many are kept.
fn bucket_of(
    buckets: &mut HashMap<IpAddr, Bucket>,
    source: IpAddr,
    (rate, burst): (f64, f64),
    now: Instant,
) -> &mut Bucket {
    if buckets.len() >= ENROLL_SOURCES_KEPT {
        buckets.retain(|_, b| !b.full(now));
    }
    buckets
        .entry(source)
        .or_insert_with(|| Bucket::new(rate, burst, now))
}

impl State {
    /// How many strangers `source` holds.
    fn held(&self, source: &IpAddr) -> usize {
        self.sources.get(source).map_or(0, |s| s.strangers.len())
    }

    /// Moves `source` in [`State::by_held`] from `before` to `after`.
    fn reindex(&mut self, source: IpAddr, before: usize, after: usize) {
        self.by_held.remove(&(before, source));
        if after > 0 {
            self.by_held.insert((after, source));
        }
    }

    fn add_stranger(&mut self, number: NonZeroU64, stranger: Stranger) {
        let key = stranger.source;
        let source = self.sources.entry(key).or_default();
        let before = source.strangers.len();
        source.strangers.insert(number);
        self.reindex(key, before, before + 1);
        self.strangers.insert(number, stranger);
    }

    /// Forgets stranger `number` if it still counts (not evicted), and
    /// gives it back (its descriptor is closed by the caller, after the
    /// lock).
    fn remove_stranger(&mut self, number: NonZeroU64) -> Option<Stranger> {
        let stranger = self.strangers.remove(&number)?;
        let key = stranger.source;
        if let Some(source) = self.sources.get_mut(&key) {
            let before = source.strangers.len();
            if source.strangers.remove(&number) {
                self.reindex(key, before, before - 1);
            }
        }
        Some(stranger)
    }

    /// The stranger to close so that one from a source holding `held`
    /// strangers gets in: the oldest [closable](Stranger::closable) one of the
    /// source holding the most, if it holds more than `held` (among up to
    /// [`EVICTION_CANDIDATES`] sources holding that many).
    ///
    /// So a source is refused for lack of room only while it holds as
    /// many strangers as any other: an attacker with many addresses can
    /// fill the room, but a device from anywhere else still gets in, and
    /// it is the attacker's oldest connection that makes way.
    fn eviction_for(&self, held: usize) -> Option<NonZeroU64> {
        let mut best: Option<(usize, NonZeroU64)> = None;
        let candidates = self
            .by_held
            .iter()
            .rev()
            .take_while(|(count, _)| *count > held)
            .take(EVICTION_CANDIDATES);
        for &(count, source) in candidates {
            if best.is_some_and(|(most, _)| most > count) {
                break;
            }
            let oldest = self.sources.get(&source).and_then(|s| {
                s.strangers
                    .iter()
                    .copied()
                    .find(|n| self.strangers.get(n).is_some_and(Stranger::closable))
            });
            if let Some(number) = oldest
                && best.is_none_or(|(_, older)| number < older)
            {
                best = Some((count, number));
            }
        }
        best.map(|(_, number)| number)
    }
}

impl Gate {
    pub(crate) fn new(limits: Limits) -> Self {
        let now = Instant::now();
        let rate = f64::from(limits.enroll_per_second);
        Self {
            state: Mutex::new(State {
                sources: HashMap::new(),
                strangers: HashMap::new(),
                by_held: BTreeSet::new(),
                last_admitted: 0,
                enroll: Bucket::new(rate, 2.0 * rate, now),
                enroll_by_source: HashMap::new(),
                hellos_by_source: HashMap::new(),
                evictions_by_source: HashMap::new(),
                ephemerals: RecentEphemerals::new(PER_GENERATION),
            }),
            limits,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a new, unauthenticated connection from `ip` on `socket`, or
    /// refuses it; when the strangers' room is full it may close an older
    /// stranger to make room ([`State::eviction_for`]), as often as the
    /// newcomer's source could fill its own share of the room once per
    /// handshake deadline.
    pub(crate) fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        socket: SockRef<'_>,
    ) -> Result<Admission, Refusal> {
        let key = source_of(ip);
        // Duplicated before the lock: no system call runs under it.
        let duplicate = socket.try_clone().ok();
        let now = Instant::now();
        let mut state = self.state();
        let connections = state.sources.get(&key).map_or(0, |s| s.connections);
        let held = state.held(&key);
        if connections >= self.limits.max_connections_per_source {
            return Err(Refusal::SourceConnections);
        }
        if held >= self.limits.max_unauthenticated_per_source {
            return Err(Refusal::SourceUnauthenticated);
        }
        let mut evicted = None;
        if state.strangers.len() >= self.limits.max_unauthenticated {
            let Some(number) = state.eviction_for(held) else {
                return Err(Refusal::Unauthenticated);
            };
            #[allow(clippy::cast_precision_loss)]
            let share = self.limits.max_unauthenticated_per_source as f64;
            let deadline = self.limits.handshake_timeout().as_secs_f64().max(1.0);
            let rate = (share / deadline, share);
            if !bucket_of(&mut state.evictions_by_source, key, rate, now).take(now) {
                return Err(Refusal::EvictionRateSource);
            }
            evicted = state.remove_stranger(number);
        }
        state.sources.entry(key).or_default().connections += 1;
        state.last_admitted += 1;
        let number = NonZeroU64::new(state.last_admitted).unwrap_or(NonZeroU64::MIN);
        let stranger = Stranger {
            source: key,
            socket: duplicate,
            authenticating: false,
        };
        state.add_stranger(number, stranger);
        drop(state);
        if let Some(evicted) = evicted {
            tracing::debug!(source = %evicted.source, "stranger evicted to make room");
            if let Some(socket) = evicted.socket {
                // Already closed by its peer: nothing to do.
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        Ok(Admission {
            gate: self.clone(),
            stranger: Some(number),
            ip,
            watched: None,
        })
    }

    /// Counts one enrollment attempt from `ip`; refused over either rate.
    pub(crate) fn enroll_attempt(&self, ip: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let per_minute = f64::from(self.limits.enroll_per_minute_per_source);
        let mut state = self.state();
        let rate = (per_minute / 60.0, per_minute);
        if !bucket_of(&mut state.enroll_by_source, source_of(ip), rate, now).take(now) {
            return Err(Refusal::EnrollRateSource);
        }
        if !state.enroll.take(now) {
            return Err(Refusal::EnrollRate);
        }
        Ok(())
    }
}

impl Gate {
    /// Counts one reconnect (an IK hello: X25519 work for the server) from
    /// `ip`, whose ephemeral key starts with `ephemeral`; refused over the
    /// source's rate, or when the key was seen before (a replay: a device
    /// draws a new one for every handshake). A source gets
    /// `hellos_per_second_per_source`, with ten seconds' worth saved up
    /// for devices behind one NAT coming back together.
    pub(crate) fn hello_attempt(
        &self,
        ip: IpAddr,
        ephemeral: Option<EphemeralPrefix>,
    ) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut state = self.state();
        if !self.hellos_of(&mut state, ip, now).take(now) {
            return Err(Refusal::HelloRateSource);
        }
        match ephemeral.is_none_or(|key| state.ephemerals.first_sight(key)) {
            true => Ok(()),
            false => Err(Refusal::ReplayedHello),
        }
    }

    /// A reconnect from `ip` failed to authenticate: its source pays
    /// [`FAILED_HELLO_COST`] hellos for it, so hellos that cost the server
    /// X25519 work and authenticate nobody (a replay with a new key, a
    /// made-up one) get a tenth of the rate a device's own get.
    pub(crate) fn hello_failed(&self, ip: IpAddr) {
        let now = Instant::now();
        let mut state = self.state();
        self.hellos_of(&mut state, ip, now)
            .spend(FAILED_HELLO_COST - 1.0, now);
    }

    fn hellos_of<'s>(&self, state: &'s mut State, ip: IpAddr, now: Instant) -> &'s mut Bucket {
        let rate = f64::from(self.limits.hellos_per_second_per_source);
        bucket_of(
            &mut state.hellos_by_source,
            source_of(ip),
            (rate, 10.0 * rate),
            now,
        )
    }
}

/// One admitted connection's slot; given back on drop.
pub(crate) struct Admission {
    gate: Arc<Gate>,
    /// Its number among the strangers until it authenticates.
    stranger: Option<NonZeroU64>,
    ip: IpAddr,
    /// Set when it authenticates, for whoever watches (an HTTP
    /// connection's socket, which bounds a stranger's bytes).
    watched: Option<Arc<AtomicBool>>,
}

impl Admission {
    /// A flag set once the connection authenticates (at once if it has).
    pub(crate) fn authentication(&mut self) -> Arc<AtomicBool> {
        let done = self.stranger.is_none();
        self.watched
            .get_or_insert_with(|| Arc::new(AtomicBool::new(done)))
            .clone()
    }

    /// The connection authenticated: it no longer counts as a stranger.
    pub(crate) fn authenticated(&mut self) {
        if let Some(flag) = &self.watched {
            flag.store(true, Ordering::Relaxed);
        }
        if let Some(number) = self.stranger.take() {
            let gone = self.gate.state().remove_stranger(number);
            // Its duplicate descriptor is closed here, after the lock.
            drop(gone);
        }
    }

    /// The connection's authenticating turn starts (`true`) or ended
    /// without authenticating it (`false`): meanwhile it is not closed to
    /// make room.
    pub(crate) fn authenticating(&mut self, running: bool) {
        if let Some(number) = self.stranger
            && let Some(stranger) = self.gate.state().strangers.get_mut(&number)
        {
            stranger.authenticating = running;
        }
    }

    /// The source address.
    pub(crate) fn ip(&self) -> IpAddr {
        self.ip
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut state = self.gate.state();
        let gone = self.stranger.take().and_then(|n| state.remove_stranger(n));
        let key = source_of(self.ip);
        let emptied = state.sources.get_mut(&key).is_some_and(|source| {
            source.connections = source.connections.saturating_sub(1);
            source.connections == 0
        });
        if emptied {
            state.sources.remove(&key);
        }
        // Its duplicate descriptor is closed after the lock.
        drop(state);
        drop(gone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    /// A loopback listener whose accepted sockets the gate admits, as the
    /// server's do; each admission comes with the peer's end and the
    /// accepted one (held, as a connection's task holds it).
    struct Sockets(TcpListener);

    type Admitted = (Admission, TcpStream, TcpStream);

    impl Sockets {
        fn new() -> Self {
            Self(TcpListener::bind("127.0.0.1:0").expect("bind"))
        }

        /// Admits a new connection as if from `ip`.
        fn admit(&self, gate: &Arc<Gate>, ip: IpAddr) -> Result<Admitted, Refusal> {
            let peer = TcpStream::connect(self.0.local_addr().expect("addr")).expect("connect");
            let (accepted, _) = self.0.accept().expect("accept");
            let admission = gate.admit(ip, SockRef::from(&accepted))?;
            Ok((admission, peer, accepted))
        }
    }

    /// Whether the server's side of `peer` was shut down (EOF at once).
    fn shut(peer: &mut TcpStream) -> bool {
        peer.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        matches!(peer.read(&mut [0u8; 1]), Ok(0))
    }

    #[test]
    fn an_ipv6_host_is_one_source_per_64_and_mapped_ipv4_is_ipv4() {
        let gate = Arc::new(Gate::new(limits()));
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        let sockets = Sockets::new();
        let first = sockets.admit(&gate, a).expect("first");
        let second = sockets.admit(&gate, b).expect("second");
        assert_eq!(
            sockets.admit(&gate, a).map(drop),
            Err(Refusal::SourceConnections),
            "the /64's two connections are taken"
        );
        assert!(
            sockets.admit(&gate, elsewhere).is_ok(),
            "another /64 is another source"
        );
        drop((first, second));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        let plain: IpAddr = [10, 0, 0, 1].into();
        let _one = sockets.admit(&gate, mapped).expect("mapped");
        let _two = sockets.admit(&gate, plain).expect("plain");
        assert_eq!(
            sockets.admit(&gate, plain).map(drop),
            Err(Refusal::SourceConnections)
        );
    }

    fn limits() -> Limits {
        Limits {
            max_unauthenticated: 3,
            max_connections_per_source: 2,
            max_unauthenticated_per_source: 2,
            enroll_per_second: 1,
            enroll_per_minute_per_source: 2,
            hellos_per_second_per_source: 1,
            ..Limits::DEFAULT
        }
    }

    #[test]
    fn reconnects_are_rate_limited_per_source() {
        let gate = Gate::new(limits());
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        for _ in 0..10 {
            assert_eq!(gate.hello_attempt(a, None), Ok(()), "ten seconds' worth");
        }
        assert_eq!(gate.hello_attempt(a, None), Err(Refusal::HelloRateSource));
        assert_eq!(
            gate.hello_attempt(b, None),
            Ok(()),
            "another source has its own"
        );
    }

    #[test]
    fn a_hello_seen_before_is_refused_from_any_source() {
        let gate = Gate::new(limits());
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(gate.hello_attempt(a, Some([1; 16])), Ok(()));
        assert_eq!(
            gate.hello_attempt(b, Some([1; 16])),
            Err(Refusal::ReplayedHello),
            "the same ephemeral key: a copy"
        );
        assert_eq!(gate.hello_attempt(b, Some([2; 16])), Ok(()));
    }

    #[test]
    fn a_failed_hello_costs_its_source_ten() {
        let gate = Gate::new(limits());
        let failing: IpAddr = [10, 0, 0, 1].into();
        let device: IpAddr = [10, 0, 0, 2].into();
        assert_eq!(gate.hello_attempt(failing, None), Ok(()));
        gate.hello_failed(failing);
        assert_eq!(
            gate.hello_attempt(failing, None),
            Err(Refusal::HelloRateSource),
            "the ten seconds' worth went on one failure"
        );
        for _ in 0..10 {
            assert_eq!(gate.hello_attempt(device, None), Ok(()));
        }
    }

    #[test]
    fn a_source_gets_its_share_and_no_more_and_slots_come_back() {
        let gate = Arc::new(Gate::new(limits()));
        let a: IpAddr = [10, 0, 0, 1].into();
        let sockets = Sockets::new();
        let first = sockets.admit(&gate, a).expect("first");
        let mut second = sockets.admit(&gate, a).expect("second");
        assert_eq!(
            sockets.admit(&gate, a).err(),
            Some(Refusal::SourceConnections)
        );
        second.0.authenticated();
        drop(first);
        // One slot back; the authenticated one still counts as a connection.
        let third = sockets.admit(&gate, a).expect("third");
        assert_eq!(
            sockets.admit(&gate, a).err(),
            Some(Refusal::SourceConnections)
        );
        drop((second, third));
        assert!(gate.state().sources.is_empty());
        assert!(gate.state().strangers.is_empty());
    }

    #[test]
    fn a_full_room_is_refused_to_a_source_holding_as_many_as_any() {
        let gate = Arc::new(Gate::new(limits()));
        let sockets = Sockets::new();
        let held: Vec<_> = (1..=3u8)
            .map(|i| {
                sockets
                    .admit(&gate, [10, 0, 0, i].into())
                    .expect("admitted")
            })
            .collect();
        assert_eq!(
            sockets.admit(&gate, [10, 0, 0, 1].into()).err(),
            Some(Refusal::Unauthenticated),
            "10.0.0.1 holds one, as every source does"
        );
        drop(held);
        assert!(sockets.admit(&gate, [10, 0, 0, 9].into()).is_ok());
    }

    #[test]
    fn a_newcomer_closes_the_oldest_stranger_of_the_source_holding_most() {
        let gate = Arc::new(Gate::new(limits()));
        let sockets = Sockets::new();
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            [10, 0, 0, 3].into(),
        );
        let mut a1 = sockets.admit(&gate, a).expect("a1");
        let mut a2 = sockets.admit(&gate, a).expect("a2");
        let mut b1 = sockets.admit(&gate, b).expect("b1");
        // Full. C holds none, A the most: A's oldest makes way.
        let c1 = sockets.admit(&gate, c).expect("c1 gets in");
        assert!(shut(&mut a1.1), "A's oldest stranger was closed");
        assert!(!shut(&mut a2.1), "A's newer one was not");
        assert!(!shut(&mut b1.1), "B's one was not");
        assert_eq!(gate.state().strangers.len(), 3);
        // Everyone holds one now: nobody else makes way.
        assert_eq!(
            sockets.admit(&gate, b).err(),
            Some(Refusal::Unauthenticated)
        );
        // An authenticated connection is never closed to make room, and
        // the closed one's admission, dropped late, counts nothing twice.
        b1.0.authenticated();
        drop(a1);
        let d1 = sockets
            .admit(&gate, [10, 0, 0, 4].into())
            .expect("d1 in the free room");
        // B holds no stranger, A, C and D one each: A's, the oldest, goes.
        let b2 = sockets.admit(&gate, b).expect("b2");
        assert!(shut(&mut a2.1), "A's remaining stranger made way");
        assert!(!shut(&mut b1.1), "B's authenticated connection stays");
        drop((a2, b1, b2, c1, d1));
        let state = gate.state();
        assert!(state.sources.is_empty() && state.strangers.is_empty());
        assert!(state.by_held.is_empty());
    }

    #[test]
    fn a_stranger_whose_handshake_the_store_is_working_on_is_not_closed() {
        let gate = Arc::new(Gate::new(limits()));
        let sockets = Sockets::new();
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            [10, 0, 0, 3].into(),
        );
        let mut a1 = sockets.admit(&gate, a).expect("a1");
        let mut a2 = sockets.admit(&gate, a).expect("a2");
        let _b1 = sockets.admit(&gate, b).expect("b1");
        a1.0.authenticating(true);
        let _c1 = sockets.admit(&gate, c).expect("c1 gets in");
        assert!(!shut(&mut a1.1), "A's oldest is authenticating: kept");
        assert!(shut(&mut a2.1), "A's next one made way");
        // Its turn ended without authenticating it: it may make way again.
        a1.0.authenticating(false);
        let _d1 = sockets.admit(&gate, [10, 0, 0, 4].into()).expect("d1");
        assert!(shut(&mut a1.1), "A's oldest made way this time");
    }

    #[test]
    fn a_source_closes_others_strangers_no_faster_than_its_share_per_deadline() {
        // A share of two: two evictions saved up, one more each 5 s.
        let gate = Arc::new(Gate::new(limits()));
        let sockets = Sockets::new();
        let ip = |i: u8| -> IpAddr { [10, 0, 0, i].into() };
        let _a1 = sockets.admit(&gate, ip(1)).expect("a1");
        let _a2 = sockets.admit(&gate, ip(1)).expect("a2");
        let mut b1 = sockets.admit(&gate, ip(2)).expect("b1");
        // C's newcomers each close one, leaving again to let another in.
        let mut fillers = Vec::new();
        for filler in [4, 5] {
            drop(sockets.admit(&gate, ip(3)).expect("C evicts"));
            fillers.push(sockets.admit(&gate, ip(filler)).expect("a free place"));
        }
        assert_eq!(gate.state().strangers.len(), 3, "the room is full again");
        assert_eq!(
            sockets.admit(&gate, ip(3)).err(),
            Some(Refusal::EvictionRateSource),
            "C spent what it had saved up"
        );
        assert!(!shut(&mut b1.1), "B's stranger was left alone");
    }

    #[test]
    fn enrollment_attempts_are_rate_limited_per_source_and_in_all() {
        let gate = Gate::new(limits());
        let a: IpAddr = [10, 0, 0, 1].into();
        assert!(gate.enroll_attempt(a).is_ok());
        assert!(gate.enroll_attempt(a).is_ok());
        assert_eq!(gate.enroll_attempt(a), Err(Refusal::EnrollRateSource));
        // The global bucket (burst 2) is spent by the two attempts above.
        assert_eq!(
            gate.enroll_attempt([10, 0, 0, 2].into()),
            Err(Refusal::EnrollRate)
        );
    }

    #[test]
    fn a_bucket_in_debt_says_how_long_to_wait() {
        let now = Instant::now();
        let mut bucket = Bucket::new(100.0, 100.0, now);
        bucket.spend(150.0, now);
        let wait = bucket.debt_wait(now);
        assert!(wait > Duration::from_millis(450) && wait <= Duration::from_millis(500));
        assert_eq!(
            bucket.debt_wait(now + Duration::from_secs(1)),
            Duration::ZERO
        );
    }
}
