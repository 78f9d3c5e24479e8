//! What a stranger may cost before it authenticates: connections per source
//! address, unauthenticated connections in all and per source, and the rate
//! of enrollment attempts in all and per source.
//!
//! Every connection, raw TCP or HTTP (and the WebSocket it may become),
//! holds an [`Admission`] for its whole life; dropping it gives the slot
//! back.

use super::limits::Limits;
use std::collections::HashMap;
use std::net::IpAddr;
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

    /// Whether the bucket holds all it can.
    pub(crate) fn full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst
    }
}

#[derive(Default)]
struct Source {
    connections: usize,
    unauthenticated: usize,
}

struct State {
    sources: HashMap<IpAddr, Source>,
    unauthenticated: usize,
    enroll: Bucket,
    /// Kept apart from `sources`: a source's budget must outlive its
    /// connections, or reconnecting would refill it.
    enroll_by_source: HashMap<IpAddr, Bucket>,
    /// Reconnects (IK hellos) per source, kept the same way.
    hellos_by_source: HashMap<IpAddr, Bucket>,
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
}

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

impl Gate {
    pub(crate) fn new(limits: Limits) -> Self {
        let now = Instant::now();
        let rate = f64::from(limits.enroll_per_second);
        Self {
            state: Mutex::new(State {
                sources: HashMap::new(),
                unauthenticated: 0,
                enroll: Bucket::new(rate, 2.0 * rate, now),
                enroll_by_source: HashMap::new(),
                hellos_by_source: HashMap::new(),
            }),
            limits,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a new, unauthenticated connection from `ip`, or refuses it.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admission, Refusal> {
        let mut state = self.state();
        if state.unauthenticated >= self.limits.max_unauthenticated {
            return Err(Refusal::Unauthenticated);
        }
        let source = state.sources.entry(source_of(ip)).or_default();
        if source.connections >= self.limits.max_connections_per_source {
            return Err(Refusal::SourceConnections);
        }
        if source.unauthenticated >= self.limits.max_unauthenticated_per_source {
            return Err(Refusal::SourceUnauthenticated);
        }
        source.connections += 1;
        source.unauthenticated += 1;
        state.unauthenticated += 1;
        Ok(Admission {
            gate: self.clone(),
            ip,
            authenticated: false,
        })
    }

    /// Counts one enrollment attempt from `ip`; refused over either rate.
    pub(crate) fn enroll_attempt(&self, ip: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let per_minute = f64::from(self.limits.enroll_per_minute_per_source);
        let mut state = self.state();
        if state.enroll_by_source.len() >= ENROLL_SOURCES_KEPT {
            state.enroll_by_source.retain(|_, b| !b.full(now));
        }
        let source = state
            .enroll_by_source
            .entry(source_of(ip))
            .or_insert_with(|| Bucket::new(per_minute / 60.0, per_minute, now));
        if !source.take(now) {
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
    /// `ip`; refused over the source's rate. A replayed stale hello costs
    /// its sender nothing and the server four X25519 operations, so a
    /// source gets `hellos_per_second_per_source`, with ten seconds' worth
    /// saved up for devices behind one NAT coming back together.
    pub(crate) fn hello_attempt(&self, ip: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let rate = f64::from(self.limits.hellos_per_second_per_source);
        let mut state = self.state();
        if state.hellos_by_source.len() >= ENROLL_SOURCES_KEPT {
            state.hellos_by_source.retain(|_, b| !b.full(now));
        }
        let source = state
            .hellos_by_source
            .entry(source_of(ip))
            .or_insert_with(|| Bucket::new(rate, 10.0 * rate, now));
        match source.take(now) {
            true => Ok(()),
            false => Err(Refusal::HelloRateSource),
        }
    }
}

/// One admitted connection's slot; given back on drop.
pub(crate) struct Admission {
    gate: Arc<Gate>,
    ip: IpAddr,
    authenticated: bool,
}

impl Admission {
    /// The connection authenticated: it no longer counts as a stranger.
    pub(crate) fn authenticated(&mut self) {
        if self.authenticated {
            return;
        }
        self.authenticated = true;
        let mut state = self.gate.state();
        state.unauthenticated = state.unauthenticated.saturating_sub(1);
        if let Some(source) = state.sources.get_mut(&source_of(self.ip)) {
            source.unauthenticated = source.unauthenticated.saturating_sub(1);
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
        if !self.authenticated {
            state.unauthenticated = state.unauthenticated.saturating_sub(1);
        }
        let key = source_of(self.ip);
        let emptied = state.sources.get_mut(&key).is_some_and(|source| {
            source.connections = source.connections.saturating_sub(1);
            if !self.authenticated {
                source.unauthenticated = source.unauthenticated.saturating_sub(1);
            }
            source.connections == 0
        });
        if emptied {
            state.sources.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_ipv6_host_is_one_source_per_64_and_mapped_ipv4_is_ipv4() {
        let gate = Arc::new(Gate::new(limits()));
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        let first = gate.admit(a).expect("first");
        let second = gate.admit(b).expect("second");
        assert_eq!(
            gate.admit(a).map(drop),
            Err(Refusal::SourceConnections),
            "the /64's two connections are taken"
        );
        assert!(
            gate.admit(elsewhere).is_ok(),
            "another /64 is another source"
        );
        drop((first, second));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().expect("ip");
        let plain: IpAddr = [10, 0, 0, 1].into();
        let _one = gate.admit(mapped).expect("mapped");
        let _two = gate.admit(plain).expect("plain");
        assert_eq!(gate.admit(plain).map(drop), Err(Refusal::SourceConnections));
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
            assert_eq!(gate.hello_attempt(a), Ok(()), "ten seconds' worth");
        }
        assert_eq!(gate.hello_attempt(a), Err(Refusal::HelloRateSource));
        assert_eq!(gate.hello_attempt(b), Ok(()), "another source has its own");
    }

    #[test]
    fn a_source_gets_its_share_and_no_more_and_slots_come_back() {
        let gate = Arc::new(Gate::new(limits()));
        let a: IpAddr = [10, 0, 0, 1].into();
        let first = gate.admit(a).expect("first");
        let mut second = gate.admit(a).expect("second");
        assert_eq!(gate.admit(a).err(), Some(Refusal::SourceConnections));
        second.authenticated();
        drop(first);
        // One slot back; the authenticated one still counts as a connection.
        let third = gate.admit(a).expect("third");
        assert_eq!(gate.admit(a).err(), Some(Refusal::SourceConnections));
        drop((second, third));
        assert!(gate.state().sources.is_empty());
        assert_eq!(gate.state().unauthenticated, 0);
    }

    #[test]
    fn strangers_in_all_are_capped_across_sources() {
        let gate = Arc::new(Gate::new(limits()));
        let held: Vec<_> = (1..=3u8)
            .map(|i| gate.admit([10, 0, 0, i].into()).expect("admitted"))
            .collect();
        assert_eq!(
            gate.admit([10, 0, 0, 9].into()).err(),
            Some(Refusal::Unauthenticated)
        );
        drop(held);
        assert!(gate.admit([10, 0, 0, 9].into()).is_ok());
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
