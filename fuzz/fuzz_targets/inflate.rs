//! Arbitrary packed items into the bounded inflater.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::compress::{InflateLimits, PackOptions, pack, unpack};

fuzz_target!(|data: &[u8]| {
    let limits = InflateLimits {
        max_output: 1 << 20,
        ..InflateLimits::default()
    };
    if let Ok(item) = unpack(data, &limits) {
        assert!(item.len() <= limits.allowed_output(data.len()));
        // Whatever unpacks must pack and unpack to itself.
        let again = pack(&item, &PackOptions::default());
        assert_eq!(unpack(&again, &InflateLimits::default()).as_deref(), Ok(&item[..]));
    }
});
