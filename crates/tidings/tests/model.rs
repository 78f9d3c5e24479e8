//! Model-based convergence: random schedules of server changes, client
//! operations, frame delivery, drops, duplicates and reordering, disconnects,
//! client crashes (restore from saved bytes) and server restarts (store kept).
//!
//! Calendar items change on both sides (answers and moves made by the server,
//! answers and edits sent by the device, with their version checks), so
//! changed items travel as patches (sync.md §3.1) as well as whole.
//!
//! After every schedule the link is healed and the test asserts: the client's
//! replica equals the server's view of what the device may see; every
//! operation was applied exactly once (creates are not idempotent, so a double
//! apply would show); cursors of a live client only moved forward; the outbox
//! is empty. `cargo xtask test` runs 1,000 schedules; more with
//! `PROPTEST_CASES=100000 cargo test --release -p tidings --test model`.

mod town;

use proptest::prelude::*;
use std::collections::{BTreeMap, VecDeque};
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{
    self, CalendarItem, CalendarTime, CreateEvent, Item, ParticipationStatus, RespondToInvitation,
    SetFlags, UpdateEvent, item, operation::Kind,
};
use tidings::session::{ClientConfig, ClientSession, ClientState, ServerSession};
use tidings::store::{Directory, ItemStore};
use tidings::sync::ReplicaItem;
use town::*;

#[derive(Clone, Debug)]
enum Action {
    NewMail {
        visible: bool,
    },
    ServerFlags {
        pick: prop::sample::Index,
        flags: u32,
    },
    ServerRemove {
        pick: prop::sample::Index,
    },
    CreateEvent {
        own_calendar: bool,
    },
    /// An attendee's answer or a move, made on the server.
    ServerEventChange {
        own_calendar: bool,
        pick: prop::sample::Index,
        change: u8,
    },
    /// The device answers for the calendar's owner.
    Respond {
        own_calendar: bool,
        pick: prop::sample::Index,
        status: u8,
    },
    /// The device moves an event it holds (a conflict if it is stale).
    UpdateEvent {
        own_calendar: bool,
        pick: prop::sample::Index,
        hour: u8,
    },
    SetFlags {
        pick: prop::sample::Index,
        flags: u32,
    },
    Deliver {
        to_server: bool,
        count: usize,
    },
    Drop {
        to_server: bool,
    },
    Duplicate {
        to_server: bool,
    },
    Swap {
        to_server: bool,
    },
    Push,
    Connect,
    Disconnect,
    Crash,
    Save,
    ServerRestart,
    Compact,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => any::<bool>().prop_map(|visible| Action::NewMail { visible }),
        2 => (any::<prop::sample::Index>(), 0u32..8).prop_map(|(pick, flags)| Action::ServerFlags { pick, flags }),
        1 => any::<prop::sample::Index>().prop_map(|pick| Action::ServerRemove { pick }),
        2 => any::<bool>().prop_map(|own_calendar| Action::CreateEvent { own_calendar }),
        4 => (any::<bool>(), any::<prop::sample::Index>(), any::<u8>())
            .prop_map(|(own_calendar, pick, change)| Action::ServerEventChange { own_calendar, pick, change }),
        1 => (any::<bool>(), any::<prop::sample::Index>(), 1u8..5)
            .prop_map(|(own_calendar, pick, status)| Action::Respond { own_calendar, pick, status }),
        1 => (any::<bool>(), any::<prop::sample::Index>(), 0u8..24)
            .prop_map(|(own_calendar, pick, hour)| Action::UpdateEvent { own_calendar, pick, hour }),
        2 => (any::<prop::sample::Index>(), 0u32..8).prop_map(|(pick, flags)| Action::SetFlags { pick, flags }),
        8 => (any::<bool>(), 1usize..6).prop_map(|(to_server, count)| Action::Deliver { to_server, count }),
        1 => any::<bool>().prop_map(|to_server| Action::Drop { to_server }),
        1 => any::<bool>().prop_map(|to_server| Action::Duplicate { to_server }),
        1 => any::<bool>().prop_map(|to_server| Action::Swap { to_server }),
        2 => Just(Action::Push),
        2 => Just(Action::Connect),
        1 => Just(Action::Disconnect),
        1 => Just(Action::Crash),
        2 => Just(Action::Save),
        1 => Just(Action::ServerRestart),
        1 => Just(Action::Compact),
    ]
}

struct Link {
    client: ClientSession,
    server: ServerSession,
    to_server: VecDeque<Vec<u8>>,
    to_client: VecDeque<Vec<u8>>,
}

struct World {
    town: Town,
    /// The client's state while no session holds it.
    offline: Option<ClientState>,
    saved: Vec<u8>,
    link: Option<Link>,
    now: u64,
    seed: u8,
    ops: u32,
}

impl World {
    fn new() -> Self {
        let mut town = Town::new();
        // Meetings the device gets on its first sync, for changes to patch.
        let invited = ["chief@town.example", "mayor@town.example"];
        for (n, calendar) in [town.chief_calendar, town.mayor_calendar]
            .into_iter()
            .enumerate()
        {
            town.add_meeting(
                calendar,
                &format!("standing-{n}"),
                &format!("standing-{n}"),
                &invited,
            );
        }
        let (client, _) = enroll(&mut town, Who::Chief, 7, 1);
        let state = client.state().clone();
        World {
            town,
            saved: state.to_bytes().to_vec(),
            offline: Some(state),
            link: None,
            now: 10,
            seed: 30,
            ops: 0,
        }
    }

    fn state(&self) -> &ClientState {
        match (&self.link, &self.offline) {
            (Some(link), _) => link.client.state(),
            (None, Some(state)) => state,
            (None, None) => unreachable!("the state is always somewhere"),
        }
    }

    fn save(&mut self) {
        self.saved = self.state().to_bytes().to_vec();
    }

    fn next_seed(&mut self) -> [u8; 32] {
        self.seed = self.seed.wrapping_add(1);
        [self.seed; 32]
    }

    fn connect(&mut self) {
        if self.link.is_some() {
            return;
        }
        let state = self.offline.take().expect("offline state");
        let mut client =
            ClientSession::resume(ClientConfig::default(), state, self.next_seed(), self.now)
                .expect("resume");
        // The app saves right after resume: the hello counter is then durable.
        self.saved = client.state().to_bytes().to_vec();
        client.confirm_state_saved();
        let server = self
            .town
            .server_session(self.seed.wrapping_add(100), self.now);
        self.link = Some(Link {
            client,
            server,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
        });
        self.collect();
    }

    fn disconnect(&mut self) {
        if let Some(link) = self.link.take() {
            self.offline = Some(link.client.state().clone());
        }
    }

    /// Moves what the sessions want to send into the link's queues; drops the
    /// link once either side has closed.
    fn collect(&mut self) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        while let Some(bytes) = link.client.poll_transmit() {
            link.to_server.push_back(bytes);
        }
        while let Some(bytes) = link.server.poll_transmit() {
            link.to_client.push_back(bytes);
        }
        while link.client.poll_event().is_some() {}
        while link.server.poll_event().is_some() {}
        let quiet = link.to_server.is_empty() && link.to_client.is_empty();
        if link.client.is_closed() || (link.server.is_closed() && quiet) {
            self.disconnect();
        }
    }

    fn deliver(&mut self, to_server: bool, count: usize) {
        for _ in 0..count {
            let Some(link) = self.link.as_mut() else {
                return;
            };
            let now = self.now;
            if to_server {
                let Some(bytes) = link.to_server.pop_front() else {
                    return;
                };
                let _ = link.server.handle_bytes(now, &bytes, &mut self.town.store);
            } else {
                let Some(bytes) = link.to_client.pop_front() else {
                    return;
                };
                let _ = link.client.handle_bytes(now, &bytes);
            }
            self.collect();
        }
    }

    fn queue(&mut self, to_server: bool) -> Option<&mut VecDeque<Vec<u8>>> {
        let link = self.link.as_mut()?;
        Some(if to_server {
            &mut link.to_server
        } else {
            &mut link.to_client
        })
    }

    fn visible_mail(&self) -> Vec<u64> {
        self.town
            .store
            .items(self.town.chief_inbox)
            .expect("inbox")
            .into_iter()
            .map(|(id, _, _)| id)
            .collect()
    }

    fn heal(&mut self) {
        self.disconnect();
        for _ in 0..8 {
            self.now += 1000;
            self.connect();
            for _ in 0..1000 {
                let Some(link) = self.link.as_mut() else {
                    break;
                };
                if link.to_server.is_empty() && link.to_client.is_empty() {
                    let _ = link.server.push_changes(self.now, &self.town.store);
                    self.collect();
                    let Some(link) = self.link.as_ref() else {
                        break;
                    };
                    if link.to_client.is_empty() && link.to_server.is_empty() {
                        return;
                    }
                }
                self.deliver(true, 8);
                self.deliver(false, 8);
            }
        }
        panic!("the link never healed");
    }

    fn step(&mut self, action: Action) {
        self.now += 100;
        let cursors_before = self.state().replica().cursors();
        let mut crashed = false;
        match action {
            Action::NewMail { visible } => {
                let inbox = if visible {
                    self.town.chief_inbox
                } else {
                    self.town.mayor_inbox
                };
                self.town
                    .store
                    .upsert(inbox, None, packed(mail("Notice", "clerk@town.example")), 0)
                    .expect("inbox");
            }
            Action::ServerFlags { pick, flags } => {
                let ids = self.visible_mail();
                if !ids.is_empty() {
                    let _ = self.town.store.set_flags(
                        self.town.chief_inbox,
                        ids[pick.index(ids.len())],
                        flags,
                    );
                }
            }
            Action::ServerRemove { pick } => {
                let ids = self.visible_mail();
                if !ids.is_empty() {
                    let _ = self
                        .town
                        .store
                        .remove(self.town.chief_inbox, ids[pick.index(ids.len())]);
                }
            }
            Action::CreateEvent { own_calendar } => {
                self.ops += 1;
                let calendar = if own_calendar {
                    self.town.chief_calendar
                } else {
                    self.town.mayor_calendar
                };
                let event = meeting(
                    0,
                    calendar,
                    &format!("op-{}", self.ops),
                    &format!("op-{}", self.ops),
                    &[
                        "chief@town.example",
                        "mayor@town.example",
                        "press@town.example",
                    ],
                );
                let kind = Kind::CreateEvent(CreateEvent {
                    calendar_id: calendar,
                    item: Some(event),
                });
                self.submit(kind);
            }
            Action::ServerEventChange {
                own_calendar,
                pick,
                change,
            } => {
                let calendar = self.calendar(own_calendar);
                let ids: Vec<u64> = self
                    .town
                    .store
                    .items(calendar)
                    .expect("calendar")
                    .iter()
                    .map(|(id, _, _)| *id)
                    .collect();
                if !ids.is_empty() {
                    let id = ids[pick.index(ids.len())];
                    let mut event = stored_event(&self.town.store, calendar, id);
                    event.version += 1;
                    if let Some(master) = event.master.as_mut() {
                        match (change % 3, master.attendees.len()) {
                            (0, n) if n > 0 => {
                                master.attendees[usize::from(change) % n].status =
                                    i32::from(change % 5);
                            }
                            (1, _) => {
                                master.sequence += 1;
                                master.start = Some(at(change % 24));
                            }
                            _ => master.location = format!("Room {change}"),
                        }
                    }
                    let _ = self.town.store.upsert(
                        calendar,
                        Some(id),
                        packed(item::Kind::Calendar(event)),
                        0,
                    );
                }
            }
            Action::Respond {
                own_calendar,
                pick,
                status,
            } => {
                let calendar = self.calendar(own_calendar);
                if let Some(held) = self.held_event(calendar, pick) {
                    self.ops += 1;
                    self.submit(Kind::Respond(RespondToInvitation {
                        calendar_id: calendar,
                        item_id: held.id,
                        status: ParticipationStatus::try_from(i32::from(status))
                            .unwrap_or(ParticipationStatus::Accepted)
                            as i32,
                        ..RespondToInvitation::default()
                    }));
                }
            }
            Action::UpdateEvent {
                own_calendar,
                pick,
                hour,
            } => {
                let calendar = self.calendar(own_calendar);
                if let Some(mut held) = self.held_event(calendar, pick) {
                    // An event the device holds whole: it never edits a placeholder.
                    if held.abridged.is_none() {
                        self.ops += 1;
                        let expected_version = held.version;
                        if let Some(master) = held.master.as_mut() {
                            master.start = Some(at(hour));
                            master.sequence += 1;
                        }
                        self.submit(Kind::UpdateEvent(UpdateEvent {
                            calendar_id: calendar,
                            item: Some(held),
                            expected_version,
                        }));
                    }
                }
            }
            Action::SetFlags { pick, flags } => {
                let ids: Vec<u64> = self
                    .state()
                    .replica()
                    .collection(self.town.chief_inbox)
                    .map(|r| r.items().keys().copied().collect())
                    .unwrap_or_default();
                if !ids.is_empty() {
                    self.ops += 1;
                    let kind = Kind::SetFlags(SetFlags {
                        collection_id: self.town.chief_inbox,
                        item_ids: vec![ids[pick.index(ids.len())]],
                        set: flags,
                        clear: !flags & 7,
                    });
                    self.submit(kind);
                }
            }
            Action::Deliver { to_server, count } => self.deliver(to_server, count),
            Action::Drop { to_server } => {
                self.queue(to_server).map(VecDeque::pop_front);
            }
            Action::Duplicate { to_server } => {
                if let Some(q) = self.queue(to_server) {
                    if let Some(first) = q.front().cloned() {
                        q.push_front(first);
                    }
                }
            }
            Action::Swap { to_server } => {
                if let Some(q) = self.queue(to_server) {
                    if q.len() >= 2 {
                        q.swap(0, 1);
                    }
                }
            }
            Action::Push => {
                if let Some(link) = self.link.as_mut() {
                    let _ = link.server.push_changes(self.now, &self.town.store);
                    self.collect();
                }
            }
            Action::Connect => self.connect(),
            Action::Disconnect | Action::ServerRestart => self.disconnect(),
            Action::Crash => {
                self.link = None;
                self.offline =
                    Some(ClientState::from_bytes(&self.saved).expect("saved state restores"));
                crashed = true;
            }
            Action::Save => self.save(),
            Action::Compact => {
                let log = self
                    .town
                    .store
                    .change_log_mut(self.town.chief_inbox)
                    .expect("inbox");
                let up_to = log.modseq();
                log.compact(up_to);
            }
        }
        if !crashed {
            let after = self.state().replica().cursors();
            for (before, after) in cursors_before.iter().zip(&after) {
                if before.collection_id == after.collection_id
                    && before.epoch == after.epoch
                    && after.modseq != 0
                {
                    assert!(
                        after.modseq >= before.modseq,
                        "cursor moved back: {before:?} -> {after:?}"
                    );
                }
            }
        }
    }

    fn calendar(&self, own: bool) -> u64 {
        if own {
            self.town.chief_calendar
        } else {
            self.town.mayor_calendar
        }
    }

    /// An event of `calendar` as the device holds it.
    fn held_event(&self, calendar: u64, pick: prop::sample::Index) -> Option<CalendarItem> {
        let replica = self.state().replica().collection(calendar)?;
        let items: Vec<&Item> = replica.items().values().map(|held| &held.item).collect();
        if items.is_empty() {
            return None;
        }
        match &items[pick.index(items.len())].kind {
            Some(item::Kind::Calendar(event)) => Some(event.clone()),
            _ => None,
        }
    }

    /// Submits an operation and saves at once, as a handset must.
    fn submit(&mut self, kind: Kind) {
        let op_id = self
            .ops
            .to_be_bytes()
            .repeat(4)
            .try_into()
            .expect("16 bytes");
        match self.link.as_mut() {
            Some(link) => {
                let _ = link.client.submit(self.now, op_id, kind);
            }
            None => {
                self.offline
                    .as_mut()
                    .expect("offline state")
                    .queue(op_id, kind);
            }
        }
        self.collect();
        self.save();
    }

    fn check(&self) {
        let state = self.state();
        assert!(
            state.outbox().is_empty(),
            "unanswered operations: {}",
            state.outbox().len()
        );
        let visible: Vec<u64> = self
            .town
            .store
            .visible_collections(self.town.chief)
            .expect("chief")
            .iter()
            .map(|(c, _)| c.id)
            .collect();
        let held: Vec<u64> = state
            .replica()
            .collections()
            .map(|(info, _)| info.id)
            .collect();
        assert_eq!(held, visible);
        for id in visible {
            let server: BTreeMap<u64, ReplicaItem> = self
                .town
                .store
                .items(id)
                .expect("collection")
                .into_iter()
                .map(|(item_id, packed, flags)| {
                    let item: Item =
                        proto::decode(&unpack(&packed, &InflateLimits::default()).expect("packed"))
                            .expect("item");
                    (item_id, ReplicaItem { item, flags })
                })
                .collect();
            let replica = state.replica().collection(id).expect("held").items();
            assert_eq!(replica, &server, "collection {id} differs");
        }
        // Every create applied exactly once.
        let mut created: BTreeMap<String, usize> = BTreeMap::new();
        for calendar in [self.town.chief_calendar, self.town.mayor_calendar] {
            for (_, packed, _) in self.town.store.items(calendar).expect("calendar") {
                let item: Item =
                    proto::decode(&unpack(&packed, &InflateLimits::default()).expect("packed"))
                        .expect("item");
                if let Some(item::Kind::Calendar(CalendarItem {
                    master: Some(master),
                    ..
                })) = item.kind
                {
                    *created.entry(master.summary).or_default() += 1;
                }
            }
        }
        assert!(
            created.values().all(|&n| n == 1),
            "an operation applied twice: {created:?}"
        );
    }
}

/// Nine o'clock plus `hour` hours, on the meeting's day.
fn at(hour: u8) -> CalendarTime {
    CalendarTime {
        value: format!("20261203T{:02}0000", hour % 24),
        tzid: "Europe/London".into(),
        ..CalendarTime::default()
    }
}

fn stored_event(store: &impl ItemStore, calendar: u64, id: u64) -> CalendarItem {
    let (packed, _) = store.item(calendar, id).expect("store").expect("live");
    let item: Item =
        proto::decode(&unpack(&packed, &InflateLimits::default()).expect("packed")).expect("item");
    match item.kind {
        Some(item::Kind::Calendar(event)) => event,
        other => panic!("not an event: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_client_converges_under_any_schedule(actions in proptest::collection::vec(action(), 1..80)) {
        let mut world = World::new();
        let mut submitted = 0;
        for action in actions {
            if matches!(action, Action::CreateEvent { .. }) {
                submitted += 1;
            }
            world.step(action);
        }
        world.heal();
        world.check();
        // No create was lost: the calendars hold every one submitted.
        let creates: usize = [world.town.chief_calendar, world.town.mayor_calendar]
            .iter()
            .map(|c| world.town.store.items(*c).expect("calendar").len() - 1)
            .sum();
        prop_assert_eq!(creates, submitted);
    }
}
