//! Property tests of the iCalendar mapping: generated items survive a round
//! trip unchanged, and any input is refused with a reason or round-trips.

mod items;

use items::calendar_strategy::calendar_item;
use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::proto::{self, CalendarItem};
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};

/// Whatever the parser accepts, it reads back unchanged after writing.
fn assert_round_trips(items: &[CalendarItem]) -> Result<(), TestCaseError> {
    for item in items {
        let text = calendar_item_to_ical(item);
        let again = calendar_items_from_ical(&text, item.calendar_id);
        prop_assert_eq!(again.as_deref(), Ok(std::slice::from_ref(item)), "{}", text);
    }
    Ok(())
}

/// One property line from a vocabulary that reaches every mapping rule,
/// or a random one.
fn property() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => Just("UID:u1".to_owned()),
        10 => Just("UID:u2".to_owned()),
        10 => Just("DTSTART;TZID=Zone:20260101T090000".to_owned()),
        10 => Just("DTSTART;VALUE=DATE:20260101".to_owned()),
        10 => Just("DTSTART:20260101T090000Z".to_owned()),
        10 => Just("DTEND:20260101".to_owned()),
        10 => Just("DURATION:PT1H".to_owned()),
        10 => Just("RECURRENCE-ID;RANGE=THISANDFUTURE:20260108T090000Z".to_owned()),
        10 => Just("EXDATE:20260101T090000Z,20260102".to_owned()),
        10 => Just("RDATE;VALUE=PERIOD:20260101T090000Z/PT1H,20260102T090000Z/20260102T100000Z".to_owned()),
        10 => Just("RRULE:FREQ=WEEKLY".to_owned()),
        10 => Just("SUMMARY;LANGUAGE=de:a\\, b\\; c\\n d".to_owned()),
        10 => Just("summary:lower".to_owned()),
        10 => Just("ATTENDEE;CN=\"A, B\";PARTSTAT=accepted;RSVP=TRUE;X=1:mailto:a@b".to_owned()),
        10 => Just("ATTENDEE;RSVP=FALSE;ROLE=CHAIR;ROLE=X:urn:uuid:1".to_owned()),
        10 => Just("ATTENDEE;CN=U;EMAIL=\"u@b\";PARTSTAT=DECLINED:urn:uuid:2".to_owned()),
        5 => Just("ORGANIZER;EMAIL=o@b;EMAIL=p@b:urn:uuid:3".to_owned()),
        10 => Just("ORGANIZER;CN=O^'K^';SENT-BY=\"mailto:s@b\":MAILTO:o@b".to_owned()),
        10 => Just("SEQUENCE:3".to_owned()),
        10 => Just("SEQUENCE:0".to_owned()),
        10 => Just("TRANSP:transparent".to_owned()),
        10 => Just("STATUS:CONFIRMED".to_owned()),
        10 => Just("DTSTAMP:20260101T000000Z".to_owned()),
        20 => "[A-Z-]{1,10}(;[A-Z]{1,5}=(\"[^\"\r\n]{0,5}\"|[a-z,]{0,5})){0,2}:[ -~é\\\\]{0,20}",
        3 => "[ -~]{0,20}",
    ]
}

/// A component of `name` with some property lines and children.
fn component(name: &'static str, lines: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(property(), 0..lines).prop_map(move |props| {
        let mut out = vec![format!("BEGIN:{name}")];
        out.extend(props);
        out.push(format!("END:{name}"));
        out
    })
}

/// Calendars built from VTIMEZONEs, VEVENTs and VALARMs of random lines,
/// with random line ends and folds: structure enough to reach the mapping.
fn ical_text() -> impl Strategy<Value = String> {
    // Most events get a UID and a DTSTART, so that most reach the mapping.
    let head = (0..4u8, 0..4u8).prop_map(|(uid, start)| {
        let uid = (uid < 3).then(|| format!("UID:u{}", uid % 2));
        let start = (start < 3).then(|| "DTSTART:20260101T090000Z".to_owned());
        uid.into_iter().chain(start).collect::<Vec<_>>()
    });
    let event = (
        head,
        component("VEVENT", 10),
        proptest::option::of(component("VALARM", 4)),
    )
        .prop_map(|(head, mut event, alarm)| {
            let end = event.pop().unwrap_or_default();
            event.splice(1..1, head);
            event.extend(alarm.unwrap_or_default());
            event.push(end);
            event
        });
    let zone = Just(vec![
        "BEGIN:VTIMEZONE".to_owned(),
        "TZID:Zone".to_owned(),
        "END:VTIMEZONE".to_owned(),
    ]);
    let parts = proptest::collection::vec(prop_oneof![4 => event, 1 => zone], 1..4);
    let layout = (any::<bool>(), proptest::collection::vec(0usize..80, 0..6));
    (parts, layout).prop_map(|(parts, (crlf, folds))| {
        let mut lines = vec!["BEGIN:VCALENDAR".to_owned()];
        lines.extend(parts.into_iter().flatten());
        lines.push("END:VCALENDAR".to_owned());
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (i, line) in lines.iter().enumerate() {
            // Fold some lines at a character boundary.
            let at = folds.get(i % 7).copied().unwrap_or(usize::MAX);
            match line
                .char_indices()
                .map(|(p, _)| p)
                .find(|&p| p > 0 && p >= at)
            {
                Some(p) => text.push_str(&format!("{}{end} {}", &line[..p], &line[p..])),
                None => text.push_str(line),
            }
            text.push_str(end);
        }
        text
    })
}

proptest! {
    #[test]
    fn generated_items_round_trip(item in calendar_item(5)) {
        let text = calendar_item_to_ical(&item);
        for line in text.split_terminator("\r\n") {
            prop_assert!(line.len() <= 75, "{} octets: {}", line.len(), line);
            prop_assert!(!line.contains(['\r', '\n']));
        }
        prop_assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"));
        prop_assert!(text.ends_with("END:VCALENDAR\r\n"));
        let decoded: CalendarItem = proto::decode(&proto::encode(&item)).unwrap();
        prop_assert_eq!(&decoded, &item);
        assert_round_trips(&[item])?;
    }

    #[test]
    fn any_text_is_refused_with_a_reason_or_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        match calendar_items_from_ical(&text, 1) {
            Ok(items) => assert_round_trips(&items)?,
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidData),
        }
    }

    #[test]
    fn any_calendar_is_refused_with_a_reason_or_round_trips(text in ical_text()) {
        match calendar_items_from_ical(&text, 1) {
            Ok(items) => assert_round_trips(&items)?,
            Err(e) => prop_assert_eq!(e.kind(), ErrorKind::InvalidData),
        }
    }
}
