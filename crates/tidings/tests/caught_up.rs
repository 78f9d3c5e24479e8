//! The protocol's own end of the initial sync (`CaughtUp`, sync.md §3 rule
//! 10) and live collection-list updates (`CollectionsChanged`, §5.6), with
//! the feature bits that keep older devices working (§5.5).

mod town;

use tidings::proto::{CollectionKind, Cursor, Envelope, Hello, envelope::Body};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ServerConfig, ServerSession};
use tidings::store::ItemStore;
use tidings::sync::{PageLimits, Rights};
use town::*;

/// Enrolls the chief with `config`, against a server with `server`.
fn enroll_with(
    town: &mut Town,
    config: ClientConfig,
    server: ServerConfig,
) -> (ClientSession, ServerSession) {
    let code = town.activation(town.chief, 3);
    let state = tidings::session::ClientState::new([3; 32], town.server_public());
    let mut client =
        ClientSession::enroll(config, state, &code, "phone", [4; 32], 1_000).expect("enroll");
    let mut session = ServerSession::new(server, town.keys.clone(), [5; 32], 1_000);
    pump(&mut client, &mut session, &mut town.store, 1_000);
    (client, session)
}

fn caught_up(events: &[ClientEvent]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::CaughtUp {
                collection_id,
                modseq,
            } => Some((*collection_id, *modseq)),
            _ => None,
        })
        .collect()
}

fn cursor(client: &ClientSession, collection: u64) -> Cursor {
    client
        .state()
        .replica()
        .collection(collection)
        .map(|r| r.cursor())
        .expect("held")
}

#[test]
fn every_collection_is_caught_up_once_after_its_pages_and_an_empty_one_gets_no_page() {
    let mut town = Town::new();
    let (mut client, _server) = enroll(&mut town, CHIEF, 7, 1_000);
    let events = client_events(&mut client);
    assert!(client.is_caught_up());
    let mut announced = caught_up(&events);
    announced.sort_unstable();
    let mut expected: Vec<(u64, u64)> =
        [town.mayor_calendar, town.chief_inbox, town.chief_calendar]
            .into_iter()
            .map(|c| (c, cursor(&client, c).modseq))
            .collect();
    expected.sort_unstable();
    assert_eq!(announced, expected, "{events:?}");
    // Each collection's CaughtUp comes after every change of it.
    for (collection, _) in &expected {
        let changed = events.iter().rposition(|e| {
            matches!(e, ClientEvent::Changed { collection_id, .. } if collection_id == collection)
        });
        let done = events.iter().position(|e| {
            matches!(e, ClientEvent::CaughtUp { collection_id, .. } if collection_id == collection)
        });
        assert!(changed < done, "{events:?}");
    }
    // The chief's calendar is empty: caught up at 0, with no page at all.
    assert_eq!(cursor(&client, town.chief_calendar).modseq, 0);
    assert!(!events.iter().any(
        |e| matches!(e, ClientEvent::Changed { collection_id, .. } if *collection_id == town.chief_calendar)
    ));
}

#[test]
fn a_resumed_device_is_told_that_unchanged_collections_are_caught_up() {
    let mut town = Town::new();
    let (client, server) = enroll(&mut town, CHIEF, 7, 1_000);
    let saved = client.state().to_bytes();
    drop((client, server));
    let state = tidings::session::ClientState::from_bytes(&saved).expect("restore");
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [8; 32], 5_000).expect("resume");
    client.confirm_state_saved();
    assert!(!client.is_caught_up(), "not before the welcome");
    let mut server = town.server_session(11, 5_000);
    pump(&mut client, &mut server, &mut town.store, 5_000);
    let events = client_events(&mut client);
    assert_eq!(caught_up(&events).len(), 3, "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientEvent::Changed { .. })),
        "nothing changed, nothing sent: {events:?}"
    );
    assert!(client.is_caught_up());
}

#[test]
fn with_a_small_window_caught_up_waits_for_the_last_page() {
    let mut town = Town::new();
    for n in 0..7 {
        town.add_meeting(town.chief_calendar, &format!("m{n}@town"), "Weekly", &[]);
    }
    let server = ServerConfig {
        max_unacked_pages: 1,
        page_limits: PageLimits {
            max_items: 2,
            ..PageLimits::default()
        },
        ..ServerConfig::default()
    };
    let (mut client, _server) = enroll_with(&mut town, ClientConfig::default(), server);
    let events = client_events(&mut client);
    let pages: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Changed {
                collection_id,
                modseq,
            } if *collection_id == town.chief_calendar => Some(*modseq),
            _ => None,
        })
        .collect();
    assert_eq!(pages.len(), 4, "7 changes, 2 a page: {events:?}");
    let done = caught_up(&events);
    assert!(done.contains(&(town.chief_calendar, 7)), "{done:?}");
    let last_page = events
        .iter()
        .rposition(|e| matches!(e, ClientEvent::Changed { collection_id, .. } if *collection_id == town.chief_calendar));
    let announced = events
        .iter()
        .position(|e| matches!(e, ClientEvent::CaughtUp { collection_id, .. } if *collection_id == town.chief_calendar));
    assert!(last_page < announced);
}

#[test]
fn live_changes_after_it_are_pages_and_not_another_caught_up() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    town.add_meeting(town.chief_calendar, "new@town", "New", &[]);
    server.push_changes(2_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    let events = client_events(&mut client);
    assert!(caught_up(&events).is_empty(), "{events:?}");
    assert!(events.iter().any(
        |e| matches!(e, ClientEvent::Changed { collection_id, .. } if *collection_id == town.chief_calendar)
    ));
    assert!(client.is_caught_up());
}

#[test]
fn after_a_resync_the_collection_is_caught_up_again() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    // The inbox is recreated (a new epoch): the device syncs it afresh.
    town.store
        .change_log_mut(town.chief_inbox)
        .expect("inbox")
        .recreate();
    town.store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("After", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    server.push_changes(2_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    let events = client_events(&mut client);
    let resync = events
        .iter()
        .position(|e| matches!(e, ClientEvent::Resync { .. }));
    let again = events.iter().position(
        |e| matches!(e, ClientEvent::CaughtUp { collection_id, .. } if *collection_id == town.chief_inbox),
    );
    assert!(resync.is_some() && resync < again, "{events:?}");
    assert!(client.is_caught_up());
}

#[test]
fn an_older_device_gets_neither_message_and_keeps_working() {
    let mut town = Town::new();
    let old = ClientConfig {
        features: 0,
        ..ClientConfig::default()
    };
    let (mut client, mut server) = enroll_with(&mut town, old, ServerConfig::default());
    let events = client_events(&mut client);
    assert!(caught_up(&events).is_empty(), "{events:?}");
    assert!(!client.is_caught_up());
    // A new collection: an older device is told nothing until it reconnects.
    let extra = town
        .store
        .add_collection(town.chief, CollectionKind::Mail, "Archive")
        .expect("chief");
    assert!(
        server
            .refresh_collections(2_000, &town.store)
            .expect("refresh")
    );
    town.add_meeting(town.chief_calendar, "later@town", "Later", &[]);
    server.push_changes(2_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    let events = client_events(&mut client);
    assert!(!client.is_closed() && !server.is_closed(), "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientEvent::CollectionsChanged { .. }))
    );
    assert!(client.state().replica().collection(extra).is_none());
    assert_eq!(cursor(&client, town.chief_calendar).modseq, 1);
}

#[test]
fn a_new_renamed_or_withdrawn_collection_reaches_the_device_in_the_session() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);

    // Nothing changed: nothing sent.
    assert!(
        !server
            .refresh_collections(1_500, &town.store)
            .expect("refresh")
    );

    // A folder appears (an import, the IMAP gateway) with a mail in it.
    let archive = town
        .store
        .add_collection(town.chief, CollectionKind::Mail, "Archive")
        .expect("chief");
    town.store
        .upsert(
            archive,
            None,
            packed(mail("Old minutes", "clerk@town.example")),
            0,
        )
        .expect("archive");
    assert!(
        server
            .refresh_collections(2_000, &town.store)
            .expect("refresh")
    );
    pump(&mut client, &mut server, &mut town.store, 2_000);
    let events = client_events(&mut client);
    let listed = events.iter().find_map(|e| match e {
        ClientEvent::CollectionsChanged { collections } => Some(collections.clone()),
        _ => None,
    });
    assert!(
        listed.is_some_and(|l| l.iter().any(|c| c.id == archive && c.name == "Archive")),
        "{events:?}"
    );
    assert_eq!(subjects(&client, archive), vec!["Old minutes"]);
    assert!(caught_up(&events).contains(&(archive, 1)), "{events:?}");
    assert!(client.is_caught_up());

    // Renamed: the items and cursor stay, no resync.
    town.store
        .rename_collection(archive, "Minutes")
        .expect("archive");
    assert!(
        server
            .refresh_collections(3_000, &town.store)
            .expect("refresh")
    );
    pump(&mut client, &mut server, &mut town.store, 3_000);
    let events = client_events(&mut client);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientEvent::Resync { .. })),
        "{events:?}"
    );
    let name = client
        .state()
        .replica()
        .collections()
        .find(|(info, _)| info.id == archive)
        .map(|(info, _)| info.name.clone());
    assert_eq!(name.as_deref(), Some("Minutes"));
    assert_eq!(subjects(&client, archive), vec!["Old minutes"]);

    // The mayor's calendar delegation is withdrawn: gone from the device.
    town.store
        .grant(town.mayor_calendar, town.chief, Rights::NONE)
        .expect("grant");
    assert!(
        server
            .refresh_collections(4_000, &town.store)
            .expect("refresh")
    );
    pump(&mut client, &mut server, &mut town.store, 4_000);
    client_events(&mut client);
    assert!(
        client
            .state()
            .replica()
            .collection(town.mayor_calendar)
            .is_none()
    );
    // ...and a change there is not sent.
    town.add_meeting(town.mayor_calendar, "secret@town", "Private", &[]);
    server.push_changes(5_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert!(!client.is_closed() && !server.is_closed());
    assert!(client.is_caught_up());
}

#[test]
fn the_features_a_hello_carries_are_the_clients_config() {
    let config = ClientConfig::default();
    assert_eq!(config.features, tidings::session::FEATURES);
    assert_eq!(tidings::session::FEATURES, 15);
    let hello = Envelope {
        body: Some(Body::Hello(Hello {
            features: config.features,
            ..Hello::default()
        })),
    };
    let decoded: Envelope = tidings::proto::decode(&tidings::proto::encode(&hello)).expect("hello");
    assert!(matches!(decoded.body, Some(Body::Hello(h)) if h.features == 15));
}

/// An acknowledgement costs the server no read of a collection it has sent
/// everything of: news of a change comes from the application
/// (`push_changes`), which the server calls after every commit. So a change
/// nobody announced waits for the next announcement, and is then sent.
#[test]
fn an_acknowledgement_of_a_caught_up_collection_reads_nothing() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let inbox = town.chief_inbox;
    town.store
        .upsert(
            inbox,
            None,
            packed(mail("Announced", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    server.push_changes(2_000, &town.store).expect("push");
    while let Some(bytes) = server.poll_transmit() {
        client.handle_bytes(2_000, &bytes).expect("page");
    }
    // Committed after the page left, and not announced.
    town.store
        .upsert(
            inbox,
            None,
            packed(mail("Unannounced", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    // The device's acknowledgement reaches the server: nothing more is sent.
    pump(&mut client, &mut server, &mut town.store, 3_000);
    let held = subjects(&client, inbox);
    assert!(held.contains(&"Announced".to_string()), "{held:?}");
    assert!(!held.contains(&"Unannounced".to_string()), "{held:?}");
    // Announced: sent.
    server.push_changes(4_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 4_000);
    assert!(subjects(&client, inbox).contains(&"Unannounced".to_string()));
}
