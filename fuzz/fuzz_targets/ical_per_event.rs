//! iCalendar read one VEVENT at a time (what `import ics` does): any text is
//! refused as a whole with a typed error, or read into items and per-event
//! problems that name a line of the input; every item read round-trips
//! through the strict reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::ErrorKind;
use tidings::sync::ical::{calendar_item_to_ical, calendar_items_from_ical, calendar_items_per_event};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match calendar_items_per_event(&text, 1) {
        Ok(read) => {
            let lines = text.split('\n').count();
            for problem in &read.problems {
                assert!((1..=lines).contains(&problem.line), "{problem:?}");
                assert_eq!(problem.error.kind(), ErrorKind::InvalidData);
            }
            for item in read.items {
                let written = calendar_item_to_ical(&item);
                let again = calendar_items_from_ical(&written, 1);
                assert_eq!(again, Ok(vec![item]), "{written}");
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidData),
    }
});
