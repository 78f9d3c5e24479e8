//! The item patch vectors in `docs/test-vectors/patches.json` (sync.md
//! §3.1): for each case, a held item's encoding, the packed patch, and the
//! encoding the device must end with, or that it must refuse the patch.
//! Generated from the implementation; `TIDINGS_BLESS=1 cargo test -p
//! tidings --test patch_vectors` rewrites the file, otherwise it must match.

use serde_json::{Value, json};
use std::path::PathBuf;
use tidings::compress::{InflateLimits, PackOptions, pack};
use tidings::proto::{
    self, Address, Attendee, CalendarEvent, CalendarItem, CalendarTime, FieldPatch, Item,
    MessagePatch, ParticipationStatus, TimeZone, item,
};
use tidings::sync::pack_item;
use tidings::sync::patch::{apply_item_patch, item_patch};

fn at(value: &str) -> Option<CalendarTime> {
    Some(CalendarTime {
        value: value.into(),
        tzid: "Europe/Berlin".into(),
        params: String::new(),
    })
}

fn attendee(email: &str) -> Attendee {
    Attendee {
        address: Some(Address {
            name: String::new(),
            email: email.into(),
        }),
        status: ParticipationStatus::NeedsAction as i32,
        rsvp: true,
        ..Attendee::default()
    }
}

fn meeting() -> CalendarItem {
    CalendarItem {
        id: 41,
        calendar_id: 7,
        version: 3,
        master: Some(CalendarEvent {
            uid: "council-2026-12@town.example".into(),
            summary: "Council meeting".into(),
            location: "Town hall".into(),
            start: at("20261210T180000"),
            end: at("20261210T200000"),
            attendees: vec![
                attendee("mayor@town.example"),
                attendee("chief@town.example"),
                attendee("clerk@town.example"),
            ],
            sequence: 1,
            dtstamp: "20261201T090000Z".into(),
            ..CalendarEvent::default()
        }),
        timezones: vec![TimeZone {
            tzid: "Europe/Berlin".into(),
            vtimezone: "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nEND:VTIMEZONE\r\n".into(),
        }],
        ..CalendarItem::default()
    }
}

fn whole(event: &CalendarItem) -> Item {
    Item {
        kind: Some(item::Kind::Calendar(event.clone())),
    }
}

fn master(event: &mut CalendarItem) -> &mut CalendarEvent {
    event.master.as_mut().expect("master")
}

/// The cases the server makes: held version, new version.
fn made() -> Vec<(&'static str, CalendarItem, CalendarItem)> {
    let base = meeting();
    let mut answer = base.clone();
    answer.version += 1;
    master(&mut answer).attendees[1].status = ParticipationStatus::Accepted as i32;
    master(&mut answer).dtstamp = "20261202T101500Z".into();
    let mut moved = base.clone();
    moved.version += 1;
    master(&mut moved).start = at("20261211T180000");
    master(&mut moved).end = at("20261211T200000");
    master(&mut moved).sequence += 1;
    let mut invited = base.clone();
    invited.version += 1;
    master(&mut invited)
        .attendees
        .push(attendee("press@town.example"));
    let mut uninvited = base.clone();
    uninvited.version += 1;
    master(&mut uninvited).attendees.remove(0);
    master(&mut uninvited).location.clear();
    vec![
        (
            "an attendee's answer: the version, inside the master the DTSTAMP (a string: its new value alone), inside attendee 1 its status",
            base.clone(),
            answer,
        ),
        (
            "a move: inside DTSTART and DTEND only their values change; SEQUENCE and the version are numbers: their new values alone",
            base.clone(),
            moved,
        ),
        (
            "an attendee added at the end of the list: the new value appended, nothing cleared",
            base.clone(),
            invited,
        ),
        (
            "the first attendee removed and the location cleared: the attendees field cleared and set whole, the location cleared",
            base,
            uninvited,
        ),
    ]
}

fn edit(number: u32, index: u32, patch: MessagePatch) -> FieldPatch {
    FieldPatch {
        number,
        index,
        patch: Some(patch),
    }
}

/// Patches a device must refuse, applied to `meeting()`.
fn refused() -> Vec<(&'static str, MessagePatch)> {
    vec![
        (
            "an edit inside a value the item does not have (override 0)",
            MessagePatch {
                fields: vec![edit(5, 0, MessagePatch::default())],
                ..MessagePatch::default()
            },
        ),
        (
            "an edit of a field it also clears",
            MessagePatch {
                clear: vec![4],
                fields: vec![edit(4, 0, MessagePatch::default())],
                ..MessagePatch::default()
            },
        ),
        (
            "an edit inside a number (the item id)",
            MessagePatch {
                fields: vec![edit(1, 0, MessagePatch::default())],
                ..MessagePatch::default()
            },
        ),
        (
            "a result that is another item (the id changed)",
            MessagePatch {
                set: vec![0x08, 0x2a],
                ..MessagePatch::default()
            },
        ),
        (
            "set bytes that are not protobuf fields",
            MessagePatch {
                set: vec![0x12, 0x09, 0x01],
                ..MessagePatch::default()
            },
        ),
    ]
}

fn vectors() -> Value {
    let limits = InflateLimits::default();
    let applied: Vec<Value> = made()
        .into_iter()
        .map(|(meaning, old, new)| {
            let packed_old = pack_item(item::Kind::Calendar(old.clone()));
            let packed_new = pack_item(item::Kind::Calendar(new.clone()));
            let patch = item_patch(&packed_old, &packed_new).expect("a patch pays");
            let result = apply_item_patch(&whole(&old), &patch, &limits).expect("applies");
            assert_eq!(result, whole(&new));
            json!({
                "meaning": meaning,
                "held": hex::encode(proto::encode(&old)),
                "packed_patch": hex::encode(&patch),
                "result": hex::encode(proto::encode(&new)),
                "whole_packed_bytes": packed_new.len(),
            })
        })
        .collect();
    let refusals: Vec<Value> = refused()
        .into_iter()
        .map(|(meaning, patch)| {
            let packed = pack(&proto::encode(&patch), &PackOptions::default());
            assert!(
                apply_item_patch(&whole(&meeting()), &packed, &limits).is_err(),
                "{meaning}"
            );
            json!({
                "meaning": meaning,
                "held": hex::encode(proto::encode(&meeting())),
                "packed_patch": hex::encode(&packed),
            })
        })
        .collect();
    json!({
        "about": "Tidings item patch vectors: see docs/spec/sync.md section 3.1. `held` is the CalendarItem the device holds (canonical protobuf encoding), `packed_patch` an ItemPatch.packed (a packed MessagePatch of that CalendarItem, wire-format.md section 5); applying it must give exactly `result`, or, in `refused`, must be refused (the device then keeps its copy and refetches the item). All byte strings are hex.",
        "applied": applied,
        "refused": refusals,
    })
}

fn file_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/test-vectors/patches.json")
}

#[test]
fn the_patch_vectors_match_the_implementation() {
    let expected = serde_json::to_string_pretty(&vectors()).expect("json") + "\n";
    if std::env::var_os("TIDINGS_BLESS").is_some() {
        std::fs::write(file_path(), &expected).expect("write");
    }
    let stored = std::fs::read_to_string(file_path()).expect("patches.json exists");
    assert!(
        stored == expected,
        "patches.json differs from the implementation: rerun with TIDINGS_BLESS=1 if the change is intended"
    );
}
