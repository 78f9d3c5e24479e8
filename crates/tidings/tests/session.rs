//! Sessions end to end, in memory: enrollment, initial sync, live push and fan-out, resume from saved state.

mod town;

use tidings::proto::{self, SetFlags, operation::Kind, operation_result::Outcome};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState, ServerEvent};
use tidings::store::ItemStore;
use town::*;

#[test]
fn the_chief_holds_the_mayors_calendar_but_not_the_mayors_mail() {
    let mut town = Town::new();
    let meeting = town.add_meeting(
        town.mayor_calendar,
        "harbour@town",
        "Harbour board",
        &["mayor@town.example"],
    );
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let events = client_events(&mut client);
    assert!(
        matches!(events.first(), Some(ClientEvent::Enrolled { .. })),
        "{events:?}"
    );
    assert!(
        matches!(server_events(&mut server).first(), Some(ServerEvent::Enrolled { principal_id, .. }) if *principal_id == town.chief)
    );

    let held: Vec<u64> = client
        .state()
        .replica()
        .collections()
        .map(|(info, _)| info.id)
        .collect();
    assert_eq!(
        held,
        vec![town.mayor_calendar, town.chief_inbox, town.chief_calendar]
    );
    assert_eq!(
        subjects(&client, town.chief_inbox),
        vec!["Agenda for Thursday"]
    );
    assert_eq!(
        event(&client, town.mayor_calendar, meeting)
            .master
            .map(|m| m.summary),
        Some("Harbour board".into())
    );
    assert!(
        client
            .state()
            .replica()
            .collection(town.mayor_inbox)
            .is_none()
    );
}

#[test]
fn new_mail_is_pushed_live_and_a_flag_change_goes_back_up() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);

    let (id, _) = town
        .store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("Flood warning", "ops@town.example")),
            0,
        )
        .expect("inbox");
    server.push_changes(2_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(subjects(&client, town.chief_inbox).contains(&"Flood warning".to_string()));
    assert!(client_events(&mut client).iter().any(|e| matches!(e, ClientEvent::Changed { collection_id, .. } if *collection_id == town.chief_inbox)));

    let set = SetFlags {
        collection_id: town.chief_inbox,
        item_ids: vec![id],
        set: 1,
        clear: 0,
    };
    client
        .submit(3_000, [1; 16], Kind::SetFlags(set.clone()))
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert_eq!(town.flags(town.chief_inbox, id), Some(1));
    let held = client
        .state()
        .replica()
        .collection(town.chief_inbox)
        .and_then(|r| r.items().get(&id))
        .map(|i| i.flags);
    assert_eq!(held, Some(1));
    assert!(client.state().outbox().is_empty());

    // Retrying the same operation id is answered again, not applied again.
    let modseq = town
        .store
        .collection_state(town.chief_inbox)
        .expect("inbox")
        .1;
    client
        .submit(
            4_000,
            [1; 16],
            Kind::SetFlags(SetFlags {
                set: 0,
                clear: 1,
                ..set
            }),
        )
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 4_000);
    assert_eq!(
        town.store
            .collection_state(town.chief_inbox)
            .expect("inbox")
            .1,
        modseq
    );
    assert_eq!(town.flags(town.chief_inbox, id), Some(1));
}

#[test]
fn a_restarted_handset_resumes_without_resync_and_keeps_its_outbox() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    // Offline: a flag change is queued; then the handset restarts.
    let inbox_item = *client
        .state()
        .replica()
        .collection(town.chief_inbox)
        .and_then(|r| r.items().keys().next())
        .expect("mail");
    client
        .submit(
            1_500,
            [6; 16],
            Kind::SetFlags(SetFlags {
                collection_id: town.chief_inbox,
                item_ids: vec![inbox_item],
                set: 2,
                clear: 0,
            }),
        )
        .expect("queue");
    let saved = client.state().to_bytes();
    drop((client, server));

    town.store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("While you were away", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    let state = ClientState::from_bytes(&saved).expect("restore");
    assert_eq!(state.outbox().len(), 1);
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [8; 32], 5_000).expect("resume");
    client.confirm_state_saved();
    server = town.server_session(11, 5_000);
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert!(client.is_established());
    let events = client_events(&mut client);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ClientEvent::Resync { .. })),
        "{events:?}"
    );
    assert_eq!(subjects(&client, town.chief_inbox).len(), 2);
    assert!(
        client.state().outbox().is_empty(),
        "outbox sent and answered"
    );
    assert_eq!(town.flags(town.chief_inbox, inbox_item), Some(2));
}

#[test]
fn a_prepared_page_reaches_every_caught_up_follower_and_no_one_else() {
    let mut town = Town::new();
    town.add_meeting(town.mayor_calendar, "a@town", "Before", &[]);
    let (mut chief, mut chief_server) = enroll(&mut town, CHIEF, 7, 1_000);
    let (mut mayor, mut mayor_server) = enroll(&mut town, MAYOR, 9, 1_000);
    // One ordinary push first, so both sessions are in the continuing form.
    town.add_meeting(town.mayor_calendar, "b@town", "Warm-up", &[]);
    for (client, server) in [
        (&mut chief, &mut chief_server),
        (&mut mayor, &mut mayor_server),
    ] {
        server.push_changes(1_500, &town.store).expect("push");
        pump(client, server, &mut town.store, 1_500);
    }
    let from = chief
        .state()
        .replica()
        .collection(town.mayor_calendar)
        .expect("held")
        .cursor();
    let id = town.add_meeting(town.mayor_calendar, "c@town", "Fan-out", &[]);

    let page = tidings::session::PreparedPage::new(&town.store, &from, &Default::default())
        .expect("store")
        .expect("new page");
    for (n, (client, server)) in [
        (&mut chief, &mut chief_server),
        (&mut mayor, &mut mayor_server),
    ]
    .into_iter()
    .enumerate()
    {
        // The second with the rights read once for every device (the owner's).
        let took = match n {
            0 => server.push_prepared(2_000, &town.store, &page),
            _ => server.push_prepared_with_rights(2_000, tidings::sync::Rights::OWNER, &page),
        };
        assert!(took.expect("push"), "caught-up follower takes it");
        assert!(
            !server
                .push_prepared(2_000, &town.store, &page)
                .expect("push"),
            "but only once"
        );
        pump(client, server, &mut town.store, 2_000);
        assert_eq!(
            event(client, town.mayor_calendar, id)
                .master
                .map(|m| m.summary),
            Some("Fan-out".into())
        );
    }
    // A session standing elsewhere declines it and catches up on its own.
    let old = proto::Cursor {
        collection_id: town.mayor_calendar,
        epoch: 1,
        modseq: 1,
        ..Default::default()
    };
    let stale = tidings::session::PreparedPage::new(&town.store, &old, &Default::default())
        .expect("store")
        .expect("page");
    assert!(
        !chief_server
            .push_prepared(2_100, &town.store, &stale)
            .expect("push")
    );
    // Rights read once for every device do not change where it stands.
    assert!(
        !chief_server
            .push_prepared_with_rights(2_100, tidings::sync::Rights::READ, &stale)
            .expect("push")
    );
}

#[test]
fn operations_queued_before_enrollment_completes_are_sent_after_it() {
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let mut client =
        ClientSession::enroll(ClientConfig::default(), state, &code, "phone", [4; 32], 0)
            .expect("enroll");
    let search = proto::Search {
        query: "agenda".into(),
        ..Default::default()
    };
    client
        .submit(0, [7; 16], Kind::Search(search))
        .expect("queued");
    let mut server = town.server_session(5, 0);
    pump(&mut client, &mut server, &mut town.store, 0);
    assert!(
        client.state().outbox().is_empty(),
        "answered after enrollment"
    );
    let hits = client_events(&mut client)
        .into_iter()
        .find_map(|e| match e {
            ClientEvent::OperationResult(proto::OperationResult {
                outcome: Some(Outcome::Search(s)),
                ..
            }) => Some(s.hits.len()),
            _ => None,
        });
    assert_eq!(hits, Some(1));
}

#[test]
fn an_ack_from_before_a_resync_does_not_end_the_session() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    // A page goes out; before its ack arrives the collection is recreated.
    town.store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("In flight", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    server.push_changes(2_000, &town.store).expect("push");
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
    assert!(
        !server.is_closed() && !client.is_closed(),
        "{:?}",
        server_events(&mut server)
    );
    assert_eq!(subjects(&client, town.chief_inbox), vec!["After"]);
}

#[test]
fn the_page_window_never_leaks_with_empty_collections_and_repairs() {
    use tidings::session::{ServerConfig, ServerSession};
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let mut client =
        ClientSession::enroll(ClientConfig::default(), state, &code, "phone", [4; 32], 0)
            .expect("enroll");
    let config = ServerConfig {
        max_unacked_pages: 1,
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(config, town.keys.clone(), [5; 32], 0);
    pump(&mut client, &mut server, &mut town.store, 0);
    // The chief's own calendar started empty: no page, its cursor stays at 0.
    for n in 1..=3u64 {
        let uid = format!("m{n}@town");
        town.add_meeting(town.chief_calendar, &uid, "Weekly", &[]);
        server.push_changes(n * 1_000, &town.store).expect("push");
        pump(&mut client, &mut server, &mut town.store, n * 1_000);
        let held = client
            .state()
            .replica()
            .collection(town.chief_calendar)
            .map_or(0, |r| r.items().len());
        assert_eq!(held as u64, n, "push {n} arrived");
    }
}

#[test]
fn a_server_closing_cleanly_tells_the_device() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    server.close(2_000).expect("close");
    assert!(server.is_closed());
    assert!(matches!(
        server_events(&mut server).last(),
        Some(ServerEvent::Closed { error: None })
    ));
    tidings::session::pump(&mut client, &mut server, &mut town.store, 2_000).expect("pump");
    assert!(client.is_closed());
    assert!(matches!(
        client_events(&mut client).last(),
        Some(ClientEvent::Closed { error: None })
    ));
}
