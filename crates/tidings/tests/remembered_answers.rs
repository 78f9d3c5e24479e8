//! What the server remembers of an operation's answer (sync.md §6: a
//! retried op id gets its answer again and changes nothing), and what that
//! costs it.

mod town;

use tidings::crypto::StaticKeypair;
use tidings::proto::{self, DeleteEvent, Item, item, operation::Kind, operation_result::Outcome};
use tidings::store::{DeviceRegistry, ItemStore};
use town::*;

/// The event in a `Conflict` answer, decoded.
fn conflict_event(outcome: &Outcome) -> (u64, Option<proto::CalendarItem>) {
    let Outcome::Conflict(conflict) = outcome else {
        panic!("not a conflict: {outcome:?}");
    };
    let event = (!conflict.current.is_empty()).then(|| {
        let bytes =
            tidings::compress::unpack(&conflict.current, &Default::default()).expect("packed");
        match proto::decode::<Item>(&bytes).expect("item").kind {
            Some(item::Kind::Calendar(event)) => event,
            other => panic!("not an event: {other:?}"),
        }
    });
    (conflict.current_version, event)
}

/// A `Conflict` carries the current event (up to 48 KiB); a thousand of
/// them kept whole would hold 48 MB per device for a few bytes of
/// requests. The server remembers the conflict without the event and
/// answers a retry with the event as it stands then.
#[test]
fn a_remembered_conflict_keeps_no_copy_of_the_event_and_a_retry_gets_it_current() {
    let mut town = Town::new();
    let calendar = town.chief_calendar;
    let id = town.add_meeting(calendar, "budget@town", "Budget", &[]);
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let op_id = [70; 16];
    let delete = || {
        Kind::DeleteEvent(DeleteEvent {
            calendar_id: calendar,
            item_id: id,
            expected_version: 9,
        })
    };
    chief.submit(2_000, op_id, delete()).expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    let first = outcomes(&mut chief);
    let (version, event) = conflict_event(&first[0]);
    assert_eq!(version, 1);
    assert_eq!(
        event.and_then(|e| e.master).map(|m| m.summary),
        Some("Budget".into())
    );

    let key = StaticKeypair::from_secret_bytes([7; 32]).public_key();
    let device = town
        .store
        .device_by_key(&key)
        .expect("store")
        .expect("enrolled")
        .id;
    let kept = town
        .store
        .applied_operation(device, &op_id)
        .expect("store")
        .and_then(|r| r.outcome);
    assert_eq!(
        kept,
        Some(Outcome::Conflict(proto::Conflict {
            current_version: 1,
            current: Vec::new(),
        })),
        "remembered without the event"
    );

    // The event changes elsewhere; the retry is answered with it as it is.
    let mut renamed = meeting(id, calendar, "budget@town", "Budget, moved", &[]);
    renamed.version = 2;
    town.store
        .upsert(calendar, Some(id), packed(item::Kind::Calendar(renamed)), 0)
        .expect("renamed");
    chief.submit(3_000, op_id, delete()).expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 3_000);
    let again = outcomes(&mut chief);
    let (version, event) = conflict_event(&again[0]);
    assert_eq!(version, 2);
    assert_eq!(
        event.and_then(|e| e.master).map(|m| m.summary),
        Some("Budget, moved".into())
    );
    assert!(
        town.store.item(calendar, id).expect("store").is_some(),
        "not deleted"
    );
}
