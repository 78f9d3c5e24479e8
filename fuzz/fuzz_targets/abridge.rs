//! Any bytes as a stored packed item, and any protobuf Item packed: abridging
//! never panics, always fits one page, and what it gives unpacks and decodes
//! within a device's default limits (sync.md §3 rule 9).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::compress::{InflateLimits, PackOptions, pack, unpack};
use tidings::proto::{self, Item};
use tidings::sync::MAX_PACKED_ITEM;
use tidings::sync::abridge::abridge;

fuzz_target!(|input: (bool, Item, Vec<u8>)| {
    let (as_item, item, bytes) = input;
    let packed = match as_item {
        true => pack(&proto::encode(&item), &PackOptions::default()),
        false => bytes,
    };
    let out = abridge(&packed);
    assert!(out.len() <= MAX_PACKED_ITEM);
    let inflated = unpack(&out, &InflateLimits::default()).expect("abridged items unpack");
    proto::decode::<Item>(&inflated).expect("abridged items decode");
});
