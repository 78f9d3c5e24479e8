//! A device ordered wiped (sync.md §5.8) is sent no more data and has no
//! operation applied until it acknowledges: a lost handset whose app
//! ignores the order, or never runs it, gets nothing more, in the session
//! the order reached or in any later one.

mod town;

use tidings::proto::{self, operation::Kind, operation_result::Outcome};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState};
use tidings::store::ItemStore;
use town::*;

fn new_mail(town: &mut Town, subject: &str) -> u64 {
    let (id, _) = town
        .store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail(subject, "ops@town.example")),
            0,
        )
        .expect("inbox");
    id
}

#[test]
fn a_device_ordered_wiped_gets_no_data_and_changes_nothing() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let held = subjects(&client, town.chief_inbox);
    server.order_wipe(2_000, &mut town.store, 77).expect("wipe");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(client_events(&mut client).contains(&ClientEvent::WipeRequested { wipe_id: 77 }));

    // The app does not wipe: new mail is not pushed, a change not applied.
    let flood = new_mail(&mut town, "Flood warning");
    server.push_changes(3_000, &town.store).expect("push");
    let set = Kind::SetFlags(proto::SetFlags {
        collection_id: town.chief_inbox,
        item_ids: vec![flood],
        set: 1,
        clear: 0,
    });
    client.submit(3_000, [5; 16], set).expect("submit");
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert_eq!(subjects(&client, town.chief_inbox), held);
    let denied = u32::from(tidings::ErrorKind::PermissionDenied.code());
    assert!(
        matches!(&outcomes(&mut client)[..], [Outcome::Error(e)] if e.code == denied),
        "refused"
    );
    assert_eq!(town.flags(town.chief_inbox, flood), Some(0));

    // Nor in a later session: no page at all, and the order again.
    let saved = client.state().to_bytes();
    let state = ClientState::from_bytes(&saved).expect("restore");
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 4_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(12, 4_000);
    pump(&mut client, &mut server, &mut town.store, 4_000);
    assert!(!server.is_closed(), "still connected, to be told");
    server
        .order_wipe(4_000, &mut town.store, 77)
        .expect("ordered again");
    pump(&mut client, &mut server, &mut town.store, 4_000);
    let events = client_events(&mut client);
    assert!(events.contains(&ClientEvent::WipeRequested { wipe_id: 77 }));
    assert!(
        !events.iter().any(|e| matches!(
            e,
            ClientEvent::Changed { .. } | ClientEvent::CaughtUp { .. }
        )),
        "{events:?}"
    );
    assert_eq!(subjects(&client, town.chief_inbox), held);
    assert!(
        town.store
            .item(town.chief_inbox, flood)
            .expect("store")
            .is_some()
    );
}

/// Two sessions of one device get the order; the device acknowledges it in
/// one, and the other session's order comes after: the wipe stays done
/// (stored as pending anew, it looked undone for good).
#[test]
fn an_order_that_arrives_after_the_acknowledgement_leaves_the_wipe_done() {
    use tidings::store::{DeviceRegistry, WipeState};
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let device = client.state().device_id();
    let state = ClientState::from_bytes(&client.state().to_bytes()).expect("copy");
    let mut second =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 1_500).expect("resume");
    second.confirm_state_saved();
    let mut second_server = town.server_session(12, 1_500);
    pump(&mut second, &mut second_server, &mut town.store, 1_500);

    server.order_wipe(2_000, &mut town.store, 77).expect("wipe");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    client.acknowledge_wipe(2_000, 77).expect("acknowledge");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(
        town.store.device(device).expect("device").wipe,
        WipeState::Done(77)
    );

    second_server
        .order_wipe(2_100, &mut town.store, 77)
        .expect("late order");
    assert_eq!(
        town.store.device(device).expect("device").wipe,
        WipeState::Done(77),
        "still done"
    );
}
