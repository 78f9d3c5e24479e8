use super::*;
use crate::proto::{
    Abridged, Address, Attendee, CalendarEvent, CalendarItem, CalendarTime, ParticipationStatus,
    TimeZone,
};
use crate::sync::pack_item;
use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;

fn at(value: &str) -> Option<CalendarTime> {
    Some(CalendarTime {
        value: value.into(),
        tzid: "Europe/Berlin".into(),
        params: String::new(),
    })
}

fn council_meeting() -> CalendarItem {
    let attendee = |name: &str| Attendee {
        address: Some(Address {
            name: name.into(),
            email: format!("{}@town.example", name.to_lowercase()),
        }),
        status: ParticipationStatus::NeedsAction as i32,
        rsvp: true,
        ..Attendee::default()
    };
    CalendarItem {
        id: 41,
        calendar_id: 7,
        version: 3,
        master: Some(CalendarEvent {
            uid: "council-2026-12@town.example".into(),
            summary: "Council meeting".into(),
            location: "Town hall".into(),
            description: "Budget, second reading. ".repeat(20),
            start: at("20261210T180000"),
            end: at("20261210T200000"),
            attendees: vec![attendee("Mayor"), attendee("Chief"), attendee("Clerk")],
            sequence: 1,
            dtstamp: "20261201T090000Z".into(),
            ..CalendarEvent::default()
        }),
        timezones: vec![TimeZone {
            tzid: "Europe/Berlin".into(),
            vtimezone: "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n".repeat(12),
        }],
        ..CalendarItem::default()
    }
}

fn packed(item: &CalendarItem) -> Bytes {
    pack_item(item::Kind::Calendar(item.clone()))
}

fn whole(item: &CalendarItem) -> Item {
    Item {
        kind: Some(item::Kind::Calendar(item.clone())),
    }
}

/// The patch from `old` to `new`, applied to `old`: must give `new`.
fn patch_round_trip(old: &CalendarItem, new: &CalendarItem) -> usize {
    let patch = item_patch(&packed(old), &packed(new)).expect("a patch pays");
    let applied = apply_item_patch(&whole(old), &patch, &InflateLimits::default());
    assert_eq!(applied.expect("applies"), whole(new));
    patch.len()
}

fn master(item: &mut CalendarItem) -> &mut CalendarEvent {
    item.master.as_mut().expect("master")
}

#[test]
fn an_answer_travels_as_the_fields_that_changed() {
    let old = council_meeting();
    let mut new = old.clone();
    new.version += 1;
    master(&mut new).attendees[1].status = ParticipationStatus::Accepted as i32;
    master(&mut new).dtstamp = "20261202T101500Z".into();
    let size = patch_round_trip(&old, &new);
    // The new DTSTAMP's 16 characters are a third of it.
    assert!(
        size <= 50,
        "{size} bytes against {} whole",
        packed(&new).len()
    );
}

#[test]
fn a_move_travels_as_the_new_times() {
    let old = council_meeting();
    let mut new = old.clone();
    new.version += 1;
    let event = master(&mut new);
    event.start = at("20261211T180000");
    event.end = at("20261211T200000");
    event.sequence += 1;
    let size = patch_round_trip(&old, &new);
    assert!(
        size <= 60,
        "{size} bytes against {} whole",
        packed(&new).len()
    );
}

#[test]
fn lists_that_grow_shrink_or_reorder_come_out_right() {
    let old = council_meeting();
    let mut added = old.clone();
    let mut extra = master(&mut added).attendees[0].clone();
    extra.address.as_mut().expect("address").email = "press@town.example".into();
    master(&mut added).attendees.push(extra);
    patch_round_trip(&old, &added);
    let mut removed = old.clone();
    master(&mut removed).attendees.remove(0);
    patch_round_trip(&old, &removed);
    let mut reordered = old.clone();
    master(&mut reordered).attendees.reverse();
    patch_round_trip(&old, &reordered);
    let mut cleared = old.clone();
    master(&mut cleared).location.clear();
    master(&mut cleared).start = None;
    patch_round_trip(&old, &cleared);
}

#[test]
fn no_patch_for_another_item_an_abridged_one_or_a_whole_rewrite() {
    let old = council_meeting();
    let mut other = old.clone();
    other.id += 1;
    assert_eq!(item_patch(&packed(&old), &packed(&other)), None);
    let mut cut = old.clone();
    cut.abridged = Some(Abridged::default());
    assert_eq!(item_patch(&packed(&cut), &packed(&old)), None);
    assert_eq!(item_patch(&packed(&old), &packed(&cut)), None);
    let tiny = CalendarItem {
        id: old.id,
        ..CalendarItem::default()
    };
    assert_eq!(item_patch(&packed(&old), &packed(&tiny)), None);
}

#[test]
fn a_device_refuses_a_patch_for_a_copy_it_does_not_hold_whole() {
    let old = council_meeting();
    let mut new = old.clone();
    master(&mut new).summary = "Council meeting (moved)".into();
    let patch = item_patch(&packed(&old), &packed(&new)).expect("patch");
    let limits = InflateLimits::default();
    let mut cut = old.clone();
    cut.abridged = Some(Abridged::default());
    let refused = apply_item_patch(&whole(&cut), &patch, &limits);
    assert_eq!(refused.map_err(|e| e.kind()), Err(ErrorKind::InvalidData));
    // A copy with no master: the edit inside finds no value.
    let mut bare = old.clone();
    bare.master = None;
    let refused = apply_item_patch(&whole(&bare), &patch, &limits);
    assert_eq!(refused.map_err(|e| e.kind()), Err(ErrorKind::InvalidData));
}

fn edit(number: u32, index: u32, patch: MessagePatch) -> FieldPatch {
    FieldPatch {
        number,
        index,
        patch: Some(patch),
    }
}

#[test]
fn malformed_patches_are_refused_before_they_apply() {
    let base = proto::encode(&council_meeting());
    let clear_and_edit = MessagePatch {
        clear: vec![4],
        fields: vec![edit(4, 0, MessagePatch::default())],
        ..MessagePatch::default()
    };
    let twice = MessagePatch {
        fields: vec![
            edit(4, 0, MessagePatch::default()),
            edit(4, 0, MessagePatch::default()),
        ],
        ..MessagePatch::default()
    };
    let bad_set = MessagePatch {
        set: vec![0x12, 0x09, 1],
        ..MessagePatch::default()
    };
    // CalendarItem.id is a varint: nothing to edit inside.
    let inside_a_number = MessagePatch {
        fields: vec![edit(1, 0, MessagePatch::default())],
        ..MessagePatch::default()
    };
    // Override 0 does not exist.
    let missing = MessagePatch {
        fields: vec![edit(5, 0, MessagePatch::default())],
        ..MessagePatch::default()
    };
    // Nested deeper than a device goes, through values that exist
    // (attendee 0's address, as often as it takes).
    let mut deep = MessagePatch::default();
    for _ in 0..MAX_PATCH_DEPTH {
        deep = MessagePatch {
            fields: vec![edit(1, 0, deep)],
            ..MessagePatch::default()
        };
    }
    let deep = MessagePatch {
        fields: vec![edit(
            4,
            0,
            MessagePatch {
                fields: vec![edit(9, 0, deep)],
                ..MessagePatch::default()
            },
        )],
        ..MessagePatch::default()
    };
    for patch in [
        clear_and_edit,
        twice,
        bad_set,
        inside_a_number,
        missing,
        deep,
    ] {
        assert!(apply(&patch, &base).is_err(), "{patch:?}");
    }
}

#[test]
fn an_empty_patch_changes_nothing() {
    let base = proto::encode(&council_meeting());
    assert_eq!(apply(&MessagePatch::default(), &base).ok(), Some(base));
}

proptest! {
    /// Any two versions of one item: the patch, when there is one, applied
    /// to the old version gives the new one exactly.
    #[test]
    fn a_patch_applied_gives_the_new_version(
        seed in proptest::collection::vec(any::<u8>(), 0..3000),
        edits in proptest::collection::vec((0usize..8, any::<u32>()), 0..6),
    ) {
        let mut input = Unstructured::new(&seed);
        let Ok(mut old) = CalendarItem::arbitrary(&mut input) else { return Ok(()) };
        old.abridged = None;
        let mut new = match CalendarItem::arbitrary(&mut input) {
            // Half the time an unrelated version, half a few edits away.
            Ok(other) if seed.first().is_some_and(|b| b % 2 == 0) => other,
            _ => old.clone(),
        };
        new.id = old.id;
        new.abridged = None;
        for (what, value) in edits {
            let event = new.master.get_or_insert_with(CalendarEvent::default);
            match what {
                0 => new.version = u64::from(value),
                1 => event.summary = value.to_string(),
                2 => event.start = at(&value.to_string()),
                3 => event.attendees.push(Attendee { status: (value % 6) as i32, ..Attendee::default() }),
                4 => if !event.attendees.is_empty() {
                    let i = value as usize % event.attendees.len();
                    event.attendees[i].status = (value % 6) as i32;
                },
                5 => if !event.attendees.is_empty() {
                    let i = value as usize % event.attendees.len();
                    event.attendees.remove(i);
                },
                6 => new.overrides.push(event.clone()),
                _ => new.timezones.clear(),
            }
        }
        if let Some(patch) = item_patch(&packed(&old), &packed(&new)) {
            let applied = apply_item_patch(&whole(&old), &patch, &InflateLimits::default());
            prop_assert_eq!(applied.ok(), Some(whole(&new)));
        }
    }

    /// Whatever a patch holds, applying it ends in an item or an error.
    #[test]
    fn any_patch_bytes_apply_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let old = whole(&council_meeting());
        let mut packed_patch = vec![0u8];
        packed_patch.extend_from_slice(&bytes);
        let _ = apply_item_patch(&old, &packed_patch, &InflateLimits::default());
    }
}
