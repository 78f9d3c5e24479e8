//! What a server session handles without a store
//! (`handle_bytes_without_store`): a caught-up device's acknowledgements and
//! keepalives; everything else waits, in order, for `handle_bytes`.

mod town;

use tidings::ErrorKind;
use tidings::proto::{ParticipationStatus, RespondToInvitation, operation::Kind};
use tidings::session::{
    ClientSession, DEFAULT_ACK_DELAY_MS, ServerConfig, ServerSession, WithoutStore,
};
use tidings::store::{DeviceRegistry, ItemStore};
use tidings::sync::PageLimits;
use town::*;

/// Everything the client has queued, as one read.
fn from_client(client: &mut ClientSession) -> Vec<u8> {
    std::iter::from_fn(|| client.poll_transmit())
        .flatten()
        .collect()
}

/// Delivers everything the server queued to the client, and lets the
/// device's delayed acknowledgement fall due.
fn to_client(server: &mut ServerSession, client: &mut ClientSession, now: u64) {
    while let Some(bytes) = server.poll_transmit() {
        client.handle_bytes(now, &bytes).expect("client");
    }
    client
        .handle_timeout(now + u64::from(DEFAULT_ACK_DELAY_MS))
        .expect("client");
}

fn inbox_cursor(client: &ClientSession, inbox: u64) -> tidings::proto::Cursor {
    client
        .state()
        .replica()
        .collection(inbox)
        .map(|r| r.cursor())
        .expect("held")
}

#[test]
fn a_caught_up_devices_ack_is_handled_without_a_store_and_its_cursor_handed_back() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let (device, _) = server.device().expect("authenticated");
    town.store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("New", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    server.push_changes(2_000, &town.store).expect("push");
    to_client(&mut server, &mut client, 2_000);
    let ack = from_client(&mut client);
    assert!(!ack.is_empty(), "the device acknowledges the page");
    let stored_before = town.store.cursors(device).expect("cursors");

    let done = server
        .handle_bytes_without_store(2_100, &ack)
        .expect("an ack");
    assert_eq!(
        done,
        WithoutStore {
            acknowledged: vec![inbox_cursor(&client, town.chief_inbox)],
            needs_store: false,
        }
    );
    assert!(server.poll_transmit().is_none(), "nothing to answer");
    // Stored only by the caller.
    assert_eq!(town.store.cursors(device).expect("cursors"), stored_before);
    // The window is free again: the next change goes out as before.
    town.store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("Next", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    server.push_changes(3_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert!(subjects(&client, town.chief_inbox).contains(&"Next".to_string()));
}

#[test]
fn an_ack_that_frees_a_held_back_page_waits_for_the_store_and_then_gets_it() {
    let mut town = Town::new();
    let config = ServerConfig {
        max_unacked_pages: 1,
        page_limits: PageLimits {
            max_items: 1,
            ..PageLimits::default()
        },
        ..ServerConfig::default()
    };
    let code = town.activation(town.chief, 3);
    let state = tidings::session::ClientState::new([3; 32], town.server_public());
    let mut client = ClientSession::enroll(
        tidings::session::ClientConfig::default(),
        state,
        &code,
        "phone",
        [4; 32],
        1_000,
    )
    .expect("enroll");
    let mut server = ServerSession::new(config, town.keys.clone(), [5; 32], 1_000);
    pump(&mut client, &mut server, &mut town.store, 1_000);
    assert!(server.is_established());
    for n in 0..3 {
        let subject = format!("Backlog {n}");
        town.store
            .upsert(
                town.chief_inbox,
                None,
                packed(mail(&subject, "clerk@town.example")),
                0,
            )
            .expect("inbox");
    }
    server.push_changes(3_000, &town.store).expect("push");
    to_client(&mut server, &mut client, 3_000);
    let ack = from_client(&mut client);
    let done = server
        .handle_bytes_without_store(3_100, &ack)
        .expect("an ack");
    assert!(done.needs_store, "a page is held back: {done:?}");
    assert!(done.acknowledged.is_empty());
    assert_eq!(
        server
            .handle_bytes_without_store(3_100, &[])
            .expect_err("messages wait")
            .kind(),
        ErrorKind::InvalidState
    );
    server
        .handle_bytes(3_200, &[], &mut town.store)
        .expect("the waiting ack");
    to_client(&mut server, &mut client, 3_200);
    let held = subjects(&client, town.chief_inbox);
    assert!(
        held.contains(&"Backlog 1".to_string()),
        "the next page: {held:?}"
    );
    pump(&mut client, &mut server, &mut town.store, 3_300);
    let held = subjects(&client, town.chief_inbox);
    for n in 0..3 {
        assert!(held.contains(&format!("Backlog {n}")), "{held:?}");
    }
}

#[test]
fn an_operation_waits_for_the_store_and_is_answered_in_order() {
    let mut town = Town::new();
    let meeting = town.add_meeting(
        town.mayor_calendar,
        "harbour@town",
        "Harbour board",
        &["chief@town.example"],
    );
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let respond = RespondToInvitation {
        calendar_id: town.mayor_calendar,
        item_id: meeting,
        status: ParticipationStatus::Accepted as i32,
        ..Default::default()
    };
    client
        .submit(2_000, [2; 16], Kind::Respond(respond))
        .expect("submit");
    let bytes = from_client(&mut client);
    let done = server
        .handle_bytes_without_store(2_000, &bytes)
        .expect("decrypted");
    assert!(done.needs_store);
    assert!(server.poll_transmit().is_none(), "not answered yet");
    server
        .handle_bytes(2_000, &[], &mut town.store)
        .expect("the operation");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(outcomes(&mut client).len(), 1);
}

#[test]
fn before_the_hello_nothing_is_taken_and_garbage_closes_the_session() {
    let mut town = Town::new();
    let mut fresh = town.server_session(3, 1_000);
    let refused = fresh
        .handle_bytes_without_store(1_000, b"anything")
        .expect_err("not established");
    assert_eq!(refused.kind(), ErrorKind::InvalidState);
    assert!(!fresh.is_closed(), "refused, not failed");

    let (_client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    assert!(server.is_established());
    // A whole frame (u16 length, then the body) that is not sealed by the device.
    let mut frame = vec![0x00, 0x40];
    frame.resize(2 + 0x40, 0xaa);
    assert!(server.handle_bytes_without_store(1_000, &frame).is_err());
    assert!(server.is_closed());
}
