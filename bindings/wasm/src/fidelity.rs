//! TEST SUPPORT ONLY (feature `loopback-server`): items with every field
//! set, and the package's own conversions of items to JS objects and back,
//! so the JS tests can check that nothing is lost either way
//! (`tests/fidelity.test.js`). Never in the npm package.
//!
//! Every struct below is written out field by field, without
//! `..Default::default()`: a field added to `items.proto` does not compile
//! here until it is given a value, and then the round-trip test fails until
//! `items.rs` carries it both ways.

use crate::error::Thrown;
use crate::items::{item, read_item};
use crate::js::list;
use crate::types::{ByteList, ItemJs};
use js_sys::Uint8Array;
use tidings::proto::{
    self, Abridged, AbridgedReason, Address, Alarm, Attachment, Attendee, AttendeeRole, BodyPart,
    CalendarEvent, CalendarItem, CalendarTime, Item, MailHeaders, MailItem, ParticipationStatus,
    RawProperty, TimeZone, Transparency, item,
};
use wasm_bindgen::prelude::*;

fn address(tag: &str) -> Address {
    Address {
        name: format!("{tag} name"),
        email: format!("{tag}@town.example"),
    }
}

fn headers(tag: &str) -> MailHeaders {
    MailHeaders {
        from: vec![address(&format!("{tag}-from"))],
        to: vec![
            address(&format!("{tag}-to")),
            address(&format!("{tag}-to2")),
        ],
        cc: vec![address(&format!("{tag}-cc"))],
        bcc: vec![address(&format!("{tag}-bcc"))],
        reply_to: vec![address(&format!("{tag}-reply"))],
        subject: format!("{tag} subject"),
        date: 1_796_288_400,
        date_offset_minutes: -300,
        message_id: format!("{tag}@id.example"),
        in_reply_to: vec![format!("{tag}-parent@id.example")],
        references: vec![
            format!("{tag}-root@id.example"),
            format!("{tag}-parent@id.example"),
        ],
        thread_id: u64::MAX - 7,
    }
}

fn abridged(reason: AbridgedReason) -> Abridged {
    Abridged {
        reason: reason as i32,
        packed_size: 120_345,
        cut_texts: 3,
        omitted_entries: 70,
        dropped_whole: 2,
    }
}

/// A mail with every field set (ids past 2^53, so `bigint`s are checked).
fn full_mail() -> MailItem {
    MailItem {
        id: (1 << 60) + 1,
        folder_id: (1 << 55) + 3,
        headers: Some(headers("mail")),
        preview: "The minutes of Tuesday’s meeting…".to_string(),
        preview_truncated: true,
        body_parts: vec![
            BodyPart {
                part_id: 1,
                content_type: "text/plain".to_string(),
                size: 4_096,
            },
            BodyPart {
                part_id: 2,
                content_type: "text/html".to_string(),
                size: 9_000,
            },
        ],
        attachments: vec![Attachment {
            part_id: 3,
            filename: "minutes.pdf".to_string(),
            content_type: "message/rfc822".to_string(),
            size: 123_456,
            content_id: "img1@town.example".to_string(),
            inline: true,
            nested_headers: Some(headers("nested")),
            charset: "windows-1252".to_string(),
        }],
        flags: 1 | 4,
        size: 140_000,
        abridged: Some(abridged(AbridgedReason::TooLarge)),
    }
}

fn time(value: &str, tzid: &str, params: &str) -> CalendarTime {
    CalendarTime {
        value: value.to_string(),
        tzid: tzid.to_string(),
        params: params.to_string(),
    }
}

fn raw(name: &str) -> RawProperty {
    RawProperty {
        name: name.to_string(),
        params: "X-P=1".to_string(),
        value: format!("{name} value"),
    }
}

fn event(tag: &str, recurrence: bool) -> CalendarEvent {
    CalendarEvent {
        uid: "series-1@town.example".to_string(),
        summary: format!("{tag} summary"),
        location: format!("{tag} location"),
        description: format!("{tag} description\nsecond line"),
        start: Some(time("20261203T090000", "Europe/London", "X-S=1")),
        end: Some(time("20261203T100000", "Europe/London", "X-E=1")),
        duration: "PT1H".to_string(),
        organizer: Some(address(&format!("{tag}-organizer"))),
        attendees: vec![Attendee {
            address: Some(address(&format!("{tag}-attendee"))),
            status: ParticipationStatus::Tentative as i32,
            role: AttendeeRole::Optional as i32,
            rsvp: true,
            other_params: "CUTYPE=ROOM".to_string(),
            uri: format!("urn:uuid:{tag}-attendee"),
        }],
        rrule: "FREQ=WEEKLY;BYDAY=TH".to_string(),
        exdates: vec![time("20261210T090000", "Europe/London", "X-X=1")],
        rdates: vec![time("20261211T090000/PT1H", "Europe/London", "X-R=1")],
        recurrence_id: recurrence
            .then(|| time("20261217T090000", "Europe/London", "RANGE=THISANDFUTURE")),
        alarms: vec![Alarm {
            action: "DISPLAY".to_string(),
            trigger: "-PT15M".to_string(),
            trigger_params: "RELATED=END".to_string(),
            description: "Reminder".to_string(),
            other: vec![raw("X-ALARM")],
            components: vec!["BEGIN:VLOCATION\r\nEND:VLOCATION\r\n".to_string()],
        }],
        transparency: Transparency::Transparent as i32,
        sequence: 4,
        status: "CONFIRMED".to_string(),
        dtstamp: "20261101T120000Z".to_string(),
        other: vec![raw("X-MICROSOFT-CDO-BUSYSTATUS"), raw("ATTACH")],
        summary_params: "LANGUAGE=en".to_string(),
        location_params: "ALTREP=\"https://town.example/room\"".to_string(),
        description_params: "LANGUAGE=de".to_string(),
        organizer_params: "SENT-BY=\"mailto:clerk@town.example\"".to_string(),
        components: vec!["BEGIN:VLOCATION\r\nUID:l1\r\nEND:VLOCATION\r\n".to_string()],
        organizer_uri: format!("urn:uuid:{tag}-organizer"),
        rrule_params: "X-EVOLUTION-ENDDATE=20270101T100000Z".to_string(),
    }
}

/// An event series with every field set.
fn full_calendar() -> CalendarItem {
    CalendarItem {
        id: (1 << 60) + 5,
        calendar_id: (1 << 54) + 9,
        version: (1 << 53) + 1,
        master: Some(event("master", false)),
        overrides: vec![event("override", true)],
        timezones: vec![TimeZone {
            tzid: "Europe/London".to_string(),
            vtimezone: "BEGIN:VTIMEZONE\r\nTZID:Europe/London\r\nEND:VTIMEZONE\r\n".to_string(),
        }],
        abridged: Some(abridged(AbridgedReason::TooLarge)),
        floating_tzid: "America/New_York".to_string(),
    }
}

/// TEST SUPPORT: protobuf `Item`s with every field set to a value other
/// than its default: a mail, then an event series.
#[wasm_bindgen(js_name = testFullItems)]
pub fn test_full_items() -> ByteList {
    let items = [
        item::Kind::Mail(full_mail()),
        item::Kind::Calendar(full_calendar()),
    ];
    list(items, |kind| {
        Uint8Array::from(proto::encode(&Item { kind: Some(kind) }).as_slice()).into()
    })
    .unchecked_into()
}

/// TEST SUPPORT: a protobuf `Item` as the package gives it to JS (a mail's
/// `flags` are its own here; the replica gives its current ones).
#[wasm_bindgen(js_name = testItemToJs)]
pub fn test_item_to_js(bytes: &[u8]) -> Result<ItemJs, Thrown> {
    let decoded: Item = proto::decode(bytes)?;
    let flags = match &decoded.kind {
        Some(item::Kind::Mail(mail)) => mail.flags,
        _ => 0,
    };
    Ok(item(&decoded, flags).unchecked_into())
}

/// TEST SUPPORT: an `Item` object read back as the package reads items
/// (calendar items as `createEvent`/`updateEvent` do), as protobuf bytes.
#[wasm_bindgen(js_name = testItemFromJs)]
pub fn test_item_from_js(value: &JsValue) -> Result<Vec<u8>, Thrown> {
    Ok(proto::encode(&read_item(value)?))
}
