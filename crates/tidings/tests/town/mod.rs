//! A seeded town hall and a byte pump between sessions, shared by the
//! session tests.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use std::sync::Arc;
use tidings::compress::{PackOptions, pack};
use tidings::crypto::StaticKeypair;
use tidings::proto::operation_result::Outcome;
use tidings::proto::{
    self, Address, Attendee, CalendarEvent, CalendarItem, CalendarTime, CollectionKind, Item,
    MailHeaders, MailItem, ParticipationStatus, item,
};
use tidings::session::{
    ClientConfig, ClientEvent, ClientSession, ClientState, ServerConfig, ServerEvent, ServerSession,
};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};
use tidings::sync::Rights;

pub const SERVER_SECRET: [u8; 32] = [0x51; 32];

pub struct Town {
    pub store: MemoryStore,
    pub keys: Arc<StaticKeypair>,
    pub mayor: u64,
    pub chief: u64,
    pub mayor_inbox: u64,
    pub mayor_calendar: u64,
    pub chief_inbox: u64,
    pub chief_calendar: u64,
}

pub fn packed(item: item::Kind) -> Bytes {
    pack(
        &proto::encode(&Item { kind: Some(item) }),
        &PackOptions::default(),
    )
    .into()
}

pub fn mail(subject: &str, from: &str) -> item::Kind {
    item::Kind::Mail(MailItem {
        headers: Some(MailHeaders {
            subject: subject.into(),
            from: vec![Address {
                name: String::new(),
                email: from.into(),
            }],
            ..MailHeaders::default()
        }),
        preview: format!("{subject}: please read before the council meets on Thursday."),
        ..MailItem::default()
    })
}

pub fn meeting(
    id: u64,
    calendar: u64,
    uid: &str,
    summary: &str,
    attendees: &[&str],
) -> CalendarItem {
    CalendarItem {
        id,
        calendar_id: calendar,
        version: 1,
        master: Some(CalendarEvent {
            uid: uid.into(),
            summary: summary.into(),
            start: Some(CalendarTime {
                value: "20261203T090000".into(),
                tzid: "Europe/London".into(),
                ..CalendarTime::default()
            }),
            end: Some(CalendarTime {
                value: "20261203T100000".into(),
                tzid: "Europe/London".into(),
                ..CalendarTime::default()
            }),
            organizer: Some(Address {
                name: "Town Clerk".into(),
                email: "clerk@town.example".into(),
            }),
            attendees: attendees
                .iter()
                .map(|email| Attendee {
                    address: Some(Address {
                        name: String::new(),
                        email: (*email).into(),
                    }),
                    status: ParticipationStatus::NeedsAction as i32,
                    ..Attendee::default()
                })
                .collect(),
            ..CalendarEvent::default()
        }),
        ..CalendarItem::default()
    }
}

impl Town {
    pub fn new() -> Self {
        let mut store = MemoryStore::new();
        let mayor = store.add_principal("Mayor", "mayor@town.example");
        let chief = store.add_principal("Chief of Staff", "chief@town.example");
        let mayor_inbox = store
            .add_collection(mayor, CollectionKind::Mail, "Inbox")
            .expect("mayor");
        let mayor_calendar = store
            .add_collection(mayor, CollectionKind::Calendar, "Calendar")
            .expect("mayor");
        let chief_inbox = store
            .add_collection(chief, CollectionKind::Mail, "Inbox")
            .expect("chief");
        let chief_calendar = store
            .add_collection(chief, CollectionKind::Calendar, "Calendar")
            .expect("chief");
        store
            .grant(mayor_calendar, chief, Rights::OWNER)
            .expect("exists");
        store
            .upsert(
                mayor_inbox,
                None,
                packed(mail("Private: budget", "treasurer@town.example")),
                0,
            )
            .expect("inbox");
        store
            .upsert(
                chief_inbox,
                None,
                packed(mail("Agenda for Thursday", "clerk@town.example")),
                0,
            )
            .expect("inbox");
        let keys = Arc::new(StaticKeypair::from_secret_bytes(SERVER_SECRET));
        Town {
            store,
            keys,
            mayor,
            chief,
            mayor_inbox,
            mayor_calendar,
            chief_inbox,
            chief_calendar,
        }
    }

    pub fn add_meeting(
        &mut self,
        calendar: u64,
        uid: &str,
        summary: &str,
        attendees: &[&str],
    ) -> u64 {
        let id = self.store.allocate_id().expect("memory store");
        let event = meeting(id, calendar, uid, summary, attendees);
        self.store
            .upsert(calendar, Some(id), packed(item::Kind::Calendar(event)), 0)
            .expect("calendar");
        id
    }

    /// The flags the server holds for an item, if it is live.
    pub fn flags(&self, collection: u64, id: u64) -> Option<u32> {
        self.store
            .item(collection, id)
            .expect("store")
            .map(|(_, flags)| flags)
    }

    pub fn activation(&mut self, principal: u64, seed: u8) -> String {
        let code = ActivationCode::from_random([seed; 10]);
        self.store
            .create_activation(principal, &code, u64::MAX, 5)
            .expect("principal");
        code.display()
    }

    pub fn server_session(&self, seed: u8, now: u64) -> ServerSession {
        ServerSession::new(ServerConfig::default(), self.keys.clone(), [seed; 32], now)
    }

    pub fn server_public(&self) -> [u8; 32] {
        self.keys.public_key()
    }
}

/// Moves bytes both ways until neither side has anything to send.
pub fn pump(
    client: &mut ClientSession,
    server: &mut ServerSession,
    store: &mut MemoryStore,
    now: u64,
) {
    tidings::session::pump(client, server, store, now).expect("sessions go quiet");
}

/// Whose device to enroll.
#[derive(Clone, Copy, Debug)]
pub enum Who {
    Mayor,
    Chief,
}

/// Enrolls a device of `who` and runs it to its initial sync.
pub fn enroll(town: &mut Town, who: Who, seed: u8, now: u64) -> (ClientSession, ServerSession) {
    let principal = match who {
        Who::Mayor => town.mayor,
        Who::Chief => town.chief,
    };
    let code = town.activation(principal, seed);
    let state = ClientState::new([seed; 32], town.server_public());
    let mut client = ClientSession::enroll(
        ClientConfig::default(),
        state,
        &code,
        "phone",
        [seed.wrapping_add(1); 32],
        now,
    )
    .expect("enroll");
    let mut server = town.server_session(seed.wrapping_add(2), now);
    pump(&mut client, &mut server, &mut town.store, now);
    (client, server)
}

pub fn client_events(client: &mut ClientSession) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

pub fn server_events(server: &mut ServerSession) -> Vec<ServerEvent> {
    std::iter::from_fn(|| server.poll_event()).collect()
}

pub const CHIEF: Who = Who::Chief;
pub const MAYOR: Who = Who::Mayor;

pub fn items_of(client: &ClientSession, collection: u64) -> Vec<Item> {
    client
        .state()
        .replica()
        .collection(collection)
        .map(|r| r.items().values().map(|i| i.item.clone()).collect())
        .unwrap_or_default()
}

pub fn subjects(client: &ClientSession, collection: u64) -> Vec<String> {
    items_of(client, collection)
        .into_iter()
        .filter_map(|i| match i.kind {
            Some(item::Kind::Mail(m)) => m.headers.map(|h| h.subject),
            _ => None,
        })
        .collect()
}

pub fn event(client: &ClientSession, calendar: u64, id: u64) -> proto::CalendarItem {
    match client
        .state()
        .replica()
        .collection(calendar)
        .and_then(|r| r.items().get(&id))
        .and_then(|i| i.item.kind.clone())
    {
        Some(item::Kind::Calendar(event)) => event,
        other => panic!("no event {id}: {other:?}"),
    }
}

/// The outcomes of every operation answered since the last call.
pub fn outcomes(client: &mut ClientSession) -> Vec<Outcome> {
    client_events(client)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::OperationResult(r) => r.outcome,
            _ => None,
        })
        .collect()
}
