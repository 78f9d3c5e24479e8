//! Correct under attack (issue 14) and bounded work per request (issue 13),
//! in memory: lost answers and stale hellos never lock a device out, refused
//! operations change nothing, a withdrawn grant stops every push, and each
//! request's limits are checked before any work.

mod town;

use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::proto::{
    self, Address, DeleteItems, MoveItems, OutgoingMail, Search, SendMail, SetFlags, item,
    operation::Kind, operation_result::Outcome,
};
use tidings::session::{
    ClientConfig, ClientEvent, ClientSession, ClientState, MAX_ITEMS_PER_OPERATION, MAX_RECIPIENTS,
    PreparedPage, ServerEvent,
};
use tidings::store::{DeviceRegistry, ItemStore, WipeState};
use tidings::sync::Rights;
use town::*;

/// Enrolls the chief and returns the saved state, the sessions dropped.
fn enrolled_chief(town: &mut Town) -> Vec<u8> {
    let (client, _server) = enroll(town, CHIEF, 7, 1_000);
    client.state().to_bytes().to_vec()
}

/// Resumes from `saved` at `now`, saving as an app must before anything is
/// sent; returns the session and the bytes saved.
fn resume(saved: &[u8], now: u64, seed: u8) -> (ClientSession, Vec<u8>) {
    let state = ClientState::from_bytes(saved).expect("restore");
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [seed; 32], now).expect("resume");
    assert!(
        client.poll_transmit().is_none(),
        "the hello waits for the state to be saved"
    );
    let saved = client.state().to_bytes().to_vec();
    client.confirm_state_saved();
    (client, saved)
}

fn closed_with(client: &mut ClientSession) -> Option<ErrorKind> {
    client_events(client).into_iter().find_map(|e| match e {
        ClientEvent::Closed { error } => Some(error.map_or(ErrorKind::SessionClosed, |e| e.kind())),
        _ => None,
    })
}

fn chief_device(town: &Town) -> u64 {
    // The only device enrolled in these tests is the chief's first.
    let key = tidings::crypto::StaticKeypair::from_secret_bytes([7; 32]).public_key();
    town.store
        .device_by_key(&key)
        .expect("store")
        .expect("enrolled")
        .id
}

#[test]
fn a_dropped_server_answer_does_not_lock_the_device_out() {
    let mut town = Town::new();
    let saved = enrolled_chief(&mut town);

    // The device's hello reaches the server; the server's message 2 is lost.
    let (mut client, saved) = resume(&saved, 2_000, 20);
    let mut server = town.server_session(21, 2_000);
    let hello = client.poll_transmit().expect("hello");
    server
        .handle_bytes(2_000, &hello, &mut town.store)
        .expect("accepted");
    while server.poll_transmit().is_some() {}
    drop((client, server));

    // The app restarts from what it saved before sending, at the same clock.
    let (mut client, _) = resume(&saved, 2_000, 22);
    let mut server = town.server_session(23, 2_000);
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(client.is_established(), "{:?}", client_events(&mut client));
}

#[test]
fn a_device_restored_from_an_old_state_recovers_with_the_servers_floor() {
    let mut town = Town::new();
    let old = enrolled_chief(&mut town);
    let (mut client, _) = resume(&old, 5_000, 30);
    let mut server = town.server_session(31, 5_000);
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert!(client.is_established());

    // The same old state again: its timestamp is not above the last one.
    let (mut client, _) = resume(&old, 5_000, 32);
    let mut server = town.server_session(33, 5_000);
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert_eq!(closed_with(&mut client), Some(ErrorKind::Replay));
    assert_eq!(
        client.state().next_hello_timestamp(),
        5_001,
        "the answer names the floor"
    );
    let recovered = client.state().to_bytes().to_vec();

    let (mut client, _) = resume(&recovered, 5_000, 34);
    let mut server = town.server_session(35, 5_000);
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert!(client.is_established());
}

#[test]
fn a_timestamp_at_u64_max_is_refused_and_the_device_recovers() {
    let mut town = Town::new();
    let saved = enrolled_chief(&mut town);
    let mut raw: proto::ClientState = proto::decode(&saved).expect("state");
    raw.next_hello_timestamp = u64::MAX;
    let at_max = proto::encode(&raw);

    // No overflow in resume; the server refuses instead of storing u64::MAX.
    let (mut client, saved) = resume(&at_max, 3_000, 40);
    assert_eq!(
        ClientState::from_bytes(&saved)
            .expect("state")
            .next_hello_timestamp(),
        u64::MAX
    );
    let mut server = town.server_session(41, 3_000);
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert_eq!(closed_with(&mut client), Some(ErrorKind::Replay));
    let device = town.store.device(chief_device(&town)).expect("device");
    assert_eq!(device.last_hello, None, "nothing stored");

    let recovered = client.state().to_bytes().to_vec();
    let (mut client, _) = resume(&recovered, 3_000, 42);
    let mut server = town.server_session(43, 3_000);
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert!(client.is_established());
    // The refused timestamp was above the floor (not stale): the floor
    // itself was sent, and stored.
    let device = town.store.device(chief_device(&town)).expect("device");
    assert_eq!(device.last_hello, Some(1));
}

/// A device whose clock ran more than a day ahead of the server's was
/// refused at every hello: it adopted the floor, then sent its clock again
/// (an outside implementer found it, and the reference device did the
/// same). A refused timestamp at or above the floor means the clock, not
/// the counter, is wrong: the next hello sends the floor itself.
#[test]
fn a_clock_more_than_a_day_fast_recovers_with_the_floor() {
    const DAY: u64 = 86_400_000;
    let mut town = Town::new();
    let saved = enrolled_chief(&mut town);
    let server_now = 10 * DAY;
    let fast = server_now + DAY + 3_600_000;

    let (mut client, _) = resume(&saved, fast, 50);
    let mut server = town.server_session(51, server_now);
    pump(&mut client, &mut server, &mut town.store, server_now);
    assert_eq!(closed_with(&mut client), Some(ErrorKind::Replay));

    // The clock is still fast: the floor is sent, and accepted.
    let refused = client.state().to_bytes().to_vec();
    let (mut client, _) = resume(&refused, fast + 1_000, 52);
    let mut server = town.server_session(53, server_now);
    pump(&mut client, &mut server, &mut town.store, server_now);
    assert!(client.is_established());
    let stored = town.store.device(chief_device(&town)).expect("device");
    assert!(stored.last_hello.is_some_and(|t| t < fast), "{stored:?}");

    // A stale counter (a restored old state) is not taken for a fast
    // clock: after its refusal the clock is used again.
    let (mut client, _) = resume(&saved, 0, 54);
    let mut server = town.server_session(55, server_now);
    pump(&mut client, &mut server, &mut town.store, server_now);
    assert_eq!(closed_with(&mut client), Some(ErrorKind::Replay));
    let floor_given = client.state().to_bytes().to_vec();
    let (mut client, _) = resume(&floor_given, server_now, 56);
    let mut server = town.server_session(57, server_now);
    pump(&mut client, &mut server, &mut town.store, server_now);
    assert!(client.is_established());
    let stored = town.store.device(chief_device(&town)).expect("device");
    assert_eq!(
        stored.last_hello,
        Some(server_now),
        "the clock, not the floor"
    );
}

#[test]
fn push_after_a_revoked_grant_sends_nothing() {
    let mut town = Town::new();
    town.add_meeting(town.mayor_calendar, "a@town", "Before", &[]);
    let (mut chief, mut chief_server) = enroll(&mut town, CHIEF, 7, 1_000);
    town.add_meeting(town.mayor_calendar, "b@town", "Warm-up", &[]);
    chief_server.push_changes(1_500, &town.store).expect("push");
    pump(&mut chief, &mut chief_server, &mut town.store, 1_500);
    let from = chief
        .state()
        .replica()
        .collection(town.mayor_calendar)
        .expect("held")
        .cursor();

    town.store
        .grant(town.mayor_calendar, town.chief, Rights::NONE)
        .expect("grant");
    town.add_meeting(town.mayor_calendar, "c@town", "After the grant", &[]);
    let page = PreparedPage::new(&town.store, &from, &Default::default())
        .expect("store")
        .expect("a page");
    assert!(
        !chief_server
            .push_prepared(2_000, &town.store, &page)
            .expect("push")
    );
    // Nor when the caller read the rights for every device at once.
    assert!(
        !chief_server
            .push_prepared_with_rights(2_000, Rights::NONE, &page)
            .expect("push")
    );
    chief_server.push_changes(2_000, &town.store).expect("push");
    assert!(chief_server.poll_transmit().is_none(), "nothing was sent");
    assert!(!chief_server.is_closed(), "the rest of the session goes on");
}

/// Per collection: (epoch, modseq) and every live (id, packed, flags).
type Digest = Vec<((u64, u64), Vec<(u64, bytes::Bytes, u32)>)>;

/// Everything the store holds for the town's collections.
fn digest(town: &Town) -> Digest {
    [
        town.mayor_inbox,
        town.mayor_calendar,
        town.chief_inbox,
        town.chief_calendar,
    ]
    .into_iter()
    .map(|c| {
        (
            town.store.collection_state(c).expect("state"),
            town.store.items(c).expect("items"),
        )
    })
    .collect()
}

fn answer(client: &mut ClientSession) -> Outcome {
    let mut all = outcomes(client);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

fn error_code(outcome: &Outcome) -> Option<u32> {
    match outcome {
        Outcome::Error(info) => Some(info.code),
        _ => None,
    }
}

#[test]
fn moving_a_mail_into_its_own_folder_is_refused_and_keeps_it() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let id = town.store.items(town.chief_inbox).expect("items")[0].0;
    let before = digest(&town);
    let op = MoveItems {
        collection_id: town.chief_inbox,
        item_ids: vec![id],
        to_collection_id: town.chief_inbox,
    };
    client
        .submit(2_000, [1; 16], Kind::MoveItems(op))
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(
        error_code(&answer(&mut client)),
        Some(ErrorKind::InvalidArgument.code().into())
    );
    assert_eq!(digest(&town), before);
}

#[test]
fn missing_and_foreign_collections_answer_alike() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let mut codes = Vec::new();
    for (n, collection) in [town.mayor_inbox, 999_999].into_iter().enumerate() {
        let op = SetFlags {
            collection_id: collection,
            item_ids: vec![1],
            set: 1,
            clear: 0,
        };
        client
            .submit(2_000, [n as u8 + 1; 16], Kind::SetFlags(op))
            .expect("submit");
        pump(&mut client, &mut server, &mut town.store, 2_000);
        codes.push(error_code(&answer(&mut client)));
    }
    assert_eq!(
        codes,
        vec![Some(ErrorKind::PermissionDenied.code().into()); 2]
    );
}

#[test]
fn a_wipe_acknowledgement_never_ordered_is_ignored() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);
    client.acknowledge_wipe(2_000, 77).expect("ack");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    let device = town.store.device(chief_device(&town)).expect("device");
    assert_eq!(device.wipe, WipeState::None);
    assert!(
        !server_events(&mut server)
            .iter()
            .any(|e| matches!(e, ServerEvent::WipeAcknowledged { .. }))
    );

    // The order it answers is recorded, once.
    server
        .order_wipe(3_000, &mut town.store, 78)
        .expect("order");
    pump(&mut client, &mut server, &mut town.store, 3_000);
    client.acknowledge_wipe(3_000, 78).expect("ack");
    pump(&mut client, &mut server, &mut town.store, 3_000);
    let device = town.store.device(chief_device(&town)).expect("device");
    assert_eq!(device.wipe, WipeState::Done(78));
}

#[test]
fn an_operation_naming_too_many_ids_is_refused_before_any_work() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let id = town.store.items(town.chief_inbox).expect("items")[0].0;
    let before = digest(&town);
    let op = SetFlags {
        collection_id: town.chief_inbox,
        item_ids: vec![id; MAX_ITEMS_PER_OPERATION + 1],
        set: 1,
        clear: 0,
    };
    client
        .submit(2_000, [1; 16], Kind::SetFlags(op.clone()))
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(
        error_code(&answer(&mut client)),
        Some(ErrorKind::LimitExceeded.code().into())
    );
    assert_eq!(digest(&town), before);

    // Within the limit, repeats are applied once: one change, one modseq.
    let (_, modseq) = town
        .store
        .collection_state(town.chief_inbox)
        .expect("state");
    let op = SetFlags {
        item_ids: vec![id; MAX_ITEMS_PER_OPERATION],
        ..op
    };
    client
        .submit(2_100, [2; 16], Kind::SetFlags(op))
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_100);
    assert!(matches!(answer(&mut client), Outcome::Done(_)));
    assert_eq!(
        town.store
            .collection_state(town.chief_inbox)
            .expect("state")
            .1,
        modseq + 1
    );
}

#[test]
fn a_search_repeating_one_collection_searches_it_once_and_a_flood_is_refused() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let search = |ids: Vec<u64>| Search {
        query: "agenda".into(),
        collection_ids: ids,
        limit: 0,
    };
    client
        .submit(
            2_000,
            [1; 16],
            Kind::Search(search(vec![town.chief_inbox; 6_000])),
        )
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(
        error_code(&answer(&mut client)),
        Some(ErrorKind::LimitExceeded.code().into())
    );
    client
        .submit(
            2_100,
            [2; 16],
            Kind::Search(search(vec![town.chief_inbox; 200])),
        )
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_100);
    let Outcome::Search(results) = answer(&mut client) else {
        panic!("search results expected");
    };
    assert_eq!(results.hits.len(), 1, "{results:?}");
}

#[test]
fn send_mail_sends_to_each_recipient_once_and_refuses_a_flood() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);
    let mail = |n: usize| OutgoingMail {
        to: vec![
            Address {
                name: String::new(),
                email: "clerk@town.example".into(),
            };
            n
        ],
        cc: vec![Address {
            name: String::new(),
            email: "CLERK@town.example".into(),
        }],
        subject: "Minutes".into(),
        ..OutgoingMail::default()
    };
    client
        .submit(
            2_000,
            [1; 16],
            Kind::SendMail(SendMail {
                mail: Some(mail(1_000)),
            }),
        )
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(
        error_code(&answer(&mut client)),
        Some(ErrorKind::LimitExceeded.code().into())
    );
    assert!(
        !server_events(&mut server)
            .iter()
            .any(|e| matches!(e, ServerEvent::Outgoing(_)))
    );

    client
        .submit(
            2_100,
            [2; 16],
            Kind::SendMail(SendMail {
                mail: Some(mail(MAX_RECIPIENTS - 1)),
            }),
        )
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_100);
    assert!(matches!(answer(&mut client), Outcome::Done(_)));
    let sent: Vec<_> = server_events(&mut server)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Outgoing(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].mail.to.len(), sent[0].mail.cc.len()), (1, 0));
}

#[test]
fn mail_beyond_the_devices_sending_allowance_is_refused_and_may_be_retried() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);
    let mail = OutgoingMail {
        to: vec![
            Address {
                name: String::new(),
                email: "clerk@town.example".into(),
            },
            Address {
                name: String::new(),
                email: "mayor@town.example".into(),
            },
        ],
        subject: "Budget".into(),
        text: "x".repeat(10_000),
        ..OutgoingMail::default()
    };
    // Three copies (two recipients and the sender's) of about 10 KB.
    server.set_outgoing_allowance(25_000, false);
    let send = |client: &mut ClientSession, now: u64| {
        client
            .submit(
                now,
                [9; 16],
                Kind::SendMail(SendMail {
                    mail: Some(mail.clone()),
                }),
            )
            .expect("submit");
    };
    send(&mut client, 2_000);
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(
        error_code(&answer(&mut client)),
        Some(ErrorKind::LimitExceeded.code().into())
    );
    assert!(
        !server_events(&mut server)
            .iter()
            .any(|e| matches!(e, ServerEvent::Outgoing(_))),
        "nothing is sent"
    );
    assert_eq!(server.take_outgoing_charged(), 0, "nothing is charged");

    // The refusal is not remembered: the same operation, once the server
    // allows more, is sent and charged.
    server.set_outgoing_allowance(100_000, false);
    send(&mut client, 3_000);
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert!(matches!(answer(&mut client), Outcome::Done(_)));
    let sent = server_events(&mut server)
        .iter()
        .filter(|e| matches!(e, ServerEvent::Outgoing(_)))
        .count();
    assert_eq!(sent, 1);
    let charged = server.take_outgoing_charged();
    assert!((30_000..32_000).contains(&charged), "{charged}");

    // With its whole budget a device may send one mail larger than it
    // (or such a mail could never go), and only one.
    server.set_outgoing_allowance(1_000, true);
    for (n, now) in [(10u8, 4_000), (11, 4_100)] {
        client
            .submit(
                now,
                [n; 16],
                Kind::SendMail(SendMail {
                    mail: Some(mail.clone()),
                }),
            )
            .expect("submit");
        pump(&mut client, &mut server, &mut town.store, now);
    }
    let answers = outcomes(&mut client);
    assert!(matches!(answers[0], Outcome::Done(_)), "{answers:?}");
    assert_eq!(
        error_code(&answers[1]),
        Some(ErrorKind::LimitExceeded.code().into())
    );
    assert!(
        server.take_outgoing_charged() > 30_000,
        "the debt is the server's"
    );
}

#[test]
fn a_forward_is_charged_for_the_whole_message_it_attaches() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);
    // A 25 MB mail: its stored record is small, the message is not.
    let item::Kind::Mail(mut big) = mail("Plans", "architect@firm.example") else {
        unreachable!("a mail");
    };
    big.size = 25_000_000;
    let id = town
        .store
        .upsert(town.chief_inbox, None, packed(item::Kind::Mail(big)), 0)
        .expect("stored")
        .0;
    server.set_outgoing_allowance(10_000_000, false);
    let forward = proto::ForwardMail {
        collection_id: town.chief_inbox,
        item_id: id,
        mail: Some(OutgoingMail {
            to: vec![Address {
                name: String::new(),
                email: "clerk@town.example".into(),
            }],
            ..OutgoingMail::default()
        }),
    };
    client
        .submit(2_000, [3; 16], Kind::ForwardMail(forward))
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(
        error_code(&answer(&mut client)),
        Some(ErrorKind::LimitExceeded.code().into()),
        "two copies of 25 MB do not fit 10 MB"
    );
}

/// One operation over a mix of real and bogus ids and collections.
#[derive(Clone, Debug)]
enum Attempt {
    Flags {
        collection: usize,
        ids: Vec<usize>,
        set: u32,
    },
    Move {
        from: usize,
        to: usize,
        ids: Vec<usize>,
    },
    Delete {
        collection: usize,
        ids: Vec<usize>,
    },
}

fn attempt() -> impl Strategy<Value = Attempt> {
    let ids = proptest::collection::vec(0usize..6, 0..5);
    prop_oneof![
        (0usize..5, ids.clone(), 1u32..8).prop_map(|(collection, ids, set)| Attempt::Flags {
            collection,
            ids,
            set
        }),
        (0usize..5, 0usize..5, ids.clone()).prop_map(|(from, to, ids)| Attempt::Move {
            from,
            to,
            ids
        }),
        (0usize..5, ids).prop_map(|(collection, ids)| Attempt::Delete { collection, ids }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A refused operation leaves the store exactly as it was; an applied
    /// one reaches the device: its replica equals the store afterwards.
    #[test]
    fn a_refused_operation_changes_nothing_and_an_applied_one_is_pushed(attempt in attempt()) {
        let mut town = Town::new();
        let second = town
            .store
            .upsert(town.chief_inbox, None, packed(mail("Second", "clerk@town.example")), 0)
            .expect("inbox")
            .0;
        let archive = town
            .store
            .add_collection(town.chief, proto::CollectionKind::Mail, "Archive")
            .expect("chief");
        let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
        let first = town.store.items(town.chief_inbox).expect("items")[0].0;
        let mayors = town.store.items(town.mayor_inbox).expect("items")[0].0;
        let collections = [town.chief_inbox, archive, town.mayor_inbox, town.chief_calendar, 424_242];
        let items = [first, second, mayors, 0, 77_777, first];
        let pick = |ids: &[usize]| ids.iter().map(|&i| items[i]).collect::<Vec<u64>>();
        let kind = match &attempt {
            Attempt::Flags { collection, ids, set } => Kind::SetFlags(SetFlags {
                collection_id: collections[*collection],
                item_ids: pick(ids),
                set: *set,
                clear: 0,
            }),
            Attempt::Move { from, to, ids } => Kind::MoveItems(MoveItems {
                collection_id: collections[*from],
                item_ids: pick(ids),
                to_collection_id: collections[*to],
            }),
            Attempt::Delete { collection, ids } => Kind::DeleteItems(DeleteItems {
                collection_id: collections[*collection],
                item_ids: pick(ids),
            }),
        };
        let mut before = digest(&town);
        before.push((
            town.store.collection_state(archive).expect("state"),
            town.store.items(archive).expect("items"),
        ));
        client.submit(2_000, [9; 16], kind).expect("submit");
        pump(&mut client, &mut server, &mut town.store, 2_000);
        let outcome = answer(&mut client);
        let mut after = digest(&town);
        after.push((
            town.store.collection_state(archive).expect("state"),
            town.store.items(archive).expect("items"),
        ));
        if error_code(&outcome).is_some() {
            prop_assert_eq!(&after, &before, "refused: {:?}", outcome);
        }
        for collection in [town.chief_inbox, archive] {
            let mut held: Vec<(u64, u32)> = client
                .state()
                .replica()
                .collection(collection)
                .map(|r| r.items().iter().map(|(&id, i)| (id, i.flags)).collect())
                .unwrap_or_default();
            held.sort_unstable();
            let stored: Vec<(u64, u32)> = town
                .store
                .items(collection)
                .expect("items")
                .into_iter()
                .map(|(id, _, flags)| (id, flags))
                .collect();
            prop_assert_eq!(held, stored, "collection {} not pushed", collection);
        }
    }
}
