//! Tidings' side: a real enrolled device and its server session, over the
//! in-memory loopback, counting the ciphertext bytes (frame headers
//! included) that cross in each direction.

use bytes::Bytes;
use std::sync::Arc;
use tidings::compress::{InflateLimits, PackOptions, pack, unpack};
use tidings::crypto::StaticKeypair;
use tidings::proto::{self, CalendarItem, CollectionKind, Item, MailItem, item};
use tidings::session::{
    ClientConfig, ClientSession, ClientState, DEFAULT_ACK_DELAY_MS, ServerConfig, ServerSession,
    pump,
};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};
use tidings_benches::peers::transport::Wire;

/// A store with one principal's inbox and calendar.
pub(crate) struct Mailbox {
    pub(crate) store: MemoryStore,
    pub(crate) principal: u64,
    pub(crate) inbox: u64,
    pub(crate) calendar: u64,
}

impl Mailbox {
    pub(crate) fn new() -> Self {
        let mut store = MemoryStore::new();
        let principal = store.add_principal("Councillor Lee", "lee@town.example");
        let inbox = store
            .add_collection(principal, CollectionKind::Mail, "Inbox")
            .expect("principal exists");
        let calendar = store
            .add_collection(principal, CollectionKind::Calendar, "Calendar")
            .expect("principal exists");
        Self {
            store,
            principal,
            inbox,
            calendar,
        }
    }

    /// Delivers a real message as the server does (headers, 2 KB preview,
    /// parts, packed once); returns the item exactly as the device gets it.
    pub(crate) fn deliver(&mut self, raw: &[u8]) -> MailItem {
        let id = self
            .store
            .add_message(self.inbox, raw, 2048)
            .expect("a real message");
        let (packed, _) = self
            .store
            .item(self.inbox, id)
            .expect("inbox exists")
            .expect("just stored");
        match decode(&packed) {
            item::Kind::Mail(mail) => mail,
            item::Kind::Calendar(_) => unreachable!("a mail was stored"),
        }
    }

    /// Stores `event` in the calendar (a new id when `id` is None); returns
    /// the item as the device gets it.
    pub(crate) fn put_event(&mut self, mut event: CalendarItem, id: Option<u64>) -> CalendarItem {
        let id = match id {
            Some(id) => id,
            None => self.store.allocate_id().expect("ids"),
        };
        event.id = id;
        event.calendar_id = self.calendar;
        let packed = pack_item(item::Kind::Calendar(event.clone()));
        self.store
            .upsert(self.calendar, Some(id), packed.into(), 0)
            .expect("calendar exists");
        event
    }

    /// Enrolls a device over Noise XK and runs its initial sync; returns the
    /// link and the bytes that crossed.
    pub(crate) fn enroll(mut self, seed: u8) -> (Link, Wire) {
        let keys = Arc::new(StaticKeypair::from_secret_bytes([seed; 32]));
        let code = ActivationCode::from_random([seed; 10]);
        self.store
            .create_activation(self.principal, &code, u64::MAX, 3)
            .expect("principal exists");
        let secret = [seed.wrapping_add(1); 32];
        let state = ClientState::new(secret, keys.public_key());
        let mut client = ClientSession::enroll(
            ClientConfig::default(),
            state,
            &code.display(),
            "handset",
            [seed.wrapping_add(2); 32],
            0,
        )
        .expect("enrollment starts");
        let mut server =
            ServerSession::new(ServerConfig::default(), keys, [seed.wrapping_add(3); 32], 0);
        let (up, down) = pump(&mut client, &mut server, &mut self.store, 0).expect("quiet");
        assert!(client.is_established(), "enrollment failed");
        let link = Link {
            mailbox: self,
            client,
            server,
            seed,
        };
        (
            link,
            Wire {
                up,
                down,
                segments: 0,
            },
        )
    }
}

/// An item's packed bytes, as the server stores them.
pub(crate) fn pack_item(kind: item::Kind) -> Vec<u8> {
    pack(
        &proto::encode(&Item { kind: Some(kind) }),
        &PackOptions::default(),
    )
}

fn decode(packed: &Bytes) -> item::Kind {
    let bytes = unpack(packed, &InflateLimits::default()).expect("our own packing");
    proto::decode::<Item>(&bytes)
        .expect("our own encoding")
        .kind
        .expect("an item")
}

/// An enrolled device connected to its server session.
pub(crate) struct Link {
    pub(crate) mailbox: Mailbox,
    pub(crate) client: ClientSession,
    pub(crate) server: ServerSession,
    seed: u8,
}

impl Link {
    /// Pushes what changed in the store at `now_ms` and lets the device
    /// answer (its acknowledgement, after its delay: sync.md §3 rule 8):
    /// every byte that crossed.
    pub(crate) fn push(&mut self, now_ms: u64) -> Wire {
        self.server
            .push_changes(now_ms, &self.mailbox.store)
            .expect("push");
        let pushed = self.exchange(now_ms);
        let acked = now_ms + u64::from(DEFAULT_ACK_DELAY_MS);
        self.client.handle_timeout(acked).expect("alive");
        pushed + self.exchange(acked)
    }

    fn exchange(&mut self, now_ms: u64) -> Wire {
        let (up, down) = pump(
            &mut self.client,
            &mut self.server,
            &mut self.mailbox.store,
            now_ms,
        )
        .expect("quiet");
        assert!(
            !self.client.is_closed() && !self.server.is_closed(),
            "the session ended"
        );
        Wire {
            up,
            down,
            segments: 0,
        }
    }

    /// The earliest time either side's timer fires.
    pub(crate) fn next_timer(&self) -> u64 {
        let c = self.client.poll_timeout().unwrap_or(u64::MAX);
        let s = self.server.poll_timeout().unwrap_or(u64::MAX);
        c.min(s)
    }

    /// The device reconnects from its saved state (Noise IK, one round trip)
    /// to a fresh server session, as after a network change; nothing was
    /// missed, so only the handshake, Hello and Welcome cross.
    pub(crate) fn reconnect(&mut self, now_ms: u64) -> Wire {
        let saved = self.client.state().to_bytes();
        let state = ClientState::from_bytes(&saved).expect("our own state");
        self.client = ClientSession::resume(
            ClientConfig::default(),
            state,
            [self.seed ^ 0x5A; 32],
            now_ms,
        )
        .expect("resume");
        // The bench keeps state in memory: nothing to persist first.
        self.client.confirm_state_saved();
        let keys = Arc::new(StaticKeypair::from_secret_bytes([self.seed; 32]));
        self.server = ServerSession::new(
            ServerConfig::default(),
            keys,
            [self.seed ^ 0xA5; 32],
            now_ms,
        );
        self.exchange(now_ms)
    }

    /// Fires both sides' timers at `now_ms` (keepalives when due).
    pub(crate) fn timers(&mut self, now_ms: u64) -> Wire {
        self.client.handle_timeout(now_ms).expect("alive");
        self.server.handle_timeout(now_ms).expect("alive");
        self.exchange(now_ms)
    }
}
