//! Any bytes as an ItemPatch's packed patch applied to any held item, and
//! the patch the server computes between any two items: applying never
//! panics and stays within the device's limits; a computed patch applied to
//! the old version gives the new one exactly (sync.md §3.1).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::compress::{InflateLimits, PackOptions, pack};
use tidings::proto::{self, Item};
use tidings::sync::patch::{apply_item_patch, item_patch};

fuzz_target!(|input: (Item, Item, Vec<u8>)| {
    let (held, new, bytes) = input;
    let limits = InflateLimits::default();
    if let Ok(item) = apply_item_patch(&held, &bytes, &limits) {
        assert!(proto::encode(&item).len() <= limits.max_output);
    }
    let options = PackOptions::default();
    let (old_packed, new_packed) = (
        pack(&proto::encode(&held), &options),
        pack(&proto::encode(&new), &options),
    );
    if let Some(patch) = item_patch(&old_packed, &new_packed) {
        let applied = apply_item_patch(&held, &patch, &limits).expect("a computed patch applies");
        assert_eq!(applied, new);
    }
});
