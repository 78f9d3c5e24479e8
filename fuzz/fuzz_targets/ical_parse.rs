//! iCalendar both ways. A first byte of 0 makes the rest iCalendar text
//! (seed with `.ics` files behind a zero byte): it is refused with a typed
//! error, or its items round-trip exactly. Any other first byte makes the
//! rest an arbitrary item, as a device might send one: it writes as folded
//! text whose items, if it has any, round-trip exactly.
#![no_main]

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use tidings::ErrorKind;
use tidings::proto::CalendarItem;
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical};

/// Every item the parser produced reads back unchanged after writing.
fn assert_round_trips(text: &str) {
    match calendar_items_from_ical(text, 1) {
        Ok(items) => {
            for item in items {
                let written = calendar_item_to_ical(&item);
                let again = calendar_items_from_ical(&written, item.calendar_id);
                assert_eq!(again, Ok(vec![item]), "{written}");
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidData),
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, text)) => {
            if let Ok(text) = std::str::from_utf8(text) {
                assert_round_trips(text);
            }
        }
        Some((_, seed)) => {
            let Ok(item) = CalendarItem::arbitrary(&mut Unstructured::new(seed)) else {
                return;
            };
            let text = calendar_item_to_ical(&item);
            assert!(
                text.split_terminator("\r\n")
                    .all(|l| l.len() <= 75 && !l.contains('\n'))
            );
            assert_round_trips(&text);
        }
        None => {}
    }
});
