//! iCalendar refusals, leniencies, and how items are written.

mod items;

use items::cal::{items, master, refusal, time, vevent};
use tidings::proto::{CalendarItem, RawProperty};
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};

#[test]
fn refusals_name_their_rule() {
    let cases = [
        ("", "iCalendar text holds no VEVENT"),
        (
            "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
            "iCalendar text holds no VEVENT",
        ),
        (&vevent("DTSTART:20261130T090000Z\r\n"), "VEVENT has no UID"),
        (
            &vevent("UID:\r\nDTSTART:20261130T090000Z\r\n"),
            "VEVENT UID is empty or has parameters",
        ),
        (&vevent("UID:1\r\n"), "VEVENT has no DTSTART"),
        (
            &vevent("UID:1\r\nDTSTART:20261332T090000Z\r\n"),
            "VEVENT DTSTART is not a valid DATE or DATE-TIME",
        ),
        (
            &vevent("UID:1\r\nDTSTART:20261130T090000Z\r\nRECURRENCE-ID:soon\r\n"),
            "VEVENT RECURRENCE-ID is not a valid DATE or DATE-TIME",
        ),
        (
            &vevent("UID:1\r\nDTSTART:20261130T090000Z\r\nSUMMARY\r\n"),
            "malformed iCalendar content line",
        ),
        (
            &vevent("UID:1\r\nDTSTART;TZID=\"open:20261130T090000Z\r\n"),
            "malformed iCalendar content line",
        ),
        (
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VCALENDAR\r\n",
            "iCalendar END does not match its BEGIN",
        ),
        (
            "BEGIN:VCALENDAR\r\n",
            "iCalendar component not closed by END",
        ),
        ("END:VCALENDAR\r\n", "iCalendar END without BEGIN"),
        (" folded\r\n", "iCalendar text starts with a folded line"),
        (
            "BEGIN:VCALENDAR\rEND:VCALENDAR\r\n",
            "iCalendar text holds a CR that does not end a line",
        ),
        (
            &"BEGIN:X\r\n".repeat(100_000),
            "iCalendar components nested too deeply",
        ),
        (
            &format!(
                "BEGIN:VCALENDAR\r\n{0}{0}END:VCALENDAR\r\n",
                "BEGIN:VEVENT\r\nUID:1\r\nDTSTART:20261130T090000Z\r\nEND:VEVENT\r\n"
            ),
            "two VEVENTs share a UID and neither has a RECURRENCE-ID",
        ),
    ];
    for (text, reason) in cases {
        assert_eq!(refusal(text), reason, "{text:.80}");
    }
}

#[test]
fn leniencies_real_exporters_need() {
    // A byte-order mark, bare LF, blank lines, a DATE without VALUE=DATE, a
    // VEVENT outside any VCALENDAR and junk after the last END.
    let text =
        "\u{feff}BEGIN:VEVENT\nUID:1\n\nDTSTART:20261130\nEND:VEVENT\nX-JUNK:after the end\n";
    let event = master(text);
    assert_eq!(event.start, Some(time("20261130", "")));
}

#[test]
fn a_time_with_blanks_around_it_or_an_empty_zone_is_read_as_meant() {
    let event = master(&vevent(
        "UID:1\r\nDTSTART;TZID=;X-A=b:20261130T090000 \r\nDTEND: 20261130T100000Z\r\n",
    ));
    let mut start = time("20261130T090000", "");
    start.params = "X-A=b".into();
    assert_eq!(event.start, Some(start));
    assert_eq!(event.end, Some(time("20261130T100000Z", "")));
    assert!(event.other.is_empty(), "{:?}", event.other);
    let instance = &items(&vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261130T090000\t\r\n",
    ))[0]
        .overrides[0];
    assert_eq!(
        instance.recurrence_id,
        Some(time("20261130T090000", "Europe/Berlin"))
    );
    // What is written back is the repaired form, and reads as itself.
    let item = &items(&vevent("UID:1\r\nDTSTART;TZID=:20261130T090000 \r\n"))[0];
    let text = calendar_item_to_ical(item);
    assert!(text.contains("\r\nDTSTART:20261130T090000\r\n"), "{text}");
    assert_eq!(
        calendar_items_from_ical(&text, item.calendar_id).unwrap(),
        std::slice::from_ref(item)
    );
    // A value that is no time with or without its blanks is still refused.
    assert_eq!(
        refusal(&vevent("UID:1\r\nDTSTART: soon \r\n")),
        "VEVENT DTSTART is not a valid DATE or DATE-TIME"
    );
}

#[test]
fn written_text_is_a_complete_folded_vcalendar() {
    let summary = "Ünïcode ".repeat(30);
    let item = &items(&vevent(&format!(
        "UID:1\r\nDTSTART:20261130T090000Z\r\nSUMMARY:{summary}\r\n"
    )))[0];
    let text = calendar_item_to_ical(item);
    assert!(
        text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tidings//Tidings//EN\r\n")
    );
    assert!(text.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert!(lines.iter().all(|l| l.len() <= 75 && !l.contains('\n')));
    assert!(
        lines.iter().filter(|l| l.starts_with(' ')).count() >= 4,
        "{text}"
    );
}

#[test]
fn nothing_in_an_item_can_break_the_written_structure() {
    let mut event = master(&vevent("UID:1\r\nDTSTART:20261130T090000Z\r\n"));
    event.summary = "a\r\nEND:VEVENT".into();
    event.uid = "1\r\nBEGIN:VTODO".into();
    event.other = vec![
        RawProperty {
            name: "END".into(),
            params: "".into(),
            value: "VEVENT".into(),
        },
        RawProperty {
            name: "X-BAD PARAMS".into(),
            params: "".into(),
            value: "v".into(),
        },
        RawProperty {
            name: "X-OK".into(),
            params: "A=\"unclosed".into(),
            value: "v".into(),
        },
        RawProperty {
            name: "X-BROKEN".into(),
            params: "".into(),
            value: "a\nBEGIN:VTODO".into(),
        },
    ];
    event.components = vec!["BEGIN:X\r\nEND:Y\r\n".into(), "END:VEVENT\r\n".into()];
    let item = CalendarItem {
        master: Some(event),
        ..CalendarItem::default()
    };
    let text = calendar_item_to_ical(&item);
    let again = calendar_items_from_ical(&text, 0).expect("still one well-formed event");
    let event = again[0].master.as_ref().unwrap();
    assert_eq!(event.summary, "a\nEND:VEVENT");
    assert_eq!(event.uid, "1BEGIN:VTODO");
    let names: Vec<&str> = event.other.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["X-BROKEN"]);
    assert!(event.components.is_empty());
}

#[test]
fn shared_time_zones_cannot_multiply_memory() {
    let padding = "X-PAD:0123456789012345678901234567890123456789\r\n".repeat(10_000);
    let zone = format!("BEGIN:VTIMEZONE\r\nTZID:Z\r\n{padding}END:VTIMEZONE\r\n");
    let event = |i: usize| {
        format!("BEGIN:VEVENT\r\nUID:{i}\r\nDTSTART;TZID=Z:20261130T090000\r\nEND:VEVENT\r\n")
    };
    let calendar = |events: usize| {
        let events: String = (0..events).map(event).collect();
        format!("BEGIN:VCALENDAR\r\n{zone}{events}END:VCALENDAR\r\n")
    };
    // Each of 3 items carries its own copy of the half-megabyte zone...
    assert_eq!(items(&calendar(3)).len(), 3);
    // ...but 2,000 copies would be a gigabyte from under a megabyte of input.
    assert_eq!(
        refusal(&calendar(2_000)),
        "VTIMEZONEs repeat in more items than the input's size allows"
    );
}

#[test]
fn long_date_lists_cannot_multiply_memory() {
    // 20,000 dates sharing 100 kB of parameters would be 2 GB as times.
    let params = format!("X-PAD={}", "p".repeat(100_000));
    let dates = vec!["20261201T090000Z"; 20_000].join(",");
    let line = format!("EXDATE;{params}:{dates}\r\n");
    let event = master(&vevent(&format!(
        "UID:1\r\nDTSTART:20261130T090000Z\r\n{line}"
    )));
    assert!(event.exdates.is_empty());
    assert_eq!(event.other.len(), 1);
    assert_eq!(event.other[0].value.len(), dates.len());
}

#[test]
fn text_of_tiny_properties_is_refused_before_it_is_read() {
    // 10 MB of `X-A:1` took 730 MB to import: each line is a record of its own.
    let tiny = |lines: usize| {
        vevent(&format!(
            "UID:1\r\nDTSTART:20261130T090000Z\r\n{}",
            "X-A:1\r\n".repeat(lines)
        ))
    };
    assert_eq!(master(&tiny(10_000)).other.len(), 10_000);
    let reason =
        "iCalendar text of too many short lines: reading it would cost more than 8 times its size";
    assert_eq!(refusal(&tiny(1_500_000)), reason);
    let per_event = tidings::sync::ical::calendar_items_per_event(&tiny(1_500_000), 1);
    assert!(per_event.unwrap_err().to_string().contains(reason));
}

#[test]
fn an_ios_location_with_escapes_in_a_parameter_is_kept_as_written() {
    let location = "X-APPLE-STRUCTURED-LOCATION;VALUE=URI;X-ADDRESS=1 Main St\\nSpringfield\\, \
                    IL\\;United States;X-APPLE-RADIUS=70;X-TITLE=Town Hall:geo:39.80,-89.64";
    let event = master(&vevent(&format!(
        "UID:1\r\nDTSTART:20261130T090000Z\r\n{location}\r\n"
    )));
    assert_eq!(event.other.len(), 1, "{:?}", event.other);
    let kept = &event.other[0];
    assert_eq!(kept.name, "X-APPLE-STRUCTURED-LOCATION");
    assert!(
        kept.params.ends_with("X-TITLE=Town Hall"),
        "{}",
        kept.params
    );
    assert_eq!(kept.value, "geo:39.80,-89.64");
    let item = &items(&vevent(&format!(
        "UID:1\r\nDTSTART:20261130T090000Z\r\n{location}\r\n"
    )))[0];
    let written = calendar_item_to_ical(item);
    assert_eq!(
        calendar_items_from_ical(&written, item.calendar_id).unwrap(),
        std::slice::from_ref(item)
    );
}

/// A stamp with `VALUE=DATE-TIME` (Radicale's and ical.net's writers add
/// it) is the stamp, written without it; one the model cannot hold
/// (KAlarm's floating stamp) stays verbatim, as it came.
#[test]
fn a_dtstamp_with_its_value_type_is_the_stamp() {
    let valued = master(&vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\nDTSTAMP;VALUE=date-time:20250723T080354Z\r\n",
    ));
    assert_eq!(valued.dtstamp, "20250723T080354Z");
    assert!(valued.other.is_empty(), "{:?}", valued.other);
    let floating = master(&vevent(
        "UID:1\r\nDTSTART:20261130T090000Z\r\nDTSTAMP:20050522T130601\r\n",
    ));
    assert!(floating.dtstamp.is_empty());
    assert_eq!(floating.other[0].value, "20050522T130601");
}
