//! Sessions end to end, in memory: enrollment, initial sync, live push,
//! operations, conflicts, resume from saved state, revocation and wipe.

mod town;

use tidings::ErrorKind;
use tidings::proto::{
    self, CollectionKind, Item, ParticipationStatus, RespondToInvitation, SetFlags, UpdateEvent,
    item, operation::Kind, operation_result::Outcome,
};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState, ServerEvent};
use tidings::store::{DeviceRegistry, ItemStore};
use town::*;

const CHIEF: Who = Who::Chief;
const MAYOR: Who = Who::Mayor;

fn items_of(client: &ClientSession, collection: u64) -> Vec<Item> {
    client
        .state()
        .replica()
        .collection(collection)
        .map(|r| r.items().values().map(|i| i.item.clone()).collect())
        .unwrap_or_default()
}

fn subjects(client: &ClientSession, collection: u64) -> Vec<String> {
    items_of(client, collection)
        .into_iter()
        .filter_map(|i| match i.kind {
            Some(item::Kind::Mail(m)) => m.headers.map(|h| h.subject),
            _ => None,
        })
        .collect()
}

fn event(client: &ClientSession, calendar: u64, id: u64) -> proto::CalendarItem {
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
    assert_eq!(
        town.store
            .item(town.chief_inbox, id)
            .expect("store")
            .map(|(_, f)| f),
        Some(1)
    );
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
    assert_eq!(
        town.store
            .item(town.chief_inbox, id)
            .expect("store")
            .map(|(_, f)| f),
        Some(1)
    );
}

#[test]
fn the_mayor_accepts_and_the_chiefs_device_shows_it_then_the_later_writer_conflicts() {
    let mut town = Town::new();
    let meeting = town.add_meeting(
        town.mayor_calendar,
        "harbour@town",
        "Harbour board",
        &["mayor@town.example"],
    );
    let (mut chief, mut chief_server) = enroll(&mut town, CHIEF, 7, 1_000);
    let (mut mayor, mut mayor_server) = enroll(&mut town, MAYOR, 9, 1_000);

    let respond = RespondToInvitation {
        calendar_id: town.mayor_calendar,
        item_id: meeting,
        status: ParticipationStatus::Accepted as i32,
        ..Default::default()
    };
    mayor
        .submit(2_000, [2; 16], Kind::Respond(respond))
        .expect("submit");
    pump(&mut mayor, &mut mayor_server, &mut town.store, 2_000);
    chief_server.push_changes(2_000, &town.store).expect("push");
    pump(&mut chief, &mut chief_server, &mut town.store, 2_000);
    let seen = event(&chief, town.mayor_calendar, meeting);
    let status = seen.master.as_ref().map(|m| m.attendees[0].status);
    assert_eq!(status, Some(ParticipationStatus::Accepted as i32));
    assert_eq!(seen.version, 2);

    // The mayor edits the meeting; the chief, still holding version 2, moves it too.
    let mut mayors_edit = event(&mayor, town.mayor_calendar, meeting);
    if let Some(m) = mayors_edit.master.as_mut() {
        m.location = "Council Chamber".into();
    }
    let update = |item, version| {
        Kind::UpdateEvent(UpdateEvent {
            calendar_id: town.mayor_calendar,
            item: Some(item),
            expected_version: version,
        })
    };
    mayor
        .submit(3_000, [3; 16], update(mayors_edit, 2))
        .expect("submit");
    pump(&mut mayor, &mut mayor_server, &mut town.store, 3_000);
    let mut chiefs_edit = seen.clone();
    if let Some(start) = chiefs_edit.master.as_mut().and_then(|m| m.start.as_mut()) {
        start.value = "20261203T140000".into();
    }
    chief
        .submit(3_001, [4; 16], update(chiefs_edit, 2))
        .expect("submit");
    pump(&mut chief, &mut chief_server, &mut town.store, 3_001);
    let answer = client_events(&mut chief)
        .into_iter()
        .rev()
        .find_map(|e| match e {
            ClientEvent::OperationResult(r) => r.outcome,
            _ => None,
        });
    match answer {
        Some(Outcome::Conflict(conflict)) => {
            assert_eq!(conflict.current_version, 3);
            let current: Item = proto::decode(
                &tidings::compress::unpack(&conflict.current, &Default::default()).expect("packed"),
            )
            .expect("item");
            let Some(item::Kind::Calendar(current)) = current.kind else {
                panic!("not an event")
            };
            assert_eq!(
                current.master.map(|m| m.location),
                Some("Council Chamber".into())
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn a_delegate_without_write_rights_is_refused() {
    let mut town = Town::new();
    let meeting = town.add_meeting(
        town.mayor_calendar,
        "m@town",
        "Budget",
        &["mayor@town.example"],
    );
    town.store
        .grant(town.mayor_calendar, town.chief, tidings::sync::Rights::READ)
        .expect("grant");
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let held = event(&chief, town.mayor_calendar, meeting);
    chief
        .submit(
            2_000,
            [5; 16],
            Kind::UpdateEvent(UpdateEvent {
                calendar_id: town.mayor_calendar,
                item: Some(held),
                expected_version: 1,
            }),
        )
        .expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    let refused = client_events(&mut chief).into_iter().any(|e| {
        matches!(e, ClientEvent::OperationResult(proto::OperationResult { outcome: Some(Outcome::Error(ref info)), .. }) if info.code == u32::from(ErrorKind::PermissionDenied.code()))
    });
    assert!(refused);
}

#[test]
fn a_restarted_handset_resumes_without_resync_and_keeps_its_outbox() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let saved = client.state().to_bytes();
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
    let _ = saved;
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
    assert_eq!(
        town.store
            .item(town.chief_inbox, inbox_item)
            .expect("store")
            .map(|(_, f)| f),
        Some(2)
    );
}

#[test]
fn revoked_devices_are_told_and_refused_and_wipes_are_acknowledged() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server.order_wipe(2_000, &mut town.store, 77).expect("wipe");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(client_events(&mut client).contains(&ClientEvent::WipeRequested { wipe_id: 77 }));
    client.acknowledge_wipe(2_100, 77).expect("ack");
    pump(&mut client, &mut server, &mut town.store, 2_100);
    assert!(
        server_events(&mut server)
            .iter()
            .any(|e| matches!(e, ServerEvent::WipeAcknowledged { wipe_id: 77, .. }))
    );

    let saved = client.state().to_bytes();
    server.revoke(3_000, &mut town.store).expect("revoke");
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert!(client.is_closed());
    assert!(client_events(&mut client).contains(&ClientEvent::Revoked));

    let state = ClientState::from_bytes(&saved).expect("restore");
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 4_000).expect("resume");
    let mut server = town.server_session(12, 4_000);
    pump(&mut client, &mut server, &mut town.store, 4_000);
    assert!(client.is_closed() && server.is_closed());
    assert!(client_events(&mut client).contains(&ClientEvent::Revoked));
    let _ = town.store.device(1);
}

#[test]
fn wrong_and_reused_activation_codes_are_refused_with_a_typed_error() {
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let mut wrong = code.clone();
    wrong.replace_range(18.., if code.ends_with('0') { "1" } else { "0" });
    let try_enroll = |town: &mut Town, code: &str, seed: u8| {
        let state = ClientState::new([seed; 32], town.server_public());
        let mut client =
            ClientSession::enroll(ClientConfig::default(), state, code, "phone", [seed; 32], 0)
                .expect("start");
        let mut server = town.server_session(seed, 0);
        pump(&mut client, &mut server, &mut town.store, 0);
        client_events(&mut client)
            .into_iter()
            .find_map(|e| match e {
                ClientEvent::Closed { error } => error.map(|e| e.kind()),
                _ => None,
            })
    };
    assert_eq!(
        try_enroll(&mut town, &wrong, 20),
        Some(ErrorKind::ActivationRejected)
    );
    assert_eq!(
        try_enroll(&mut town, &code, 21),
        None,
        "the right code still works"
    );
    assert_eq!(
        try_enroll(&mut town, &code, 22),
        Some(ErrorKind::ActivationRejected),
        "used codes are burned"
    );
    let _ = CollectionKind::Mail;
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
    for (client, server) in [
        (&mut chief, &mut chief_server),
        (&mut mayor, &mut mayor_server),
    ] {
        assert!(
            server.push_prepared(2_000, &page).expect("push"),
            "caught-up follower takes it"
        );
        assert!(
            !server.push_prepared(2_000, &page).expect("push"),
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
    assert!(!chief_server.push_prepared(2_100, &stale).expect("push"));
}

#[test]
fn replies_are_handed_to_the_mail_transport_once_with_the_servers_original() {
    let mut town = Town::new();
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);
    let original = *chief
        .state()
        .replica()
        .collection(town.chief_inbox)
        .and_then(|r| r.items().keys().next())
        .expect("mail");
    let reply = proto::ReplyMail {
        collection_id: town.chief_inbox,
        item_id: original,
        reply_all: true,
        mail: Some(proto::OutgoingMail {
            text: "Agreed.".into(),
            ..Default::default()
        }),
    };
    for _ in 0..2 {
        chief
            .submit(2_000, [8; 16], Kind::ReplyMail(reply.clone()))
            .expect("submit");
        pump(&mut chief, &mut server, &mut town.store, 2_000);
    }
    let outgoing: Vec<_> = server_events(&mut server)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Outgoing(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(outgoing.len(), 1, "a retried reply is sent once");
    let sent = &outgoing[0];
    assert_eq!(sent.principal_id, town.chief);
    assert_eq!(sent.mail.text, "Agreed.");
    let from_store = town
        .store
        .item(town.chief_inbox, original)
        .expect("store")
        .map(|(p, _)| p);
    assert_eq!(
        sent.original
            .as_ref()
            .map(|o| (o.relation, o.packed.clone())),
        Some((
            tidings::session::Relation::Reply { all: true },
            from_store.expect("live")
        ))
    );

    // The mayor's mail is not the chief's to forward.
    let mayors = *town
        .store
        .items(town.mayor_inbox)
        .expect("inbox")
        .first()
        .map(|(id, _, _)| id)
        .expect("mail");
    let forward = proto::ForwardMail {
        collection_id: town.mayor_inbox,
        item_id: mayors,
        mail: None,
    };
    chief
        .submit(3_000, [9; 16], Kind::ForwardMail(forward))
        .expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 3_000);
    assert!(
        !server_events(&mut server)
            .iter()
            .any(|e| matches!(e, ServerEvent::Outgoing(_)))
    );
    let refused = client_events(&mut chief).into_iter().any(|e| {
        matches!(e, ClientEvent::OperationResult(proto::OperationResult { outcome: Some(Outcome::Error(ref info)), .. }) if info.code == 503)
    });
    assert!(refused);
}

#[test]
fn a_new_policy_is_pushed_kept_in_the_saved_state_and_reported_on_resume() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    let policy = proto::Policy {
        version: 2,
        require_passcode: true,
        max_preview_bytes: 512,
        keepalive_seconds: 120,
        ..Default::default()
    };
    server
        .send_policy(2_000, &mut town.store, policy)
        .expect("policy");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(client_events(&mut client).contains(&ClientEvent::Policy(policy)));
    let restored = ClientState::from_bytes(&client.state().to_bytes()).expect("restore");
    assert_eq!(restored.policy(), &policy);
    // The store keeps it: a reconnecting device is told it in the Welcome.
    let mut client =
        ClientSession::resume(ClientConfig::default(), restored, [8; 32], 3_000).expect("resume");
    let mut server = town.server_session(13, 3_000);
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert_eq!(client.state().policy(), &policy);
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
fn a_first_frame_of_an_unknown_version_gets_a_plaintext_refusal() {
    let town = Town::new();
    let mut store = town.store.clone();
    let mut server = town.server_session(5, 0);
    let err = server
        .handle_bytes(0, &[0, 3, 9, 2, 0], &mut store)
        .expect_err("version 9");
    assert_eq!(err, tidings::Error::UnknownVersion(9));
    assert_eq!(
        server.poll_transmit(),
        Some(vec![0, 2, 0, tidings::frame::PROTOCOL_VERSION])
    );
    assert!(server.is_closed());

    // A client that receives such a refusal closes with a typed error.
    let state = ClientState::new([3; 32], town.server_public());
    let mut client = ClientSession::enroll(
        ClientConfig::default(),
        state,
        "0000-0000-0000-0000",
        "phone",
        [4; 32],
        0,
    )
    .expect("enroll");
    let err = client.handle_bytes(0, &[0, 2, 0, 7]).expect_err("refused");
    assert_eq!(err, tidings::Error::VersionRefused { supported: 7 });
}

#[test]
fn a_state_changing_request_in_the_ik_early_payload_is_refused_and_changes_nothing() {
    use tidings::crypto::{IkInitiator, StaticKeypair};
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let device_id = client.state().device_id();
    let mail = *town
        .store
        .items(town.chief_inbox)
        .expect("inbox")
        .first()
        .map(|(id, _, _)| id)
        .expect("mail");
    let modseq = town
        .store
        .collection_state(town.chief_inbox)
        .expect("inbox")
        .1;

    // A hello whose early payload is an operation, not a Hello.
    let op = proto::Operation {
        op_id: vec![1; 16],
        kind: Some(Kind::DeleteItems(proto::DeleteItems {
            collection_id: town.chief_inbox,
            item_ids: vec![mail],
        })),
    };
    let mut early = Vec::new();
    tidings::compress::pad(
        &proto::encode(&proto::Envelope {
            body: Some(proto::envelope::Body::Operation(op)),
        }),
        &mut early,
    );
    let device = StaticKeypair::from_secret_bytes([7; 32]);
    let mut body = vec![tidings::session::HANDSHAKE_IK];
    IkInitiator::new(&device, town.server_public(), [8; 32], 5_000)
        .write_hello(&early, &mut body)
        .expect("hello");
    let mut frame = Vec::new();
    tidings::frame::FrameEncoder::new()
        .encode(&body, &mut frame)
        .expect("frame");

    let mut server = town.server_session(9, 5_000);
    let err = server
        .handle_bytes(5_000, &frame, &mut town.store)
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::EarlyDataNotAllowed);
    assert!(server.is_closed());
    assert_eq!(server.poll_transmit(), None, "nothing is answered");
    assert_eq!(
        town.store
            .collection_state(town.chief_inbox)
            .expect("inbox")
            .1,
        modseq,
        "nothing changed"
    );
    assert_eq!(
        town.store.device(device_id).expect("device").last_hello,
        None,
        "the timestamp was not consumed"
    );
}

#[test]
fn free_busy_is_answered_for_principals_the_device_may_see() {
    let mut town = Town::new();
    // 09:00-10:00 on 3 December 2026 in London, which is UTC in winter.
    town.add_meeting(
        town.mayor_calendar,
        "harbour@town",
        "Harbour board",
        &["mayor@town.example"],
    );
    let visitor = town
        .store
        .add_principal("Visitor", "visitor@elsewhere.example");
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let query = |who: u64| {
        Kind::FreeBusy(proto::FreeBusyQuery {
            principal_id: who,
            start: 1_796_083_200,
            end: 1_796_688_000,
        })
    };
    chief
        .submit(2_000, [10; 16], query(town.mayor))
        .expect("submit");
    chief
        .submit(2_000, [11; 16], query(visitor))
        .expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    let outcomes: Vec<Outcome> = client_events(&mut chief)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::OperationResult(r) => r.outcome,
            _ => None,
        })
        .collect();
    let busy = proto::BusyPeriod {
        start: 1_796_288_400,
        end: 1_796_292_000,
        tentative: false,
    };
    assert_eq!(
        outcomes[0],
        Outcome::FreeBusy(proto::FreeBusy {
            periods: vec![busy]
        })
    );
    assert_eq!(
        outcomes[1],
        Outcome::Error(proto::ErrorInfo {
            code: ErrorKind::PermissionDenied.code().into()
        })
    );
}

#[test]
fn a_device_the_server_does_not_know_is_told_so() {
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let saved = client.state().to_bytes();
    // A server that lost its device registry (a fresh store with the same key).
    let mut other = Town::new();
    let mut client = ClientSession::resume(
        ClientConfig::default(),
        ClientState::from_bytes(&saved).expect("restore"),
        [2; 32],
        2_000,
    )
    .expect("resume");
    let mut server = other.server_session(3, 2_000);
    pump(&mut client, &mut server, &mut other.store, 2_000);
    assert!(client.is_closed() && server.is_closed());
    let error = client_events(&mut client)
        .into_iter()
        .find_map(|e| match e {
            ClientEvent::Closed { error } => error.map(|e| e.kind()),
            _ => None,
        });
    assert_eq!(error, Some(ErrorKind::UnknownPeer));
}
