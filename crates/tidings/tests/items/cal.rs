//! Helpers for the iCalendar tests.

use tidings::ErrorKind;
use tidings::proto::{CalendarEvent, CalendarItem, CalendarTime};
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};

/// The items of `text`, each checked to round-trip.
pub fn items(text: &str) -> Vec<CalendarItem> {
    let items = calendar_items_from_ical(text, 3).expect("accepted");
    for item in &items {
        let again = calendar_items_from_ical(&calendar_item_to_ical(item), 3);
        assert_eq!(
            again.as_deref(),
            Ok(std::slice::from_ref(item)),
            "round trip"
        );
    }
    items
}

/// The master of the first item.
pub fn master(text: &str) -> CalendarEvent {
    items(text).remove(0).master.expect("a master")
}

/// A calendar with one VEVENT of `lines`.
pub fn vevent(lines: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// The fixed reason `text` is refused with.
pub fn refusal(text: &str) -> &'static str {
    match calendar_items_from_ical(text, 3) {
        Err(tidings::Error::Other {
            kind: ErrorKind::InvalidData,
            reason,
        }) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A time without parameters.
pub fn time(value: &str, tzid: &str) -> CalendarTime {
    CalendarTime {
        value: value.into(),
        tzid: tzid.into(),
        params: String::new(),
    }
}
