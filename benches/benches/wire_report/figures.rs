//! Bytes on the wire per change: Tidings measured on its real code path,
//! JMAP and ActiveSync encoded from the very items Tidings delivered.

use crate::costs::{self, Change};
use crate::link::{Link, Mailbox};
use serde_json::{Value, json};
use tidings::proto::{CalendarItem, MailItem, ParticipationStatus};
use tidings::store::ItemStore;
use tidings_benches::peers::transport::Wire;

/// Sums of bytes over some changes, per protocol.
#[derive(Default)]
struct Tally {
    changes: usize,
    tidings: Wire,
    jmap: Wire,
    activesync: Wire,
    limit: usize,
}

impl Tally {
    fn add(&mut self, tidings: Wire, changes: &[Change<'_>], state: u64) {
        self.changes += changes.len();
        self.tidings += tidings;
        self.jmap += costs::jmap(changes, state);
        self.activesync += costs::activesync(changes, state);
        self.limit += costs::limit(changes);
    }

    /// Means per change.
    fn json(&self, id: &str, label: &str) -> Value {
        let n = self.changes.max(1) as f64;
        let wire = |w: Wire| {
            json!({
                "up": w.up as f64 / n,
                "down": w.down as f64 / n,
                "total": w.total() as f64 / n,
                "segments": w.segments as f64 / n,
            })
        };
        json!({
            "id": id,
            "label": label,
            "changes": self.changes,
            "tidings": wire(self.tidings),
            "jmap": wire(self.jmap),
            "activesync": wire(self.activesync),
            "limit": self.limit as f64 / n,
        })
    }
}

/// The same event after an update: a new version and sequence, and the
/// first attendee's answer (or, without attendees, a new location).
pub(crate) fn updated(item: &CalendarItem) -> CalendarItem {
    let mut changed = item.clone();
    changed.version += 1;
    if let Some(event) = changed.master.as_mut().or(changed.overrides.first_mut()) {
        event.sequence += 1;
        // Every client that changes an event stamps it anew (RFC 5545 DTSTAMP).
        event.dtstamp = "20261203T101500Z".into();
        match event.attendees.first_mut() {
            Some(a) => a.status = ParticipationStatus::Accepted as i32,
            None => event.location = "Town hall, room 2".into(),
        }
    }
    changed
}

/// One second on, and the peers' next state.
fn step(now: &mut u64, state: &mut u64) {
    *now += 1_000;
    *state += 1;
}

/// The mail figures alone, on `messages` (the small-body corpus' column).
pub(crate) fn mail_only(messages: &[Vec<u8>]) -> Vec<Value> {
    let (mut link, _) = Mailbox::new().enroll(7);
    let (mut now, mut state) = (1_000, 1_000u64);
    mail_figures(&mut link, &mut now, &mut state, messages)
}

/// Every per-change figure, plus the keepalive and a reconnect.
pub(crate) fn per_change(messages: &[Vec<u8>], events: &[CalendarItem]) -> Vec<Value> {
    let (mut link, _) = Mailbox::new().enroll(7);
    let (mut now, mut state) = (1_000, 1_000u64);
    let mut figures = mail_figures(&mut link, &mut now, &mut state, messages);
    calendar_and_idle(&mut link, &mut now, &mut state, events, &mut figures);
    figures
}

/// New mail and flag changes, alone and in batches of 50.
fn mail_figures(
    link: &mut Link,
    now: &mut u64,
    state: &mut u64,
    messages: &[Vec<u8>],
) -> Vec<Value> {
    let inbox = link.mailbox.inbox;
    let mut figures = Vec::new();

    let mut tally = Tally::default();
    let mut delivered = Vec::new();
    for raw in messages {
        let mail = link.mailbox.deliver(raw);
        step(now, state);
        let wire = link.push(*now);
        tally.add(wire, &[Change::NewMail(&mail)], *state);
        delivered.push(mail);
    }
    figures.push(tally.json(
        "new_mail",
        "New mail (headers + 2 KB preview), pushed alone",
    ));

    let mut tally = Tally::default();
    for mail in &delivered {
        link.mailbox
            .store
            .set_flags(inbox, mail.id, 1)
            .expect("live item");
        step(now, state);
        let wire = link.push(*now);
        tally.add(wire, &[Change::Flags(mail.id, 1)], *state);
    }
    figures.push(tally.json("flag_change", "Flag change (read), pushed alone"));

    let batch: Vec<MailItem> = messages
        .iter()
        .cycle()
        .take(50)
        .map(|raw| link.mailbox.deliver(raw))
        .collect();
    step(now, state);
    let wire = link.push(*now);
    let changes: Vec<Change<'_>> = batch.iter().map(Change::NewMail).collect();
    let mut tally = Tally::default();
    tally.add(wire, &changes, *state);
    figures.push(tally.json("new_mail_batch", "New mail, in a batch of 50"));

    for mail in &batch {
        link.mailbox
            .store
            .set_flags(inbox, mail.id, 1)
            .expect("live item");
    }
    step(now, state);
    let wire = link.push(*now);
    let changes: Vec<Change<'_>> = batch.iter().map(|m| Change::Flags(m.id, 1)).collect();
    let mut tally = Tally::default();
    tally.add(wire, &changes, *state);
    figures.push(tally.json("flag_change_batch", "Flag change, in a batch of 50"));

    figures
}

/// Calendar figures, then the keepalive and a reconnect.
fn calendar_and_idle(
    link: &mut Link,
    now: &mut u64,
    state: &mut u64,
    events: &[CalendarItem],
    figures: &mut Vec<Value>,
) {
    let mut tally = Tally::default();
    let mut stored = Vec::new();
    for event in events {
        let item = link.mailbox.put_event(event.clone(), None);
        step(now, state);
        let wire = link.push(*now);
        tally.add(wire, &[Change::NewEvent(&item)], *state);
        stored.push(item);
    }
    figures.push(tally.json("new_event", "New calendar event, pushed alone"));

    let mut tally = Tally::default();
    let mut changed = Vec::new();
    for item in &stored {
        let update = link.mailbox.put_event(updated(item), Some(item.id));
        step(now, state);
        let wire = link.push(*now);
        tally.add(wire, &[Change::ChangedEvent(&update)], *state);
        changed.push(update);
    }
    figures.push(tally.json(
        "calendar_change",
        "Calendar change (an answer or a move), pushed alone",
    ));

    let batch: Vec<CalendarItem> = changed
        .iter()
        .take(50)
        .map(|item| link.mailbox.put_event(updated(item), Some(item.id)))
        .collect();
    step(now, state);
    let wire = link.push(*now);
    let changes: Vec<Change<'_>> = batch.iter().map(Change::ChangedEvent).collect();
    let mut tally = Tally::default();
    tally.add(wire, &changes, *state);
    figures.push(tally.json(
        "calendar_change_batch",
        &format!("Calendar change, in a batch of {}", batch.len()),
    ));

    // Both sides idle past the keepalive interval: the server's keepalive,
    // one way (sync.md §5.4; the device only listens).
    let interval = tidings::session::Timers::default().keepalive_ms;
    *now += interval;
    let keepalive = link.timers(*now);
    assert!(keepalive.up == 0 && keepalive.down > 0, "{keepalive:?}");
    let jmap = costs::jmap_keepalive(interval / 1000);
    let activesync = costs::activesync_keepalive();
    let wire =
        |w: Wire| json!({"up": w.up, "down": w.down, "total": w.total(), "segments": w.segments});
    figures.push(json!({
        "id": "keepalive",
        "label": "Keepalive, per interval when idle (down + up; one way, the device sends none)",
        "changes": 1,
        "tidings": wire(keepalive),
        "jmap": wire(jmap),
        "activesync": wire(activesync),
        "activesync_field": costs::ACTIVESYNC_HEARTBEAT_FIELD,
        "limit": costs::SEAL,
    }));

    *now += 1_000;
    let reconnect = link.reconnect(*now);
    figures.push(json!({
        "id": "reconnect",
        "label": "Reconnect (Noise IK resume, nothing missed)",
        "changes": 1,
        "tidings": wire(reconnect),
    }));
}

/// An initial sync of 1,000 mails (the real messages, cycled): the
/// enrollment's bytes with the mails, less those without them.
pub(crate) fn initial_sync(messages: &[Vec<u8>]) -> Value {
    let (_, without) = Mailbox::new().enroll(9);
    let mut mailbox = Mailbox::new();
    let mails: Vec<MailItem> = messages
        .iter()
        .cycle()
        .take(1000)
        .map(|raw| mailbox.deliver(raw))
        .collect();
    let (_, with) = mailbox.enroll(9);
    let tidings = Wire {
        up: with.up - without.up,
        down: with.down - without.down,
        segments: 0,
    };
    let changes: Vec<Change<'_>> = mails.iter().map(Change::NewMail).collect();
    let wire =
        |w: Wire| json!({"up": w.up, "down": w.down, "total": w.total(), "segments": w.segments});
    json!({
        "id": "initial_sync",
        "label": "Initial sync of 1,000 mails",
        "changes": mails.len(),
        "tidings": wire(tidings),
        "tidings_enrollment": wire(without),
        "jmap": wire(costs::jmap_initial(&mails, 2_000)),
        "activesync": wire(costs::activesync_initial(&mails)),
        "limit": costs::limit(&changes),
    })
}
