//! Operations through sessions: conflicts, rights, invitations, mail sending, free/busy.

mod town;

use tidings::ErrorKind;
use tidings::proto::{
    self, Item, ParticipationStatus, RespondToInvitation, UpdateEvent, item, operation::Kind,
    operation_result::Outcome,
};
use tidings::session::{
    ClientEvent, ClientSession, MailTransport, Outgoing, ServerEvent, ServerSession,
};
use tidings::store::ItemStore;
use tidings::store::MemoryStore;
use town::*;

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
    // Named by nobody, the reply goes to the original's sender.
    let to: Vec<&str> = sent.mail.to.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(to, ["clerk@town.example"]);
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
fn a_mail_that_cannot_be_sent_is_refused_before_done() {
    // Answered `Done`, a mail the transport then cannot compose would be
    // lost without the sender knowing; it is refused with its reason.
    let mut town = Town::new();
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);
    let to = |email: &str| proto::Address {
        name: String::new(),
        email: email.into(),
    };
    let attachment = |content_type: &str| proto::OutgoingAttachment {
        filename: "notes.txt".into(),
        content_type: content_type.into(),
        data: b"notes".to_vec(),
        ..Default::default()
    };
    let cases = [
        (proto::OutgoingMail::default(), ErrorKind::InvalidArgument),
        (
            proto::OutgoingMail {
                to: vec![to("clerk@town.example>\r\nBcc: spy@evil.example")],
                ..Default::default()
            },
            ErrorKind::InvalidAddress,
        ),
        (
            proto::OutgoingMail {
                to: vec![to("clerk@town.example")],
                attachments: vec![attachment("text/plain\r\nBcc: spy@evil.example")],
                ..Default::default()
            },
            ErrorKind::InvalidMediaType,
        ),
    ];
    for (n, (mail, kind)) in cases.into_iter().enumerate() {
        let op_id = [20 + n as u8; 16];
        let send = proto::SendMail { mail: Some(mail) };
        chief
            .submit(2_000, op_id, Kind::SendMail(send))
            .expect("submit");
        pump(&mut chief, &mut server, &mut town.store, 2_000);
        let refused = client_events(&mut chief).into_iter().any(|e| {
            matches!(e, ClientEvent::OperationResult(proto::OperationResult { outcome: Some(Outcome::Error(ref info)), .. }) if info.code == u32::from(kind.code()))
        });
        assert!(refused, "case {n}: refused with {kind:?}");
    }
    // With its parameters, a media type an app writes is sent.
    let fine = proto::OutgoingMail {
        to: vec![to("clerk@town.example")],
        attachments: vec![attachment("text/plain; charset=utf-8")],
        ..Default::default()
    };
    chief
        .submit(
            3_000,
            [30; 16],
            Kind::SendMail(proto::SendMail { mail: Some(fine) }),
        )
        .expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 3_000);
    let sent = server_events(&mut server)
        .into_iter()
        .filter(|e| matches!(e, ServerEvent::Outgoing(_)))
        .count();
    assert_eq!(sent, 1, "only the mail that can be sent is handed over");
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
            periods: vec![busy],
            ..proto::FreeBusy::default()
        })
    );
    assert_eq!(
        outcomes[1],
        Outcome::Error(proto::ErrorInfo {
            code: ErrorKind::PermissionDenied.code().into(),
            hello_floor: 0,
        })
    );
}

#[test]
fn mail_cannot_be_moved_into_a_calendar() {
    let mut town = Town::new();
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let mail = *chief
        .state()
        .replica()
        .collection(town.chief_inbox)
        .and_then(|r| r.items().keys().next())
        .expect("mail");
    let move_items = proto::MoveItems {
        collection_id: town.chief_inbox,
        item_ids: vec![mail],
        to_collection_id: town.chief_calendar,
    };
    chief
        .submit(2_000, [12; 16], Kind::MoveItems(move_items))
        .expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    assert_eq!(
        outcomes(&mut chief),
        vec![Outcome::Error(proto::ErrorInfo {
            code: ErrorKind::InvalidArgument.code().into(),
            hello_floor: 0,
        })]
    );
    assert!(
        town.store
            .item(town.chief_inbox, mail)
            .expect("store")
            .is_some(),
        "the mail stayed"
    );
    assert!(
        town.store
            .items(town.chief_calendar)
            .expect("calendar")
            .is_empty()
    );
}

/// The event as the server's store holds it.
fn stored(town: &Town, calendar: u64, id: u64) -> proto::CalendarItem {
    let (packed, _) = town.store.item(calendar, id).expect("store").expect("live");
    let bytes =
        tidings::compress::unpack(&packed, &tidings::sync::STORED_ITEM_LIMITS).expect("packed");
    match proto::decode::<Item>(&bytes).expect("item").kind {
        Some(item::Kind::Calendar(event)) => event,
        other => panic!("not an event: {other:?}"),
    }
}

fn status_of(event: Option<&proto::CalendarEvent>, email: &str) -> Option<i32> {
    event.and_then(|e| tidings::sync::invitation::status_in(e, email))
}

#[test]
fn declining_one_instance_reaches_both_copies_and_a_wrong_instance_changes_nothing() {
    let mut town = Town::new();
    // The chief's weekly series, with the mayor invited; each has a copy.
    let mut series = meeting(0, 0, "weekly@town", "Weekly", &["mayor@town.example"]);
    if let Some(m) = series.master.as_mut() {
        m.rrule = "FREQ=WEEKLY;COUNT=4".into();
        m.organizer = Some(proto::Address {
            name: "Chief".into(),
            email: "chief@town.example".into(),
        });
    }
    let mut place = |calendar: u64| {
        let id = town.store.allocate_id().expect("id");
        let copy = proto::CalendarItem {
            id,
            calendar_id: calendar,
            ..series.clone()
        };
        town.store
            .upsert(calendar, Some(id), packed(item::Kind::Calendar(copy)), 0)
            .expect("calendar");
        id
    };
    let chiefs = place(town.chief_calendar);
    let mayors = place(town.mayor_calendar);
    let (mut mayor, mut server) = enroll(&mut town, MAYOR, 9, 1_000);
    let respond = |value: &str| {
        Kind::Respond(RespondToInvitation {
            calendar_id: town.mayor_calendar,
            item_id: mayors,
            status: ParticipationStatus::Declined as i32,
            recurrence_id: Some(proto::CalendarTime {
                value: value.into(),
                tzid: "Europe/London".into(),
                ..Default::default()
            }),
            comment: "Away that week".into(),
        })
    };
    // 10 December is the second Thursday; 11 December is no instance.
    let (ok, wrong) = (respond("20261210T090000"), respond("20261211T090000"));
    mayor.submit(2_000, [1; 16], ok).expect("submit");
    pump(&mut mayor, &mut server, &mut town.store, 2_000);
    let after_ok = (
        stored(&town, town.mayor_calendar, mayors),
        stored(&town, town.chief_calendar, chiefs),
    );
    mayor.submit(3_000, [2; 16], wrong).expect("submit");
    pump(&mut mayor, &mut server, &mut town.store, 3_000);
    let answers = outcomes(&mut mayor);
    assert!(matches!(answers.first(), Some(Outcome::Done(d)) if d.version == 2));
    assert!(
        matches!(answers.get(1), Some(Outcome::Error(e)) if e.code == u32::from(ErrorKind::NotFound.code())),
        "{answers:?}"
    );

    for (copy, calendar, id) in [
        (&after_ok.0, town.mayor_calendar, mayors),
        (&after_ok.1, town.chief_calendar, chiefs),
    ] {
        assert_eq!(
            status_of(copy.master.as_ref(), "mayor@town.example"),
            Some(ParticipationStatus::NeedsAction as i32),
            "the series keeps its answer"
        );
        assert_eq!(copy.overrides.len(), 1);
        let declined = copy.overrides.first();
        assert_eq!(
            declined
                .and_then(|o| o.recurrence_id.as_ref())
                .map(|r| r.value.as_str()),
            Some("20261210T090000")
        );
        assert_eq!(
            status_of(declined, "mayor@town.example"),
            Some(ParticipationStatus::Declined as i32)
        );
        assert_eq!(
            &stored(&town, calendar, id),
            copy,
            "the wrong instance changed nothing"
        );
    }
    // The note reaches the chief's copy of the instance, not the mayor's.
    let notes = |copy: &proto::CalendarItem| -> Vec<(String, String, String)> {
        let parts = copy.master.iter().chain(&copy.overrides);
        parts
            .flat_map(|e| &e.other)
            .map(|p| (p.name.clone(), p.params.clone(), p.value.clone()))
            .collect()
    };
    assert_eq!(
        notes(&after_ok.1),
        [(
            "X-CALENDARSERVER-ATTENDEE-COMMENT".to_owned(),
            "X-CALENDARSERVER-ATTENDEE-REF=\"mailto:mayor@town.example\"".to_owned(),
            "Away that week".to_owned()
        )]
    );
    assert_eq!(after_ok.1.overrides[0].other.len(), 1, "in the instance");
    assert!(
        notes(&after_ok.0).is_empty(),
        "the mayor's item keeps no note"
    );
}

/// Takes mail, or refuses it with `refuse`.
struct Transport {
    refuse: Option<ErrorKind>,
    taken: Vec<Outgoing>,
    /// What it was given to compose before the operation took the lock.
    prepared: Vec<Outgoing>,
}

impl MailTransport<MemoryStore> for Transport {
    fn prepare(&mut self, _: &MemoryStore, outgoing: &Outgoing) {
        self.prepared.push(outgoing.clone());
    }
    fn send(&mut self, _: &mut MemoryStore, outgoing: &Outgoing) -> tidings::Result<()> {
        match self.refuse {
            Some(kind) => Err(tidings::Error::new(kind, "the transport refuses it")),
            None => {
                self.taken.push(outgoing.clone());
                Ok(())
            }
        }
    }
}

/// `op_id` sending a note to the clerk, through `transport`; its outcome.
fn send_through(
    town: &mut Town,
    (chief, server): (&mut ClientSession, &mut ServerSession),
    transport: &mut Transport,
    op_id: [u8; 16],
) -> Outcome {
    let mail = proto::OutgoingMail {
        to: vec![proto::Address {
            name: String::new(),
            email: "clerk@town.example".into(),
        }],
        text: "notes".into(),
        ..Default::default()
    };
    let send = Kind::SendMail(proto::SendMail { mail: Some(mail) });
    chief.submit(2_000, op_id, send).expect("submit");
    while let Some(bytes) = chief.poll_transmit() {
        server
            .handle_bytes_sending(2_000, &bytes, &mut town.store, transport)
            .expect("handled");
    }
    pump(chief, server, &mut town.store, 2_000);
    let outcomes: Vec<Outcome> = client_events(chief)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op_id => r.outcome,
            _ => None,
        })
        .collect();
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    outcomes.into_iter().next().expect("one")
}

#[test]
fn a_mail_handed_to_a_transport_is_answered_by_what_the_transport_did() {
    let mut town = Town::new();
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);
    server.take_outgoing_charged();
    let mut refusing = Transport {
        refuse: Some(ErrorKind::InvalidData),
        taken: Vec::new(),
        prepared: Vec::new(),
    };
    let outcome = send_through(
        &mut town,
        (&mut chief, &mut server),
        &mut refusing,
        [30; 16],
    );
    assert!(
        matches!(&outcome, Outcome::Error(e) if e.code == u32::from(ErrorKind::InvalidData.code())),
        "{outcome:?}"
    );
    assert_eq!(
        server.take_outgoing_charged(),
        0,
        "nothing sent, nothing charged"
    );

    // The refusal is the operation's answer, remembered: the same op id is
    // not handed over again, even to a transport that would take it.
    let mut taking = Transport {
        refuse: None,
        taken: Vec::new(),
        prepared: Vec::new(),
    };
    let again = send_through(&mut town, (&mut chief, &mut server), &mut taking, [30; 16]);
    assert_eq!(again, outcome);
    assert!(taking.taken.is_empty());
    assert!(
        taking.prepared.is_empty(),
        "nothing to compose for an answered op"
    );

    let outcome = send_through(&mut town, (&mut chief, &mut server), &mut taking, [31; 16]);
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert_eq!(taking.taken.len(), 1);
    assert_eq!(taking.taken[0].mail.text, "notes");
    // The transport was given the mail to compose beforehand, as sent.
    assert_eq!(taking.prepared, taking.taken);
    assert!(
        server.take_outgoing_charged() > 0,
        "a mail taken is charged"
    );
    // Handed over already: not handed to the application a second time.
    assert!(
        !server_events(&mut server)
            .iter()
            .any(|e| matches!(e, ServerEvent::Outgoing(_)))
    );
}

/// The folder a mail names, in the store and on the device, is the one it
/// was moved to (it kept its old folder's id before).
#[test]
fn a_moved_mail_names_the_folder_it_moved_to() {
    let mut town = Town::new();
    let archive = town
        .store
        .add_collection(town.chief, proto::CollectionKind::Mail, "Archive")
        .expect("chief");
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let folder_of = |item: &Item| match &item.kind {
        Some(item::Kind::Mail(mail)) => mail.folder_id,
        other => panic!("not a mail: {other:?}"),
    };
    let held = |chief: &ClientSession, collection: u64| -> Vec<(u64, u64)> {
        chief
            .state()
            .replica()
            .collection(collection)
            .map(|r| {
                r.items()
                    .iter()
                    .map(|(id, i)| (*id, folder_of(&i.item)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let [(mail, _)] = held(&chief, town.chief_inbox)[..] else {
        panic!("one mail in the inbox");
    };
    let move_items = proto::MoveItems {
        collection_id: town.chief_inbox,
        item_ids: vec![mail],
        to_collection_id: archive,
    };
    chief
        .submit(2_000, [13; 16], Kind::MoveItems(move_items))
        .expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    server.push_changes(2_000, &town.store).expect("push");
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    let (packed, _) = town
        .store
        .item(archive, mail)
        .expect("store")
        .expect("moved");
    let bytes = tidings::compress::unpack(&packed, &Default::default()).expect("packed");
    assert_eq!(folder_of(&proto::decode(&bytes).expect("item")), archive);
    assert_eq!(held(&chief, archive), [(mail, archive)]);
    assert!(held(&chief, town.chief_inbox).is_empty());
}

/// An attendee's answers cannot grow the organizer's event past what every
/// device can hold, nor carry a note longer than 4 KiB: each answer to one
/// instance adds a copy of the series' event to both copies.
#[test]
fn answers_cannot_grow_the_organizers_event_without_bound() {
    use tidings::session::{MAX_ANSWERED_EVENT_BYTES, MAX_RESPONSE_COMMENT_BYTES};
    let mut town = Town::new();
    let series = |id, calendar, description: String| {
        let mut event = meeting(id, calendar, "daily@town", "Daily", &["mayor@town.example"]);
        if let Some(m) = event.master.as_mut() {
            m.start = Some(proto::CalendarTime {
                value: "20261203T090000Z".into(),
                ..Default::default()
            });
            m.end = Some(proto::CalendarTime {
                value: "20261203T093000Z".into(),
                ..Default::default()
            });
            m.rrule = "FREQ=DAILY;COUNT=10".into();
            m.organizer = Some(proto::Address {
                name: String::new(),
                email: "chief@town.example".into(),
            });
            m.description = description;
        }
        item::Kind::Calendar(event)
    };
    let (mayor_calendar, chief_calendar) = (town.mayor_calendar, town.chief_calendar);
    let own = town.store.allocate_id().expect("id");
    let own_packed = packed(series(own, mayor_calendar, "Stand-up.".into()));
    town.store
        .upsert(mayor_calendar, Some(own), own_packed, 0)
        .expect("attendee's copy");
    // The organizer's copy carries 1.5 MiB of notes: a second copy of it
    // (one answered instance) fits, a third does not.
    let organizers = town.store.allocate_id().expect("id");
    let notes = "Minutes of every stand-up so far. ".repeat(48_000);
    let organizers_packed = packed(series(organizers, chief_calendar, notes));
    town.store
        .upsert(chief_calendar, Some(organizers), organizers_packed, 0)
        .expect("organizer's copy");
    let (mut mayor, mut server) = enroll(&mut town, MAYOR, 9, 1_000);
    let answer = |day: u32, comment: String| {
        Kind::Respond(RespondToInvitation {
            calendar_id: mayor_calendar,
            item_id: own,
            status: ParticipationStatus::Accepted as i32,
            recurrence_id: Some(proto::CalendarTime {
                value: format!("202612{day:02}T090000Z"),
                ..Default::default()
            }),
            comment,
        })
    };
    let long = "x".repeat(MAX_RESPONSE_COMMENT_BYTES + 1);
    let ops = [
        answer(4, long),
        answer(4, "Yes.".into()),
        answer(5, "Yes.".into()),
        answer(6, "Yes.".into()),
    ];
    for (n, op) in ops.into_iter().enumerate() {
        mayor.submit(2_000, [60 + n as u8; 16], op).expect("submit");
    }
    pump(&mut mayor, &mut server, &mut town.store, 2_000);
    let answers = outcomes(&mut mayor);
    assert_eq!(answers.len(), 4, "{answers:?}");
    let over = u32::from(ErrorKind::LimitExceeded.code());
    assert!(
        matches!(&answers[0], Outcome::Error(e) if e.code == over),
        "{:?}",
        answers[0]
    );
    for answered in &answers[1..] {
        assert!(matches!(answered, Outcome::Done(_)), "{answered:?}");
    }
    // The attendee's copy took all three; the organizer's took the first,
    // and stayed within what a device can hold.
    assert_eq!(stored(&town, mayor_calendar, own).overrides.len(), 3);
    let theirs = stored(&town, chief_calendar, organizers);
    assert_eq!(theirs.overrides.len(), 1);
    assert!(proto::encode(&theirs).len() <= MAX_ANSWERED_EVENT_BYTES);
}
