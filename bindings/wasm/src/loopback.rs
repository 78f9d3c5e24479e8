//! TEST SUPPORT ONLY (feature `loopback-server`): an in-memory server for
//! the JS tests, as `bindings/c` has for its C tests. It wraps the core's
//! `MemoryStore` and one `ServerSession` per connection. Never in the npm
//! package: `cargo xtask wasm --with-tests` builds it into a separate test package.

use crate::client::Client;
use crate::error::Thrown;
use crate::js::{Fields, Obj, fixed, millis};
use crate::random::random;
use js_sys::Uint8Array;
use std::sync::Arc;
use tidings::compress::{PackOptions, pack};
use tidings::crypto::StaticKeypair;
use tidings::proto::{self, CollectionKind, Item, Policy, item};
use tidings::session::{ServerConfig, ServerSession, pump};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};
use tidings::sync::Rights;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TEST_TYPES: &'static str = r#"
/** TEST SUPPORT: the seeded town hall (`TestServer.seedTown`). */
export interface TestTown {
  mayor: bigint;
  chief: bigint;
  mayorInbox: bigint;
  /** The chief holds it by delegation, with owner rights. */
  mayorCalendar: bigint;
  chiefInbox: bigint;
  chiefCalendar: bigint;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// A `TestTown` object.
    #[wasm_bindgen(typescript_type = "TestTown")]
    pub type TestTown;
    /// A `Policy` object, as input.
    #[wasm_bindgen(typescript_type = "Partial<Policy>")]
    pub type PolicyInput;
}

/// TEST SUPPORT ONLY: an in-memory server.
#[wasm_bindgen]
pub struct TestServer {
    store: MemoryStore,
    keys: Arc<StaticKeypair>,
    sessions: Vec<ServerSession>,
}

#[wasm_bindgen]
impl TestServer {
    /// An empty server with static secret `secret` (32 bytes).
    #[wasm_bindgen(constructor)]
    pub fn new(secret: &Uint8Array) -> Result<TestServer, Thrown> {
        Ok(TestServer {
            store: MemoryStore::new(),
            keys: Arc::new(StaticKeypair::from_secret_bytes(fixed::<32>(
                secret, "secret",
            )?)),
            sessions: Vec::new(),
        })
    }

    /// Seeds the town hall of the core's tests: the mayor and the chief of
    /// staff, an inbox and a calendar each; the chief holds the mayor's
    /// calendar by delegation.
    #[wasm_bindgen(js_name = seedTown)]
    pub fn seed_town(&mut self) -> Result<TestTown, Thrown> {
        let store = &mut self.store;
        let mayor = store.add_principal("Mayor", "mayor@town.example");
        let chief = store.add_principal("Chief of Staff", "chief@town.example");
        let mayor_inbox = store.add_collection(mayor, CollectionKind::Mail, "Inbox")?;
        let mayor_calendar = store.add_collection(mayor, CollectionKind::Calendar, "Calendar")?;
        let chief_inbox = store.add_collection(chief, CollectionKind::Mail, "Inbox")?;
        let chief_calendar = store.add_collection(chief, CollectionKind::Calendar, "Calendar")?;
        store.grant(mayor_calendar, chief, Rights::OWNER)?;
        Ok(Obj::new()
            .big("mayor", mayor)
            .big("chief", chief)
            .big("mayorInbox", mayor_inbox)
            .big("mayorCalendar", mayor_calendar)
            .big("chiefInbox", chief_inbox)
            .big("chiefCalendar", chief_calendar)
            .done()
            .unchecked_into())
    }

    /// The server's 32-byte public key, to pin in client states.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Uint8Array {
        Uint8Array::from(self.keys.public_key().as_slice())
    }

    /// A one-time activation code for `principal`, as a user would type it.
    pub fn activation(&mut self, principal: u64) -> Result<String, Thrown> {
        let code = ActivationCode::from_random(*random::<10>()?);
        self.store
            .create_activation(principal, &code, u64::MAX, 5)?;
        Ok(code.display())
    }

    /// Delivers an RFC 5322 message into a mail folder; returns its id.
    #[wasm_bindgen(js_name = addMail)]
    pub fn add_mail(
        &mut self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
        message: &[u8],
    ) -> Result<u64, Thrown> {
        Ok(self.store.add_message(collection_id, message, 2048)?)
    }

    /// Adds a meeting (3 Dec 2026, 09:00 London, organised by the town clerk)
    /// inviting `attendee` with status NEEDS-ACTION; returns its id.
    #[wasm_bindgen(js_name = addMeeting)]
    pub fn add_meeting(
        &mut self,
        #[wasm_bindgen(js_name = calendarId)] calendar_id: u64,
        summary: &str,
        attendee: &str,
    ) -> Result<u64, Thrown> {
        let id = self.store.allocate_id()?;
        let packed = pack(
            &proto::encode(&Item {
                kind: Some(item::Kind::Calendar(tidings::store::fixtures::invitation(
                    id,
                    calendar_id,
                    summary,
                    attendee,
                ))),
            }),
            &PackOptions::default(),
        );
        self.store.upsert(calendar_id, Some(id), packed.into(), 0)?;
        Ok(id)
    }

    /// Stores a protobuf `Item` (e.g. from `testItemFromJs`) as a new item of
    /// `collectionId`, under a fresh id (the item's own id and collection
    /// are replaced); returns the id. An item larger than a page reaches
    /// devices abridged.
    #[wasm_bindgen(js_name = addItem)]
    pub fn add_item(
        &mut self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
        item: &[u8],
    ) -> Result<u64, Thrown> {
        let mut decoded: Item = proto::decode(item)?;
        let id = self.store.allocate_id()?;
        match &mut decoded.kind {
            Some(item::Kind::Mail(mail)) => {
                mail.id = id;
                mail.folder_id = collection_id;
            }
            Some(item::Kind::Calendar(event)) => {
                event.id = id;
                event.calendar_id = collection_id;
                event.version = 1;
            }
            None => return Err(Thrown::invalid("the item has no kind")),
        }
        let packed = pack(&proto::encode(&decoded), &PackOptions::default());
        self.store
            .upsert(collection_id, Some(id), packed.into(), 0)?;
        Ok(id)
    }

    /// Accepts a connection; the number names it in the calls below.
    pub fn accept(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
    ) -> Result<usize, Thrown> {
        let session = ServerSession::new(
            ServerConfig::default(),
            self.keys.clone(),
            *random::<32>()?,
            millis(now_ms)?,
        );
        self.sessions.push(session);
        Ok(self.sessions.len() - 1)
    }

    fn session(&mut self, connection: usize) -> Result<&mut ServerSession, Thrown> {
        self.sessions
            .get_mut(connection)
            .ok_or_else(|| Thrown::invalid("no such connection"))
    }

    /// Feeds bytes a client sent on `connection`. A refused peer is closed by
    /// the server (its answer still flows), so errors are not thrown.
    #[wasm_bindgen(js_name = handleBytes)]
    pub fn handle_bytes(
        &mut self,
        connection: usize,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        bytes: &[u8],
    ) -> Result<(), Thrown> {
        let now = millis(now_ms)?;
        let session = self
            .sessions
            .get_mut(connection)
            .ok_or_else(|| Thrown::invalid("no such connection"))?;
        if !session.is_closed() {
            let _ = session.handle_bytes(now, bytes, &mut self.store);
        }
        while session.poll_event().is_some() {}
        Ok(())
    }

    /// The next bytes to send on `connection`, or `undefined`.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self, connection: usize) -> Result<Option<Vec<u8>>, Thrown> {
        Ok(self.session(connection)?.poll_transmit())
    }

    /// Moves bytes both ways between `client` and `connection` until both are
    /// quiet (what a network would do).
    pub fn pump(
        &mut self,
        connection: usize,
        client: &mut Client,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
    ) -> Result<(), Thrown> {
        let now = millis(now_ms)?;
        let session = self
            .sessions
            .get_mut(connection)
            .ok_or_else(|| Thrown::invalid("no such connection"))?;
        pump(&mut client.session, session, &mut self.store, now)?;
        while session.poll_event().is_some() {}
        Ok(())
    }

    /// Live push: every open connection is sent what changed.
    pub fn push(&mut self, #[wasm_bindgen(js_name = nowMs)] now_ms: f64) -> Result<(), Thrown> {
        let now = millis(now_ms)?;
        for session in self
            .sessions
            .iter_mut()
            .filter(|s| !s.is_closed() && s.device().is_some())
        {
            session.push_changes(now, &self.store)?;
        }
        Ok(())
    }

    /// Orders the device on `connection` to wipe itself.
    #[wasm_bindgen(js_name = orderWipe)]
    pub fn order_wipe(
        &mut self,
        connection: usize,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        #[wasm_bindgen(js_name = wipeId)] wipe_id: u64,
    ) -> Result<(), Thrown> {
        let now = millis(now_ms)?;
        let session = self
            .sessions
            .get_mut(connection)
            .ok_or_else(|| Thrown::invalid("no such connection"))?;
        Ok(session.order_wipe(now, &mut self.store, wipe_id)?)
    }

    /// Revokes the device on `connection`.
    pub fn revoke(
        &mut self,
        connection: usize,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
    ) -> Result<(), Thrown> {
        let now = millis(now_ms)?;
        let session = self
            .sessions
            .get_mut(connection)
            .ok_or_else(|| Thrown::invalid("no such connection"))?;
        Ok(session.revoke(now, &mut self.store)?)
    }

    /// Sends a new policy to the device on `connection`.
    #[wasm_bindgen(js_name = sendPolicy)]
    pub fn send_policy(
        &mut self,
        connection: usize,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        policy: &PolicyInput,
    ) -> Result<(), Thrown> {
        let now = millis(now_ms)?;
        let p = Fields::of(policy, "policy")?;
        let policy = Policy {
            version: p.id_or_zero("version")?,
            require_passcode: p.flag("requirePasscode")?,
            max_inactivity_seconds: p.u32("maxInactivitySeconds")?,
            allow_attachments: p.flag("allowAttachments")?,
            max_preview_bytes: p.u32("maxPreviewBytes")?,
            keepalive_seconds: p.u32("keepaliveSeconds")?,
        };
        let session = self
            .sessions
            .get_mut(connection)
            .ok_or_else(|| Thrown::invalid("no such connection"))?;
        Ok(session.send_policy(now, &mut self.store, policy)?)
    }

    /// The stored `MailFlag` bits of a mail, or `undefined`.
    #[wasm_bindgen(js_name = storedFlags)]
    pub fn stored_flags(
        &self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
        #[wasm_bindgen(js_name = itemId)] item_id: u64,
    ) -> Option<u32> {
        self.store
            .item(collection_id, item_id)
            .ok()
            .flatten()
            .map(|(_, flags)| flags)
    }

    /// Whether the store still knows the device (false once revoked).
    #[wasm_bindgen(js_name = deviceActive)]
    pub fn device_active(&self, device_id: u64) -> Result<bool, Thrown> {
        Ok(!self.store.device(device_id)?.revoked)
    }
}
