//! Arbitrary bytes into the envelope decoder, through the padding layer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::compress::unpad;
use tidings::proto::{Envelope, decode, encode};

fuzz_target!(|data: &[u8]| {
    for bytes in [Some(data), unpad(data).ok()].into_iter().flatten() {
        if let Ok(envelope) = decode::<Envelope>(bytes) {
            let again = encode(&envelope);
            assert_eq!(decode::<Envelope>(&again).ok(), Some(envelope));
        }
    }
});
