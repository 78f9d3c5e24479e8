//! A councillor's working day, 08:00 to 18:00, on a handset that stays
//! connected: new mail arrives, most of it is read on another device (the
//! read flag reaches the handset), some is flagged, and calendar events are
//! updated or newly invited. Tidings runs it on its real sessions with their
//! real keepalive timers; JMAP and ActiveSync get the same changes at the
//! same times and a keepalive after the same idle interval.

use crate::costs::{self, Change};
use crate::figures::updated;
use crate::link::{Link, Mailbox};
use serde_json::{Value, json};
use tidings::proto::{CalendarItem, MailItem};
use tidings::store::ItemStore;
use tidings_benches::peers::transport::Wire;

/// Length of the day.
pub(crate) const HOURS: u64 = 10;
/// New mails over the day.
pub(crate) const NEW_MAILS: usize = 60;
/// Every mail but each fourth is read (elsewhere) 2 to 90 minutes after it
/// arrives.
pub(crate) const UNREAD_EVERY: usize = 4;
/// Each tenth mail is flagged for follow-up 5 to 60 minutes after it arrives.
pub(crate) const FLAGGED_EVERY: usize = 10;
/// Events in the calendar before the day starts.
pub(crate) const SEEDED_EVENTS: usize = 10;
/// Updates of those events during the day (moved, or an answer arrives).
pub(crate) const UPDATED_EVENTS: usize = 8;
/// New invitations during the day.
pub(crate) const NEW_EVENTS: usize = 4;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Mail(usize),
    Read(usize),
    Flag(usize),
    NewEvent(usize),
    UpdateEvent(usize),
}

/// A deterministic generator (PCG-style LCG), so every run plans the same day.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn plan() -> Vec<(u64, Kind)> {
    let end = HOURS * 3600;
    let mut rng = Lcg(0x7d1d_1265);
    let mut arrivals: Vec<u64> = (0..NEW_MAILS).map(|_| 60 + rng.below(end - 120)).collect();
    arrivals.sort_unstable();
    let mut plan = Vec::new();
    for (n, &at) in arrivals.iter().enumerate() {
        plan.push((at, Kind::Mail(n)));
        if n % UNREAD_EVERY != UNREAD_EVERY - 1 {
            plan.push((at + 120 + rng.below(88 * 60), Kind::Read(n)));
        }
        if n % FLAGGED_EVERY == FLAGGED_EVERY - 1 {
            plan.push((at + 300 + rng.below(55 * 60), Kind::Flag(n)));
        }
    }
    for n in 0..UPDATED_EVENTS {
        plan.push((
            60 + rng.below(end - 120),
            Kind::UpdateEvent(n % SEEDED_EVENTS),
        ));
    }
    for n in 0..NEW_EVENTS {
        plan.push((60 + rng.below(end - 120), Kind::NewEvent(n)));
    }
    plan.retain(|(at, _)| *at < end);
    plan.sort_by_key(|(at, _)| *at);
    plan
}

/// One protocol's day: cumulative bytes after each transfer, and totals.
#[derive(Default)]
struct Series {
    points: Vec<(u64, usize)>,
    mail: usize,
    flags: usize,
    calendar: usize,
    keepalive: usize,
    last_traffic: u64,
}

impl Series {
    fn total(&self) -> usize {
        self.mail + self.flags + self.calendar + self.keepalive
    }

    fn record(&mut self, at: u64, wire: Wire, kind: Option<Kind>) {
        let bytes = wire.total();
        match kind {
            None => self.keepalive += bytes,
            Some(Kind::Mail(_)) => self.mail += bytes,
            Some(Kind::Read(_) | Kind::Flag(_)) => self.flags += bytes,
            Some(Kind::NewEvent(_) | Kind::UpdateEvent(_)) => self.calendar += bytes,
        }
        self.points.push((at, self.total()));
        self.last_traffic = at;
    }

    /// Keepalives after every `interval` seconds of silence, up to `until`.
    fn idle_until(&mut self, until: u64, interval: u64, keepalive: Wire) {
        while self.last_traffic + interval <= until {
            let at = self.last_traffic + interval;
            self.record(at, keepalive, None);
        }
    }

    fn json(&self, name: &str) -> Value {
        json!({
            "name": name,
            "points": self.points,
            "mail": self.mail,
            "flags": self.flags,
            "calendar": self.calendar,
            "keepalive": self.keepalive,
            "total": self.total(),
        })
    }
}

/// Fires Tidings' timers (keepalives) due up to `until_ms`.
fn timers_until(link: &mut Link, tidings: &mut Series, until_ms: u64) {
    let mut last = None;
    loop {
        let next = link.next_timer();
        if next > until_ms {
            break;
        }
        assert!(last < Some(next), "timers do not advance");
        last = Some(next);
        let wire = link.timers(next);
        if wire.total() > 0 {
            tidings.record(next / 1000, wire, None);
        }
    }
}

/// Runs the day; `events` must hold at least `SEEDED_EVENTS + NEW_EVENTS`.
pub(crate) fn run(messages: &[Vec<u8>], events: &[CalendarItem]) -> Value {
    let plan = plan();
    let end = HOURS * 3600;
    let interval_ms = tidings::session::Timers::default().keepalive_ms;
    let interval = interval_ms / 1000;

    let mut mailbox = Mailbox::new();
    let mut seeded: Vec<CalendarItem> = events
        .iter()
        .cycle()
        .take(SEEDED_EVENTS)
        .map(|e| mailbox.put_event(e.clone(), None))
        .collect();
    let (mut link, _) = mailbox.enroll(11);
    let inbox = link.mailbox.inbox;

    let (mut tidings, mut jmap, mut activesync) =
        (Series::default(), Series::default(), Series::default());
    let (jmap_keepalive, activesync_keepalive) = (
        costs::jmap_keepalive(interval),
        costs::activesync_keepalive(),
    );
    let mut mails: Vec<(MailItem, u32)> = Vec::new();
    let mut state = 5_000;

    for (at, kind) in plan {
        let at_ms = at * 1000;
        timers_until(&mut link, &mut tidings, at_ms);
        jmap.idle_until(at, interval, jmap_keepalive);
        activesync.idle_until(at, interval, activesync_keepalive);
        let (mail, event);
        let change = match kind {
            Kind::Mail(n) => {
                mail = link.mailbox.deliver(&messages[n % messages.len()]);
                mails.push((mail.clone(), 0));
                Change::NewMail(&mail)
            }
            Kind::Read(n) | Kind::Flag(n) => {
                let bit = if matches!(kind, Kind::Read(_)) { 1 } else { 2 };
                let (held, flags) = &mut mails[n];
                *flags |= bit;
                link.mailbox
                    .store
                    .set_flags(inbox, held.id, *flags)
                    .expect("live item");
                Change::Flags(held.id, *flags)
            }
            Kind::NewEvent(n) => {
                let invitation = &events[(SEEDED_EVENTS + n) % events.len()];
                event = link.mailbox.put_event(invitation.clone(), None);
                Change::NewEvent(&event)
            }
            Kind::UpdateEvent(n) => {
                let id = seeded[n].id;
                seeded[n] = link.mailbox.put_event(updated(&seeded[n]), Some(id));
                event = seeded[n].clone();
                Change::ChangedEvent(&event)
            }
        };
        state += 1;
        tidings.record(at, link.push(at_ms), Some(kind));
        jmap.record(at, costs::jmap(&[change], state), Some(kind));
        activesync.record(at, costs::activesync(&[change], state), Some(kind));
    }
    timers_until(&mut link, &mut tidings, end * 1000);
    jmap.idle_until(end, interval, jmap_keepalive);
    activesync.idle_until(end, interval, activesync_keepalive);

    let reads = (0..NEW_MAILS)
        .filter(|n| n % UNREAD_EVERY != UNREAD_EVERY - 1)
        .count();
    let flagged = (0..NEW_MAILS)
        .filter(|n| n % FLAGGED_EVERY == FLAGGED_EVERY - 1)
        .count();
    json!({
        "start_hour": 8,
        "hours": HOURS,
        "keepalive_seconds": interval,
        "mix": {
            "new_mails": NEW_MAILS,
            "read_elsewhere": reads,
            "flagged": flagged,
            "calendar_updates": UPDATED_EVENTS,
            "calendar_invitations": NEW_EVENTS,
        },
        "protocols": [
            tidings.json("Tidings"),
            jmap.json("JMAP"),
            activesync.json("ActiveSync"),
        ],
    })
}
