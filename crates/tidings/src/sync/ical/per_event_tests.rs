//! Reading a calendar one VEVENT at a time.

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;

use super::calendar_items_per_event;
use crate::error::ErrorKind;
use crate::proto::CalendarItem;
use crate::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};

fn calendar(body: &str) -> String {
    format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n{body}END:VCALENDAR\r\n")
}

fn event(uid: &str, extra: &str) -> String {
    format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261120T100000Z\r\nDTSTART:20261203T090000Z\r\n{extra}END:VEVENT\r\n"
    )
}

fn summaries(items: &[CalendarItem]) -> Vec<String> {
    let masters = items.iter().filter_map(|i| i.master.as_ref());
    masters.map(|m| m.summary.clone()).collect()
}

#[test]
fn a_broken_event_is_refused_alone_with_its_line_and_uid() {
    let text = calendar(&format!(
        "{}{}{}",
        event("a", "SUMMARY:first\r\n"),
        event("b", "SUMMARY;CN=\"unterminated:broken\r\n"),
        event("c", "SUMMARY:third\r\n"),
    ));
    let read = calendar_items_per_event(&text, 7).expect("calendar");
    assert_eq!(summaries(&read.items), ["first", "third"]);
    assert_eq!(read.problems.len(), 1);
    let problem = &read.problems[0];
    assert_eq!(problem.uid.as_deref(), Some("b"));
    // The SUMMARY line of the second event: 3 calendar lines, 6 of event a,
    // then its fifth.
    assert_eq!(problem.line, 14, "{text}");
    assert_eq!(problem.error.kind(), ErrorKind::InvalidData);
    assert!(read.items.iter().all(|i| i.calendar_id == 7));
}

#[test]
fn an_event_without_uid_gets_a_stable_derived_one() {
    let no_uid = "BEGIN:VEVENT\r\nDTSTAMP:20261120T100000Z\r\nDTSTART:20261203T090000Z\r\nSUMMARY:Surgery\r\nEND:VEVENT\r\n";
    let first = calendar_items_per_event(&calendar(no_uid), 1).expect("calendar");
    assert_eq!(first.derived_uids, 1);
    assert!(first.problems.is_empty(), "{:?}", first.problems);
    let uid = &first.items[0].master.as_ref().expect("master").uid;
    assert!(uid.ends_with("@derived.tidings"), "{uid}");
    // Exporters rewrite DTSTAMP each time: the same event keeps its UID.
    let restamped = no_uid.replace("20261120T100000Z", "20261201T080000Z");
    let again = calendar_items_per_event(&calendar(&restamped), 1).expect("calendar");
    assert_eq!(&again.items[0].master.as_ref().expect("master").uid, uid);
    // Another event gets another UID.
    let other = no_uid.replace("Surgery", "Council");
    let other = calendar_items_per_event(&calendar(&other), 1).expect("calendar");
    assert_ne!(&other.items[0].master.as_ref().expect("master").uid, uid);
}

#[test]
fn several_versions_keep_the_latest_by_sequence_then_dtstamp() {
    let restamped = event("y", "SUMMARY:y new\r\n").replace("20261120T100000Z", "20261121T100000Z");
    let text = calendar(&format!(
        "{}{}{}{restamped}",
        event("x", "SEQUENCE:2\r\nSUMMARY:second\r\n"),
        event("x", "SEQUENCE:1\r\nSUMMARY:first\r\n"),
        event("y", "SUMMARY:y old\r\n"),
    ));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    assert_eq!(summaries(&read.items), ["second", "y new"]);
    assert_eq!(read.superseded, 2);
    assert!(read.problems.is_empty());
    // The strict reader refuses the same text whole.
    assert!(calendar_items_from_ical(&text, 1).is_err());
}

#[test]
fn a_typo_in_a_todo_does_not_touch_the_events() {
    let text = calendar(&format!(
        "BEGIN:VTODO\r\nUID:t\r\nSUMMARY;broken\r\nEND:VTOD\r\n{}",
        event("a", "SUMMARY:kept\r\n")
    ));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    assert_eq!(summaries(&read.items), ["kept"]);
    assert!(read.problems.is_empty(), "{:?}", read.problems);
}

#[test]
fn an_unclosed_event_is_refused_and_the_next_kept() {
    let unclosed = event("a", "SUMMARY:lost\r\n").replace("END:VEVENT\r\n", "");
    let text = calendar(&format!("{unclosed}{}", event("b", "SUMMARY:kept\r\n")));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    assert_eq!(summaries(&read.items), ["kept"]);
    assert_eq!(read.problems.len(), 1);
    assert_eq!(read.problems[0].uid.as_deref(), Some("a"));
    assert_eq!(read.problems[0].line, 9, "the BEGIN that found it open");
}

#[test]
fn a_stray_cr_refuses_only_its_event() {
    let text = calendar(&format!(
        "{}{}",
        event("a", "SUMMARY:one\rtwo\r\n"),
        event("b", "SUMMARY:kept\r\n")
    ));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    assert_eq!(summaries(&read.items), ["kept"]);
    assert_eq!(read.problems[0].line, 8);
}

#[test]
fn empty_calendars_are_fine_and_other_files_are_not_calendars() {
    let read = calendar_items_per_event(&calendar(""), 1).expect("empty calendar");
    assert!(read.items.is_empty() && read.problems.is_empty());
    for not_ical in [
        "",
        "\u{89}PNG\r\n\u{1a}\n",
        "Subject: hello\r\n\r\nbody",
        "\0\0\0",
    ] {
        let e = calendar_items_per_event(not_ical, 1).expect_err(not_ical);
        assert_eq!(e.kind(), ErrorKind::InvalidData);
    }
}

#[test]
fn time_zones_travel_with_the_events_that_name_them() {
    let zone = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    let zoned =
        "BEGIN:VEVENT\r\nUID:z\r\nDTSTART;TZID=Europe/Berlin:20261203T090000\r\nEND:VEVENT\r\n";
    let text = calendar(&format!("{zone}{zoned}{}", event("u", "")));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    assert_eq!(read.items.len(), 2);
    assert_eq!(read.items[0].timezones.len(), 1);
    assert_eq!(read.items[0].timezones[0].tzid, "Europe/Berlin");
    assert!(read.items[1].timezones.is_empty());
    assert_eq!(
        read.items,
        calendar_items_from_ical(&text, 1).expect("strict")
    );
}

/// Outlook and Exchange name zones with commas, escaped in the VTIMEZONE
/// (TZID is TEXT) and quoted in the parameter: the zone was lost and its
/// times read as UTC, 8 hours off for Kuala Lumpur.
#[test]
fn a_zone_whose_name_has_an_escaped_comma_is_found() {
    let zone = "BEGIN:VTIMEZONE\r\nTZID:Kuala Lumpur\\, Singapore\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\nTZOFFSETFROM:+0800\r\nTZOFFSETTO:+0800\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    let zoned = "BEGIN:VEVENT\r\nUID:kl\r\nDTSTART;TZID=\"Kuala Lumpur, Singapore\":20261005T093000\r\nEND:VEVENT\r\n";
    let text = calendar(&format!("{zone}{zoned}"));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    let zones = &read.items[0].timezones;
    assert_eq!(zones.len(), 1, "{read:?}");
    assert_eq!(zones[0].tzid, "Kuala Lumpur, Singapore");
    assert_eq!(
        read.items,
        calendar_items_from_ical(&text, 1).expect("strict")
    );
}

/// Lotus Notes and old Mac OS end lines with CR alone: the file was one
/// line, refused as "no BEGIN:VCALENDAR line".
#[test]
fn a_calendar_with_carriage_returns_alone_is_read() {
    let crlf = calendar(&event("mac", "SUMMARY:Staff\r\n DAY\r\n"));
    let cr = crlf.replace("\r\n", "\r");
    let read = calendar_items_per_event(&cr, 1).expect("calendar");
    assert_eq!(summaries(&read.items), ["StaffDAY"]);
    assert_eq!(
        read.items,
        calendar_items_per_event(&crlf, 1).expect("crlf").items
    );
    assert_eq!(
        calendar_items_from_ical(&cr, 1).expect("strict"),
        calendar_items_from_ical(&crlf, 1).expect("strict")
    );
}

/// Evolution writes `RRULE;X-EVOLUTION-ENDDATE=…:` on every counted rule:
/// the event read as a single one, and free/busy expanded nothing. Its
/// parameters are kept beside the rule and written back: a device's edit
/// dropped them upstream, and Evolution lost the series' end.
#[test]
fn a_rule_with_parameters_is_still_the_events_rule_and_keeps_them() {
    let rule = "RRULE;X-EVOLUTION-ENDDATE=20261211T100000Z:FREQ=WEEKLY;COUNT=3;INTERVAL=2\r\n";
    let text = calendar(&event("evo", rule));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    let master = read.items[0].master.as_ref().expect("master");
    assert_eq!(master.rrule, "FREQ=WEEKLY;COUNT=3;INTERVAL=2");
    assert_eq!(master.rrule_params, "X-EVOLUTION-ENDDATE=20261211T100000Z");
    assert!(master.other.is_empty(), "{:?}", master.other);
    let written = calendar_item_to_ical(&read.items[0]);
    assert!(written.contains(rule), "{written}");
}

/// `import` and `deliver` read one event at a time, and so lost the
/// calendar's zone for floating times: free/busy put a Google export's
/// floating 10:00 New York at 10:00 UTC.
#[test]
fn the_calendars_zone_for_floating_times_travels_with_every_event() {
    let floating = "BEGIN:VEVENT\r\nUID:f\r\nDTSTART:20261203T100000\r\nEND:VEVENT\r\n";
    let text = calendar(&format!(
        "X-WR-TIMEZONE:America/New_York\r\n{floating}{}",
        event("u", "")
    ));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    let zones: Vec<&str> = read
        .items
        .iter()
        .map(|i| i.floating_tzid.as_str())
        .collect();
    assert_eq!(zones, ["America/New_York", "America/New_York"]);
    assert_eq!(
        read.items,
        calendar_items_from_ical(&text, 1).expect("strict")
    );
}

proptest! {
    /// Whatever the text, reading never panics, and every problem names a
    /// line of the input.
    #[test]
    fn any_text_is_read_or_refused(text in "(BEGIN:V(CALENDAR|EVENT|TIMEZONE|ALARM)\r\n|END:V(CALENDAR|EVENT|TIMEZONE|ALARM)\r\n|UID:[a-c]\r\n|DTSTART:2026120[1-3]\r\n|SEQUENCE:[0-3]\r\n| x\r\n|\r|[ -~]{0,12}\r\n){0,40}") {
        if let Ok(read) = calendar_items_per_event(&text, 1) {
            let lines = text.split('\n').count();
            prop_assert!(read.problems.iter().all(|p| p.line >= 1 && p.line <= lines));
        }
    }

    /// A text the strict reader accepts is read the same way, event by event.
    #[test]
    fn agrees_with_the_strict_reader(seed in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let Ok(item) = CalendarItem::arbitrary(&mut Unstructured::new(&seed)) else {
            return Ok(());
        };
        let text = calendar_item_to_ical(&item);
        if let Ok(strict) = calendar_items_from_ical(&text, 1) {
            let read = calendar_items_per_event(&text, 1).expect("a calendar");
            prop_assert_eq!(read.problems, Vec::new());
            prop_assert_eq!(read.items, strict);
        }
    }
}

#[test]
fn a_malformed_extension_line_is_dropped_but_a_malformed_known_one_refuses() {
    // issue 168 of the Python icalendar package: Apple wrote no colon.
    let text = calendar(&format!(
        "{}{}{}{}",
        event(
            "apple",
            "SUMMARY:kept\r\nX-APPLE-RADIUS=49.91307046514149\r\n"
        ),
        event("iana", "SUMMARY:also kept\r\nNEW-THING;broken\r\n"),
        event("bad", "SUMMARY:refused\r\nLOCATION=Town hall\r\n"),
        "BEGIN:VEVENT\r\nUID:nostart\r\nX-APPLE-RADIUS=1\r\nDTSTART=20261203T090000Z\r\nEND:VEVENT\r\n",
    ));
    let read = calendar_items_per_event(&text, 7).expect("calendar");
    assert_eq!(summaries(&read.items), ["kept", "also kept"]);
    let refused: Vec<_> = read.problems.iter().map(|p| p.uid.as_deref()).collect();
    assert_eq!(refused, [Some("bad"), Some("nostart")]);
    // The malformed DTSTART is named, not the dropped line before it.
    let nostart = &read.problems[1];
    assert_eq!(nostart.line, 3 + 7 + 7 + 7 + 4);
    let written = read
        .items
        .iter()
        .map(calendar_item_to_ical)
        .collect::<Vec<_>>()
        .concat();
    assert!(!written.contains("X-APPLE-RADIUS"), "{written}");
}

#[test]
fn dropped_lines_are_counted_with_their_numbers() {
    // Apple's unquoted X-APPLE-RADIUS, and a DESCRIPTION an exporter did
    // not fold: its second line reads as a malformed property line.
    let zone = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nX-LIC-LOCATION=Europe/Berlin\r\n\
                BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\n\
                TZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    let text = calendar(&format!(
        "{zone}{}{}{}",
        event(
            "a",
            "DTEND;TZID=Europe/Berlin:20261203T100000\r\n\
             X-APPLE-STRUCTURED-LOCATION;X-APPLE-RADIUS=49.9\r\n\
             DESCRIPTION:first line\r\nsecond line, not folded\r\n"
        ),
        event("b", "SUMMARY;CN=\"unterminated:broken\r\nX-BROKEN\r\n"),
        event("c", "DTEND;TZID=Europe/Berlin:20261203T100000\r\n"),
    ));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    assert_eq!(summaries(&read.items).len(), 2);
    assert_eq!(read.problems.len(), 1, "{:?}", read.problems);
    // The zone's X-LIC-LOCATION line (6) once although two events use the
    // zone; event a's two lines (18, 20); nothing of the refused event b.
    assert_eq!(read.dropped_lines, [6, 18, 20], "{text}");
    let master = read.items[0].master.as_ref().expect("master");
    assert_eq!(master.description, "first line");
}

#[test]
fn a_superseded_versions_dropped_lines_are_not_counted() {
    // Version 1 of "a" has a malformed extension line; version 2 replaces
    // it whole, so nothing of version 1 is in what is imported. Then "b":
    // the later copy comes first, so the earlier copy's line is not kept.
    let text = calendar(&format!(
        "{}{}{}{}",
        event("a", "SEQUENCE:1\r\nX-APPLE-RADIUS=1\r\n"),
        event("a", "SEQUENCE:2\r\nSUMMARY:kept\r\n"),
        event("b", "SEQUENCE:3\r\nX-APPLE-RADIUS=3\r\n"),
        event("b", "SEQUENCE:2\r\nX-APPLE-RADIUS=2\r\n"),
    ));
    let read = calendar_items_per_event(&text, 1).expect("calendar");
    assert_eq!(read.superseded, 2);
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    // Only event b's SEQUENCE:3 copy: 3 calendar lines, 7 + 7 of a, then
    // its sixth line.
    assert_eq!(read.dropped_lines, [23], "{text}");
}
