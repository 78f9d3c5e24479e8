//! What reading iCalendar text will cost, weighed before it is read.
//!
//! Reading keeps a record for every content line (its place in the
//! component tree and, for a property the model does not hold, its name,
//! parameters and value as three strings) and one for every value of an
//! EXDATE or RDATE list; while a line is read, one for each of its
//! parameters and parameter values, which are bounded per line. A record costs about the same whatever its length,
//! so text of tiny lines (`X-A:1`, seven bytes) cost 70 times its size to
//! import, where real calendars, whose lines average 20 to 80 bytes, cost
//! far less per line. One pass over the text, without allocating, counts the
//! records; text whose records would weigh more than a bound linear in its
//! size is refused before anything is built, as mail's guard refuses mail
//! of the parser's smallest records.

use crate::error::{Error, ErrorKind, Result};

/// What one record is taken to weigh, in bytes: about what reading one
/// property kept verbatim holds (a 72-byte `RawProperty`, two small strings,
/// its line in the tree).
pub(crate) const RECORD_WEIGHT: usize = 128;

/// Weight allowed per byte of text: text whose lines average under 16
/// bytes (128 / 8) is refused once past the allowance below.
const WEIGHT_PER_BYTE: usize = 8;

/// Weight allowed to any text, so that small calendars are never judged.
const WEIGHT_ALLOWANCE: usize = 16 << 20;

/// Most parameters and parameter values one content line may have: a line's
/// parameters are read, about 90 bytes each, while the line is (not kept
/// after), so one line of a million `;a=` took 546 MB for 10 MB of text.
/// Real lines have a handful (an ATTENDEE seven, a MEMBER list dozens).
pub(crate) const MAX_LINE_PARAMETERS: usize = 4096;

/// Refuses `text` when its records would weigh more than
/// `WEIGHT_PER_BYTE` times its size plus `WEIGHT_ALLOWANCE`.
pub(crate) fn check(text: &str) -> Result<()> {
    let allowed = text
        .len()
        .saturating_mul(WEIGHT_PER_BYTE)
        .saturating_add(WEIGHT_ALLOWANCE);
    let (weight, most_parameters) = weigh(text);
    if most_parameters > MAX_LINE_PARAMETERS {
        return Err(Error::new(
            ErrorKind::InvalidData,
            "iCalendar line with more than 4,096 parameters and parameter values",
        ));
    }
    if weight > allowed {
        return Err(Error::new(
            ErrorKind::InvalidData,
            "iCalendar text of too many short lines: reading it would cost more than 8 times its size",
        ));
    }
    Ok(())
}

/// The text's weight, and the most parameters and parameter values one
/// line has (each `;` and `,` before the line's value, outside quotes).
/// A content line weighs [`RECORD_WEIGHT`]; each value past the first of
/// an EXDATE or RDATE list weighs that and its line's name and parameters,
/// since every value is read with its own copy of the TZID (a thousand
/// values under a 250-character TZID cost 90 to 130 times their text),
/// unless the copies would pass [`LIST_COPIES_PER_LINE_BYTE`] times the
/// line, which is then kept as written instead.
fn weigh(text: &str) -> (usize, usize) {
    let (mut weight, mut most, mut parameters) = (0usize, 0usize, 0usize);
    // The list line being read: its values past the first so far.
    let mut list: Option<ListLine> = None;
    // Whether a line's name and parameters are being read, inside quotes,
    // and their length so far.
    let (mut head, mut quoted, mut head_len) = (false, false, 0usize);
    for physical in text.split('\n') {
        if !physical.starts_with([' ', '\t']) {
            weight = weight.saturating_add(list.take().map_or(0, |l| l.weight()));
            if physical.strip_suffix('\r').unwrap_or(physical).is_empty() {
                head = false;
                continue;
            }
            weight = weight.saturating_add(RECORD_WEIGHT);
            list = list_name(physical).map(|name| ListLine {
                name_len: name.len(),
                ..ListLine::default()
            });
            (head, quoted, parameters, head_len) = (true, false, 0, 0);
        }
        let mut value = physical.as_bytes();
        if head {
            head_len = head_len.saturating_add(physical.len());
            if let Some(list) = list.as_mut() {
                list.head_lines += 1;
            }
            for (at, &b) in physical.as_bytes().iter().enumerate() {
                match b {
                    b'"' => quoted = !quoted,
                    b';' | b',' if !quoted => {
                        parameters += 1;
                        most = most.max(parameters);
                    }
                    b':' if !quoted => {
                        head = false;
                        value = physical.as_bytes().get(at..).unwrap_or_default();
                        head_len = head_len.saturating_sub(value.len());
                        break;
                    }
                    _ => {}
                }
            }
            if head {
                continue;
            }
        }
        if let Some(list) = list.as_mut() {
            list.head_len = head_len;
            list.values += value.iter().filter(|&&b| b == b',').count();
            list.value_len = list.value_len.saturating_add(value.len());
        }
    }
    let last = list.map_or(0, |l| l.weight());
    (weight.saturating_add(last), most)
}

/// Most bytes of TZID and parameter copies a list line's values are read
/// with, per byte of the line; past it the reader keeps the line as
/// written (`props::times`).
const LIST_COPIES_PER_LINE_BYTE: usize = 16;

/// An EXDATE or RDATE line being weighed, as written (folds included).
#[derive(Default)]
struct ListLine {
    /// Bytes of its name.
    name_len: usize,
    /// Bytes of its name and parameters, and the physical lines they span.
    head_len: usize,
    head_lines: usize,
    /// Values past the first.
    values: usize,
    /// Bytes of its value.
    value_len: usize,
}

impl ListLine {
    /// What its values weigh beyond its record: each its record and a copy
    /// of the name and parameters, unless the reader keeps the line as
    /// written. That is judged as the reader judges it, from bounds that
    /// only err towards weighing: the parameters' length less every fold
    /// and line end, against the line's whole length.
    fn weight(&self) -> usize {
        let params_high = self.head_len.saturating_sub(self.name_len);
        let params_low = params_high.saturating_sub(2 * self.head_lines + 1);
        let copies = self.values.saturating_add(1).saturating_mul(params_low);
        let line = params_high.saturating_add(self.value_len);
        if copies > line.saturating_mul(LIST_COPIES_PER_LINE_BYTE) {
            return 0;
        }
        let each = RECORD_WEIGHT.saturating_add(params_high);
        self.values.saturating_mul(each)
    }
}

/// The name `line` starts with when it is a property whose value is a
/// list of times.
fn list_name(line: &str) -> Option<&str> {
    let name_len = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(line.len());
    let name = line.get(..name_len).unwrap_or_default();
    let list = name.eq_ignore_ascii_case("EXDATE") || name.eq_ignore_ascii_case("RDATE");
    list.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_count_unfolded_lines_and_list_values() {
        let text =
            "BEGIN:VEVENT\r\nSUMMARY:a,\r\n b\r\n\r\nEXDATE:1,2\r\n ,3\r\nrdate:4,5\nEND:VEVENT";
        // Five content lines (the blank one is none), two more EXDATE values, one RDATE.
        // Two more EXDATE values and one RDATE, without parameters to copy.
        let lists = 3 * RECORD_WEIGHT;
        assert_eq!(weigh(text).0, 5 * RECORD_WEIGHT + lists);
    }

    #[test]
    fn a_lines_parameters_are_counted_and_its_value_is_not() {
        // Two parameters, one with two values, the quoted comma and ';' one
        // value; folded inside the parameters; the value's ';' and ',' none.
        let text = "ATTENDEE;CN=\"a;b,c\";ROLE=X,\r\n Y:mailto:a;b,c\r\nRRULE:FREQ=DAILY;COUNT=2";
        assert_eq!(weigh(text), (2 * RECORD_WEIGHT, 3));
        // A million `;a=` on one line: 546 MB to read 10 MB before.
        let line = |n: usize| format!("X-A{}:1\r\n", ";a=".repeat(n));
        assert!(check(&line(MAX_LINE_PARAMETERS)).is_ok());
        assert!(check(&line(MAX_LINE_PARAMETERS + 1)).is_err());
        let values = format!("X-A;a={}:1\r\n", ",".repeat(MAX_LINE_PARAMETERS));
        assert!(check(&values).is_err());
    }

    #[test]
    fn text_of_tiny_lines_is_refused_once_past_the_allowance() {
        let lines = |n: usize| "X-A:1\r\n".repeat(n);
        // 7-byte lines weigh 128 / 7 ≈ 18 times their size.
        let limit = WEIGHT_ALLOWANCE / (RECORD_WEIGHT - WEIGHT_PER_BYTE * 7);
        assert!(check(&lines(limit)).is_ok());
        let refused = check(&lines(limit + 1)).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidData);
    }

    #[test]
    fn text_of_lines_a_real_calendar_writes_is_not_refused_at_any_size() {
        // Holiday feeds and alarms are the shortest real lines: about 20 bytes.
        let event = "BEGIN:VEVENT\r\nUID:20270101_60o30dr4@google.com\r\n\
                     DTSTART;VALUE=DATE:20270101\r\nSUMMARY:New Year's Day\r\n\
                     BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\n\
                     END:VEVENT\r\n";
        let text = event.repeat((64 << 20) / event.len());
        assert!(check(&text).is_ok());
        let exdates = format!("EXDATE:{}\r\n", ["20270101T090000Z"; 100_000].join(","));
        assert!(check(&exdates.repeat(40)).is_ok());
        // Outlook's longest zone names weigh 13 times a list's text: a
        // megabyte of nothing else is read (a calendar of such lists alone
        // is refused past about 6 MB).
        let outlook =
            "EXDATE;TZID=\"(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna\":";
        let listed = format!("{outlook}{}\r\n", ["20270101T090000"; 1_000].join(","));
        assert!(check(&listed.repeat(60)).is_ok());
    }

    #[test]
    fn a_list_under_a_long_time_zone_name_weighs_its_copies() {
        // 1,000 values sharing a 250-character TZID: 869 MB for 9.76 MB.
        let tzid = "Z".repeat(250);
        let line = format!(
            "EXDATE;TZID={tzid}:{}\r\n",
            ["20270101T090000"; 1_000].join(",")
        );
        let text = line.repeat(600);
        assert!(text.len() < 10 << 20);
        assert!(check(&text).is_err());
        // Without the TZID the same list is read.
        let plain = format!("EXDATE:{}\r\n", ["20270101T090000Z"; 1_000].join(",")).repeat(600);
        assert!(check(&plain).is_ok());
    }
}
