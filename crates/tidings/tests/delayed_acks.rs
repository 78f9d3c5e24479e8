//! Delayed acknowledgements (sync.md §3 rule 8): a caught-up device
//! acknowledges a live push after its delay, every collection in one `Ack`,
//! and never lets the server's window stall.

mod town;

use tidings::compress::unpad;
use tidings::proto::{self, Cursor, Envelope, envelope::Body};
use tidings::session::{ClientSession, DEFAULT_ACK_DELAY_MS, ServerSession};
use tidings::store::ItemStore;
use town::*;

/// The acknowledgements the device sealed since the last call.
fn acks_sent(client: &mut ClientSession) -> Vec<Vec<Cursor>> {
    client
        .take_sent_envelopes_for_testing_only()
        .iter()
        .filter_map(|padded| {
            let envelope: Envelope =
                proto::decode(unpad(padded).expect("padded")).expect("envelope");
            match envelope.body {
                Some(Body::Ack(ack)) => Some(ack.cursors),
                _ => None,
            }
        })
        .collect()
}

/// One new mail in the chief's inbox and one meeting in the chief's
/// calendar, pushed and applied at `now`.
fn push_two_collections(
    town: &mut Town,
    client: &mut ClientSession,
    server: &mut ServerSession,
    now: u64,
) {
    town.store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("Minutes", "clerk@town.example")),
            0,
        )
        .expect("inbox");
    town.add_meeting(town.chief_calendar, "budget@town", "Budget", &[]);
    server.push_changes(now, &town.store).expect("push");
    pump(client, server, &mut town.store, now);
}

#[test]
fn a_live_push_is_acknowledged_after_the_delay_in_one_ack() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client.record_sent_envelopes_for_testing_only();
    push_two_collections(&mut town, &mut client, &mut server, 2_000);
    assert!(subjects(&client, town.chief_inbox).contains(&"Minutes".to_string()));
    assert!(acks_sent(&mut client).is_empty(), "held, not sent");
    let due = 2_000 + u64::from(DEFAULT_ACK_DELAY_MS);
    assert_eq!(client.poll_timeout(), Some(due));

    client.handle_timeout(due - 1).expect("not yet");
    assert!(acks_sent(&mut client).is_empty());
    client.handle_timeout(due).expect("due");
    pump(&mut client, &mut server, &mut town.store, due);
    let acks = acks_sent(&mut client);
    assert_eq!(acks.len(), 1, "one Ack: {acks:?}");
    let mut acked: Vec<u64> = acks[0].iter().map(|c| c.collection_id).collect();
    acked.sort_unstable();
    let mut expected = vec![town.chief_inbox, town.chief_calendar];
    expected.sort_unstable();
    assert_eq!(acked, expected);
    assert!(!server.is_closed() && !client.is_closed());
    assert!(
        client.poll_timeout() > Some(due),
        "nothing left to acknowledge"
    );
}

#[test]
fn half_the_window_of_one_collection_is_acknowledged_at_once() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client.record_sent_envelopes_for_testing_only();
    // The server's window is 4 (its Welcome says so): the second page of
    // the inbox goes with its acknowledgement, the timer not awaited.
    for (n, subject) in ["First", "Second"].into_iter().enumerate() {
        town.store
            .upsert(
                town.chief_inbox,
                None,
                packed(mail(subject, "clerk@town.example")),
                0,
            )
            .expect("inbox");
        let now = 2_000 + n as u64;
        server.push_changes(now, &town.store).expect("push");
        pump(&mut client, &mut server, &mut town.store, now);
    }
    let acks = acks_sent(&mut client);
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert_eq!(acks[0].len(), 1);
    assert_eq!(acks[0][0].collection_id, town.chief_inbox);
    assert_eq!(
        acks[0][0].modseq,
        client
            .state()
            .replica()
            .collection(town.chief_inbox)
            .expect("inbox")
            .cursor()
            .modseq
    );
}

#[test]
fn a_device_acknowledges_what_it_holds_before_it_closes() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client.record_sent_envelopes_for_testing_only();
    push_two_collections(&mut town, &mut client, &mut server, 2_000);
    client.close(2_001).expect("close");
    let sent: Vec<Option<Body>> = client
        .take_sent_envelopes_for_testing_only()
        .iter()
        .map(|padded| {
            proto::decode::<Envelope>(unpad(padded).expect("padded"))
                .expect("envelope")
                .body
        })
        .collect();
    assert!(
        matches!(sent.as_slice(), [Some(Body::Ack(ack)), Some(Body::Close(_))] if ack.cursors.len() == 2),
        "{sent:?}"
    );
}

#[test]
fn an_ack_for_a_collection_withdrawn_meanwhile_is_ignored_not_fatal() {
    // The chief's device holds a live push from the mayor's calendar, its
    // acknowledgement delayed; the delegation ends before the ack arrives,
    // and the ack crosses the server's `CollectionsChanged` on the wire.
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client.record_sent_envelopes_for_testing_only();
    town.add_meeting(town.mayor_calendar, "budget@town", "Budget", &[]);
    server.push_changes(2_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(acks_sent(&mut client).is_empty(), "held, not sent");
    town.store
        .grant(town.mayor_calendar, town.chief, tidings::sync::Rights::NONE)
        .expect("withdrawn");
    assert!(
        server
            .refresh_collections(2_050, &town.store)
            .expect("refresh")
    );
    let due = 2_000 + u64::from(DEFAULT_ACK_DELAY_MS);
    client.handle_timeout(due).expect("timer");
    let acks = acks_sent(&mut client);
    assert!(
        acks.iter()
            .flatten()
            .any(|c| c.collection_id == town.mayor_calendar),
        "{acks:?}"
    );
    // The device's ack reaches the server before its list does.
    while let Some(bytes) = client.poll_transmit() {
        server
            .handle_bytes(due, &bytes, &mut town.store)
            .expect("an ack is accepted at any time");
    }
    pump(&mut client, &mut server, &mut town.store, due);
    assert!(!client.is_closed() && !server.is_closed());
    assert!(
        client
            .state()
            .replica()
            .collection(town.mayor_calendar)
            .is_none()
    );
}
