//! TEST SUPPORT ONLY (feature `loopback-server`): an in-memory server for C
//! tests and the handset example, until a network reference server exists.
//! It wraps the core's `MemoryStore` and one `ServerSession` per connection;
//! connections are in `loopback_io.rs`.

use crate::bytes::tidings_bytes;
use crate::handle::{
    Castable, Out, borrow, borrow_mut, free, input, input_array, input_str, into_ptr,
};
use crate::panic::{guard, guard_value};
use crate::result::{Fail, tidings_result};
use std::sync::Arc;
use tidings::ErrorKind;
use tidings::compress::{PackOptions, pack};
use tidings::crypto::StaticKeypair;
use tidings::proto::{self, CollectionKind, Item, item};
use tidings::session::{Outgoing, ServerSession};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};
use tidings::sync::Rights;

/// TEST SUPPORT: an in-memory server. Not thread-safe.
pub struct tidings_test_server {
    _private: [u8; 0],
}

/// The server behind a `tidings_test_server`.
pub struct Loopback {
    pub(crate) store: MemoryStore,
    pub(crate) keys: Arc<StaticKeypair>,
    pub(crate) sessions: Vec<ServerSession>,
    /// Mail the devices asked to send, in order.
    pub(crate) sent: Vec<Outgoing>,
}

impl Castable for tidings_test_server {
    type Rust = Loopback;
}

/// The seeded town hall: the chief holds the mayor's calendar by delegation.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct tidings_test_town {
    /// Principal "Mayor" (mayor@town.example).
    pub mayor: u64,
    /// Principal "Chief of Staff" (chief@town.example).
    pub chief: u64,
    /// The mayor's mail folder.
    pub mayor_inbox: u64,
    /// The mayor's calendar (the chief has owner rights on it).
    pub mayor_calendar: u64,
    /// The chief's mail folder.
    pub chief_inbox: u64,
    /// The chief's calendar.
    pub chief_calendar: u64,
}

/// TEST SUPPORT: an empty server with static key `secret` (32 bytes).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_new(
    secret: *const u8,
    secret_len: usize,
    out: *mut *mut tidings_test_server,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let keys = Arc::new(StaticKeypair::from_secret_bytes(input_array(
            secret, secret_len,
        )?));
        out.set(into_ptr(Loopback {
            store: MemoryStore::new(),
            keys,
            sessions: Vec::new(),
            sent: Vec::new(),
        }));
        Ok(())
    })
}

/// TEST SUPPORT: seeds the town hall (as the core's tests do).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_seed_town(
    server: *mut tidings_test_server,
    out: *mut tidings_test_town,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let store = &mut borrow_mut(server)?.store;
        let mayor = store.add_principal("Mayor", "mayor@town.example");
        let chief = store.add_principal("Chief of Staff", "chief@town.example");
        let town = tidings_test_town {
            mayor,
            chief,
            mayor_inbox: store.add_collection(mayor, CollectionKind::Mail, "Inbox")?,
            mayor_calendar: store.add_collection(mayor, CollectionKind::Calendar, "Calendar")?,
            chief_inbox: store.add_collection(chief, CollectionKind::Mail, "Inbox")?,
            chief_calendar: store.add_collection(chief, CollectionKind::Calendar, "Calendar")?,
        };
        store.grant(town.mayor_calendar, chief, Rights::OWNER)?;
        out.set(town);
        Ok(())
    })
}

/// TEST SUPPORT: the server's 32-byte public key, to pin in client states.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_public_key(
    server: *const tidings_test_server,
    out: *mut u8,
    out_len: usize,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out.cast::<[u8; 32]>())?;
        let public = borrow(server)?.keys.public_key();
        if out_len != 32 {
            return Err(ErrorKind::InvalidArgument.into());
        }
        out.set(public);
        Ok(())
    })
}

/// TEST SUPPORT: a one-time activation code for `principal` from 10 random
/// bytes, as a user would type it (free with `tidings_bytes_free`).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_activation(
    server: *mut tidings_test_server,
    principal: u64,
    random: *const u8,
    random_len: usize,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let code = ActivationCode::from_random(input_array(random, random_len)?);
        borrow_mut(server)?
            .store
            .create_activation(principal, &code, u64::MAX, 5)?;
        out.set(tidings_bytes::from_vec(code.display().into_bytes()));
        Ok(())
    })
}

/// TEST SUPPORT: delivers an RFC 5322 message into a mail folder.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_add_mail(
    server: *mut tidings_test_server,
    collection_id: u64,
    message: *const u8,
    message_len: usize,
    out_item_id: *mut u64,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out_item_id)?;
        let raw = input(message, message_len)?;
        out.set(
            borrow_mut(server)?
                .store
                .add_message(collection_id, raw, 2048)?,
        );
        Ok(())
    })
}

/// TEST SUPPORT: adds a meeting (3 Dec 2026, 09:00 London, organised by the
/// town clerk) inviting `attendee` (UTF-8 address) with status NEEDS-ACTION.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_add_meeting(
    server: *mut tidings_test_server,
    calendar_id: u64,
    summary: *const u8,
    summary_len: usize,
    attendee: *const u8,
    attendee_len: usize,
    out_item_id: *mut u64,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out_item_id)?;
        let (summary, attendee) = (
            input_str(summary, summary_len)?,
            input_str(attendee, attendee_len)?,
        );
        out.set(add_meeting(server, calendar_id, summary, attendee, "")?);
        Ok(())
    })
}

/// TEST SUPPORT: the same meeting with a description (UTF-8): a long one
/// that does not compress makes an item too large for one page, which
/// devices receive abridged.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_add_described_meeting(
    server: *mut tidings_test_server,
    calendar_id: u64,
    summary: *const u8,
    summary_len: usize,
    description: *const u8,
    description_len: usize,
    out_item_id: *mut u64,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out_item_id)?;
        let (summary, description) = (
            input_str(summary, summary_len)?,
            input_str(description, description_len)?,
        );
        let attendee = "mayor@town.example";
        out.set(add_meeting(
            server,
            calendar_id,
            summary,
            attendee,
            description,
        )?);
        Ok(())
    })
}

fn add_meeting(
    server: *mut tidings_test_server,
    calendar_id: u64,
    summary: &str,
    attendee: &str,
    description: &str,
) -> Result<u64, Fail> {
    let store = &mut borrow_mut(server)?.store;
    let (id, _) = store.upsert(calendar_id, None, Vec::new().into(), 0)?;
    let mut event = tidings::store::fixtures::invitation(id, calendar_id, summary, attendee);
    if let Some(master) = event.master.as_mut() {
        master.description = description.to_owned();
    }
    let packed = pack(
        &proto::encode(&Item {
            kind: Some(item::Kind::Calendar(event)),
        }),
        &PackOptions::default(),
    );
    store.upsert(calendar_id, Some(id), packed.into(), 0)?;
    Ok(id)
}

/// TEST SUPPORT: frees the server; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_free(server: *mut tidings_test_server) {
    guard_value((), || free(server))
}
