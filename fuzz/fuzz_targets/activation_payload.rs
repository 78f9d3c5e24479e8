//! Any text as a scanned activation payload: parsing never panics, and what
//! parses prints back to a payload that parses to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::session::ActivationPayload;

fuzz_target!(|text: &str| {
    if let Ok(payload) = ActivationPayload::parse(text) {
        assert_eq!(ActivationPayload::parse(&payload.to_uri()), Ok(payload));
    }
});
