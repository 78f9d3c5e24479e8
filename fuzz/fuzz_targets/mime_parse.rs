//! Any bytes as a MIME message: a typed error, or an item whose listed parts
//! can all be fetched with exactly the listed sizes.
//!
//! Run with `cargo fuzz run -O mime_parse`: mail-parser 0.11 has
//! `debug_assert!(false)` on malformed nesting that it recovers from in
//! release builds, which a build with debug assertions reports as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::ErrorKind;
use tidings::sync::mail::{MailItemOptions, mail_item_from_message, part_bytes};

fuzz_target!(|input: (u16, Vec<u8>)| {
    let (preview_bytes, raw) = input;
    let options = MailItemOptions {
        preview_bytes: usize::from(preview_bytes),
        ..MailItemOptions::default()
    };
    let item = match mail_item_from_message(&raw, &options) {
        Ok(item) => item,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidData);
            return;
        }
    };
    assert!(item.preview.len() <= options.preview_bytes);
    assert_eq!(item.size, raw.len() as u64);
    let bodies = item.body_parts.iter().map(|p| (p.part_id, p.size));
    for (id, size) in bodies.chain(item.attachments.iter().map(|a| (a.part_id, a.size))) {
        let bytes = part_bytes(&raw, id).expect("a listed part can be fetched");
        assert_eq!(bytes.len() as u64, size);
    }
});
