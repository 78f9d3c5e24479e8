//! Any text as a NOTIFY payload on the PostgreSQL store's channel (anyone
//! with access to the database can send one): reading it never panics, and
//! what reads as a notice prints back to a payload that reads the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_store_postgres::Notice;

fuzz_target!(|text: &str| {
    if let Some(notice) = Notice::from_payload(text) {
        let payload = notice.to_payload().expect("a notice read from a payload has one");
        assert_eq!(Notice::from_payload(&payload), Some(notice));
    }
});
