//! Items from anywhere (a device, a fuzzer), not only from the parser: any
//! item writes as well-formed iCalendar, and reads back, if at all, refused
//! for what it means rather than for how it is written.

use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;

use super::line::{lex, unfold};
use super::tree::components;
use super::{calendar_item_to_ical, calendar_items_from_ical};
use crate::error::Error;
use crate::proto::CalendarItem;

/// Refusals about content; a written item must never earn any other.
const MEANING: &[&str] = &[
    "iCalendar text holds no VEVENT",
    "VEVENT has no UID",
    "VEVENT UID is empty or has parameters",
    "VEVENT has no DTSTART",
    "VEVENT DTSTART is not a valid DATE or DATE-TIME",
    "VEVENT RECURRENCE-ID is not a valid DATE or DATE-TIME",
    "two VEVENTs share a UID and neither has a RECURRENCE-ID",
];

proptest! {
    #[test]
    fn arbitrary_items_write_well_formed_text(seed in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let Ok(item) = CalendarItem::arbitrary(&mut Unstructured::new(&seed)) else {
            return Ok(());
        };
        let text = calendar_item_to_ical(&item);
        prop_assert!(text.split_terminator("\r\n").all(|l| l.len() <= 75 && !l.contains(['\r', '\n'])));
        let unfolded = unfold(&text).unwrap();
        let lines: Vec<&str> = unfolded.split('\n').collect();
        prop_assert!(lines.iter().all(|l| lex(l).is_ok()));
        let roots = components(&lines).unwrap();
        prop_assert_eq!(roots.len(), 1);
        match calendar_items_from_ical(&text, item.calendar_id) {
            Ok(items) => {
                for again in items {
                    let text = calendar_item_to_ical(&again);
                    prop_assert_eq!(calendar_items_from_ical(&text, again.calendar_id), Ok(vec![again]));
                }
            }
            Err(Error::Other { reason, .. }) => prop_assert!(MEANING.contains(&reason), "{}", reason),
            Err(other) => prop_assert!(false, "{}", other),
        }
    }
}
