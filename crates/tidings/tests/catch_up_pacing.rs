//! A server that paces devices may hold back a reconnect's first pages
//! (`CatchUpPacing`): the hello is answered with its `Welcome` alone, and
//! the pages come with the server's next `push_changes`. Nothing is lost
//! or sent twice meanwhile.

mod town;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tidings::session::{CatchUpPacing, ClientConfig, ClientSession};
use tidings::store::ItemStore;
use town::*;

/// Holds back every device's first pages while `defer` is set, and
/// remembers which device it was asked about.
#[derive(Default)]
struct Pacing {
    defer: AtomicBool,
    asked: AtomicU64,
}

impl CatchUpPacing for Pacing {
    fn defer_first_pages(&self, device_id: u64) -> bool {
        self.asked.store(device_id, Ordering::SeqCst);
        self.defer.load(Ordering::SeqCst)
    }
}

#[test]
fn first_pages_held_back_come_with_the_next_push_and_only_then() {
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let device = client.state().device_id();
    let state = client.state().clone();
    // Mail the device has not seen: its reconnect has pages to catch up.
    for n in 0..3 {
        town.store
            .upsert(
                town.chief_inbox,
                None,
                packed(mail(&format!("While away {n}"), "clerk@town.example")),
                0,
            )
            .expect("inbox");
    }

    let pacing = Arc::new(Pacing::default());
    pacing.defer.store(true, Ordering::SeqCst);
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 5_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town
        .server_session(10, 5_000)
        .with_catch_up_pacing(pacing.clone());
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert_eq!(
        pacing.asked.load(Ordering::SeqCst),
        device,
        "asked once the device was known"
    );
    assert!(server.is_established(), "the hello was answered");
    assert!(server.catch_up_deferred());
    assert_eq!(
        subjects(&client, town.chief_inbox).len(),
        1,
        "the Welcome alone: nothing of what came while it was away"
    );
    assert!(!client.is_caught_up());

    server
        .push_changes(6_000, &town.store)
        .expect("the pages now");
    assert!(!server.catch_up_deferred());
    pump(&mut client, &mut server, &mut town.store, 6_000);
    let mut got = subjects(&client, town.chief_inbox);
    got.sort();
    assert_eq!(
        got,
        [
            "Agenda for Thursday",
            "While away 0",
            "While away 1",
            "While away 2"
        ]
    );
    assert!(client.is_caught_up());
}

#[test]
fn a_device_the_pacing_lets_through_gets_its_pages_in_the_hello_turn() {
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let state = client.state().clone();
    town.store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("While away", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    let pacing = Arc::new(Pacing::default());
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 5_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(10, 5_000).with_catch_up_pacing(pacing);
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert!(!server.catch_up_deferred());
    assert_eq!(subjects(&client, town.chief_inbox).len(), 2);
    assert!(client.is_caught_up());
}
