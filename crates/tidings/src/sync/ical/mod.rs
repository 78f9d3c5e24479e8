//! iCalendar (RFC 5545) text to and from [`CalendarItem`]s, lossless.
//!
//! ```
//! use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};
//!
//! let text = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:budget-1\r\n\
//!             DTSTART;TZID=Europe/Berlin:20261130T090000\r\n\
//!             SUMMARY:Budget\\, second reading\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
//! let items = calendar_items_from_ical(text, 7)?;
//! let master = items[0].master.as_ref().unwrap();
//! assert_eq!(master.summary, "Budget, second reading");
//! assert_eq!(calendar_items_from_ical(&calendar_item_to_ical(&items[0]), 7)?, items);
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! # What is kept
//!
//! Every VEVENT becomes a [`CalendarEvent`](crate::proto::CalendarEvent). A
//! property lands in a modelled field only when the field holds it exactly
//! and can tell it from absence; anything else (a second SUMMARY,
//! `RSVP=FALSE`, `SEQUENCE:0`, an ATTENDEE that is neither a `mailto:` address
//! nor another URI with one EMAIL parameter (the `uri` field then),
//! a malformed EXDATE, every property the schema does not model) is kept
//! verbatim in `other`, in order. Parameters a modelled property carries
//! beyond the modelled ones are kept verbatim beside it (`summary_params`,
//! `CalendarTime::params`, …); VALARMs keep theirs likewise, and
//! sub-components other than VALARM are kept verbatim. Writing an item back
//! therefore yields the same properties, up to what RFC 5545 itself treats
//! as equal: property and parameter order, line folding, TEXT escaping,
//! parameter quoting (and RFC 6868 carets in CN and TZID), the case of names
//! and enumerated values, the VALUE of a time (its form already says DATE,
//! DATE-TIME or PERIOD), and how EXDATE and RDATE values share lines.
//!
//! Items hold events only: VTODO, VJOURNAL and other top-level components
//! are not events and are skipped, as are the calendar's own properties
//! (METHOD, X-WR-CALNAME, …), which describe the collection, not the item;
//! lines in what is skipped are not judged. The one calendar property read
//! is X-WR-TIMEZONE, the zone of floating times, kept in each item as
//! `floating_tzid`. VTIMEZONEs are kept verbatim with each item whose times
//! refer to them.
//!
//! Some leniency real exporters need: bare LF line ends, blank lines, a
//! byte-order mark, VEVENTs outside any VCALENDAR, a DATE (or PERIOD)
//! written without its VALUE parameter, and a DTSTART, DTEND or
//! RECURRENCE-ID with blanks around its value or an empty `TZID=` (read,
//! and written back, without them).
//!
//! # What is refused
//!
//! [`ErrorKind::InvalidData`](crate::ErrorKind::InvalidData), with a fixed
//! reason, for: a malformed content line in what is kept (a malformed line
//! of an `X-` or other property RFC 5545 and RFC 7986 do not define is
//! dropped instead, as Apple's `X-APPLE-RADIUS=49.9` is), or malformed
//! BEGIN/END structure; components nested more than 16 deep; a CR that does
//! not end a line; no VEVENT at all; a VEVENT without a UID (or with an
//! empty one, or one with parameters), without DTSTART or with a malformed
//! one, or with a malformed RECURRENCE-ID; two VEVENTs with one UID and no
//! RECURRENCE-ID; and VTIMEZONEs shared by so many items that their copies
//! would exceed 64 times the input's size; and, before any of it is read,
//! text of so many short lines that reading it would cost more than 8 times
//! its size and 16 MiB (each content line, and each value of an EXDATE or
//! RDATE list, taken to cost 128 bytes, so lines averaging under 16 bytes;
//! real calendars' lines average 20 to 80), or a line of more than 4,096
//! parameters and parameter values. Overrides whose master is absent
//! are accepted: the item's `master` is then `None`, as when a user is
//! invited to one instance of a series only.
//!
//! # Why no iCalendar crate
//!
//! Both crates evaluated lose data that this mapping must keep. `ical` 0.11
//! trims whitespace at each fold (`Hello ` + ` world` reads "Helloworld"),
//! strips a leading ':' from values and moves parameter values past the
//! tenth into the property value. `icalendar` 0.17 unescapes TEXT values by
//! property name so "as written" is lost, drops the quotes of parameter
//! values, and its recursive parser overflows the stack (an abort, not a
//! panic) on deeply nested BEGIN lines. What is needed is small: unfolding,
//! and splitting a line into name, parameters and value by RFC 5545 §3.1,
//! which the `line` module does without changing a byte.

mod event;
mod line;
mod parse;
mod per_event;
mod props;
mod tree;
mod value;
mod weight;
mod write;

pub use per_event::{EventProblem, PerEvent, calendar_items_per_event};
pub use value::escape_text;

use crate::error::Result;
use crate::proto::CalendarItem;

/// Converts iCalendar text into one [`CalendarItem`] per UID, in the order
/// the UIDs first appear.
///
/// Each item has `calendar_id` set and `id` and `version` left at 0 for the
/// caller to assign. The master is the VEVENT without RECURRENCE-ID (`None`
/// when the text holds only overrides); overrides keep their file order.
///
/// # Errors
///
/// [`ErrorKind::InvalidData`](crate::ErrorKind::InvalidData) as listed in the
/// [module documentation](self#what-is-refused).
pub fn calendar_items_from_ical(text: &str, calendar_id: u64) -> Result<Vec<CalendarItem>> {
    parse::items(&with_line_feeds(text), calendar_id)
}

/// `text` with CRLF line ends when it has carriage returns and no line
/// feed at all: old Mac OS and Lotus Notes end lines with CR alone, and the
/// whole file read as one line ("no BEGIN:VCALENDAR line"). A CR inside a
/// text that has line feeds is still a stray one.
pub(crate) fn with_line_feeds(text: &str) -> std::borrow::Cow<'_, str> {
    match text.contains('\r') && !text.contains('\n') {
        true => text.replace('\r', "\r\n").into(),
        false => text.into(),
    }
}

/// Writes `item` as a complete VCALENDAR: VERSION and PRODID, its time
/// zones, the master and then the overrides; CRLF line ends, folded at 75
/// octets.
///
/// Never fails: verbatim parts of `item` that are not well formed (a raw
/// property named BEGIN, parameters that do not parse, a component text
/// that is not one component) are left out rather than written broken, and
/// line breaks are removed from values that cannot hold them.
pub fn calendar_item_to_ical(item: &CalendarItem) -> String {
    write::write(item)
}

#[cfg(test)]
mod tests;
