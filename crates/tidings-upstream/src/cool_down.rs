//! Which device writes go upstream now and which fail at once: the memory
//! of upstreams that failed a write slowly (see
//! [`crate::device_writes`] for why).
//!
//! An account's upstream that failed a write slowly cools down: its next
//! writes fail at once for [`FIRST_COOL_DOWN`], doubling with each slow
//! failure in a row up to [`MAX_COOL_DOWN`]. Every account of a gateway
//! shares one IMAP server and one CalDAV server, so when one is down each
//! account would still pay one bounded wait of its own: once two different
//! accounts have failed slowly on one server with no success between, the
//! whole server cools down the same way (two within [`MAX_COOL_DOWN`] of
//! each other). One account alone (a user whose own mailbox makes the
//! upstream slow) cannot cool others' writes. Failures count against the
//! account the write goes to: a delegate writing into others' folders
//! counts as each of their owners. Any success on a server ends its
//! cool-down and the account's.
//!
//! Pure bookkeeping: times are inputs.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long an upstream's writes fail at once after a slow failure.
pub const FIRST_COOL_DOWN: Duration = Duration::from_secs(15);
/// The longest cool-down, after slow failures in a row.
pub const MAX_COOL_DOWN: Duration = Duration::from_secs(300);

/// One account's upstream (by principal id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Upstream {
    Imap(u64),
    CalDav(u64),
}

/// The server an account's upstream is on: one of each per gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Server {
    Imap,
    CalDav,
}

impl Upstream {
    fn server(self) -> Server {
        match self {
            Upstream::Imap(_) => Server::Imap,
            Upstream::CalDav(_) => Server::CalDav,
        }
    }
}

/// An upstream (or a server) cooling down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cooling {
    /// Slow failures in a row.
    failures: u32,
    /// When its next write may go upstream.
    until: Instant,
}

impl Cooling {
    /// After one more slow failure at `now`: failures count in a row while
    /// each comes within [`MAX_COOL_DOWN`] of the last cool-down's end, so
    /// an upstream that failed once yesterday starts again from the first.
    fn failed_again(previous: Option<Cooling>, now: Instant) -> Cooling {
        let failures = match previous {
            Some(p) if now < p.until + MAX_COOL_DOWN => p.failures.saturating_add(1),
            _ => 1,
        };
        Cooling {
            failures,
            until: now + cool_down(failures),
        }
    }
}

/// The cool-down after `failures` in a row: doubling, at most the maximum.
fn cool_down(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    FIRST_COOL_DOWN
        .saturating_mul(1 << doublings)
        .min(MAX_COOL_DOWN)
}

#[derive(Debug, Default)]
struct ServerStanding {
    /// The account whose slow failure came last, with no success since,
    /// and when.
    suspect: Option<(Upstream, Instant)>,
    cooling: Option<Cooling>,
}

/// The cool-downs of every account's upstreams and of the servers.
#[derive(Debug, Default)]
pub(crate) struct CoolDowns {
    accounts: HashMap<Upstream, Cooling>,
    servers: HashMap<Server, ServerStanding>,
}

impl CoolDowns {
    /// Whether a write to `upstream` must fail at once at `now`.
    pub(crate) fn refuses(&self, upstream: Upstream, now: Instant) -> bool {
        let cooling = |c: Option<&Cooling>| c.is_some_and(|c| now < c.until);
        cooling(self.accounts.get(&upstream))
            || cooling(
                self.servers
                    .get(&upstream.server())
                    .and_then(|s| s.cooling.as_ref()),
            )
    }

    /// A write to `upstream` succeeded: it and its server are well.
    pub(crate) fn succeeded(&mut self, upstream: Upstream) {
        self.accounts.remove(&upstream);
        self.servers.remove(&upstream.server());
    }

    /// A write to `upstream` failed slowly at `now`; returns how long its
    /// writes now fail at once.
    pub(crate) fn failed_slowly(&mut self, upstream: Upstream, now: Instant) -> Duration {
        let account = Cooling::failed_again(self.accounts.get(&upstream).copied(), now);
        self.accounts.insert(upstream, account);
        let server = self.servers.entry(upstream.server()).or_default();
        // Another account's slow failure counts within `MAX_COOL_DOWN`:
        // two failures a day apart say nothing about the server.
        let recent =
            |(other, at): (Upstream, Instant)| other != upstream && now < at + MAX_COOL_DOWN;
        if server.suspect.is_some_and(recent) {
            server.cooling = Some(Cooling::failed_again(server.cooling, now));
        }
        server.suspect = Some((upstream, now));
        let until = server
            .cooling
            .map_or(account.until, |s| s.until.max(account.until));
        until.saturating_duration_since(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cool_downs_double_with_failures_in_a_row_up_to_the_maximum() {
        assert_eq!(cool_down(1), FIRST_COOL_DOWN);
        assert_eq!(cool_down(2), FIRST_COOL_DOWN * 2);
        assert_eq!(cool_down(3), FIRST_COOL_DOWN * 4);
        assert_eq!(cool_down(6), MAX_COOL_DOWN);
        assert_eq!(cool_down(u32::MAX), MAX_COOL_DOWN);
    }

    #[test]
    fn slow_failures_count_in_a_row_only_while_they_come_close_together() {
        let start = Instant::now();
        let first = Cooling::failed_again(None, start);
        assert_eq!((first.failures, first.until), (1, start + FIRST_COOL_DOWN));
        // Failing again as soon as the cool-down ends: the second in a row.
        let second = Cooling::failed_again(Some(first), first.until);
        assert_eq!(second.failures, 2);
        assert_eq!(second.until, first.until + FIRST_COOL_DOWN * 2);
        // Failing again long after: counted from the first again.
        let later = second.until + MAX_COOL_DOWN;
        let again = Cooling::failed_again(Some(second), later);
        assert_eq!((again.failures, again.until), (1, later + FIRST_COOL_DOWN));
    }

    #[test]
    fn one_account_cools_alone_and_two_cool_their_server() {
        let now = Instant::now();
        let mut cool = CoolDowns::default();
        let (mayor, chief, clerk) = (Upstream::Imap(1), Upstream::Imap(2), Upstream::Imap(3));
        // One account, however often: the others still go upstream.
        cool.failed_slowly(mayor, now);
        let later = now + FIRST_COOL_DOWN;
        cool.failed_slowly(mayor, later);
        assert!(cool.refuses(mayor, later));
        assert!(!cool.refuses(chief, later), "one account cools only itself");
        // A second account fails slowly: the server cools, for everyone.
        assert_eq!(cool.failed_slowly(chief, later), FIRST_COOL_DOWN);
        assert!(cool.refuses(clerk, later));
        assert!(
            !cool.refuses(Upstream::CalDav(3), later),
            "the CalDAV server is another"
        );
        assert!(!cool.refuses(clerk, later + FIRST_COOL_DOWN));
        // Still down: the next account's slow failure doubles it.
        let again = later + FIRST_COOL_DOWN;
        assert_eq!(cool.failed_slowly(clerk, again), FIRST_COOL_DOWN * 2);
        // A success anywhere on the server ends the server's cool-down.
        cool.succeeded(Upstream::Imap(4));
        assert!(!cool.refuses(mayor, again + FIRST_COOL_DOWN));
        assert!(cool.refuses(clerk, again), "the account's own stays");
        // And one account failing after it cools only itself again.
        cool.failed_slowly(chief, again);
        assert!(!cool.refuses(Upstream::Imap(5), again));
    }

    #[test]
    fn two_accounts_failing_far_apart_do_not_cool_their_server() {
        let now = Instant::now();
        let mut cool = CoolDowns::default();
        cool.failed_slowly(Upstream::CalDav(1), now);
        let much_later = now + MAX_COOL_DOWN * 2;
        assert_eq!(
            cool.failed_slowly(Upstream::CalDav(2), much_later),
            FIRST_COOL_DOWN
        );
        assert!(!cool.refuses(Upstream::CalDav(3), much_later));
    }
}
