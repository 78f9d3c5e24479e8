//! The preset dictionary published in `docs/spec/` is the one the core
//! packs with, and wire-format.md states its true length and SHA-256: an
//! implementation written from the docs alone decodes every packed item.

use sha2::{Digest, Sha256};
use std::path::PathBuf;
use tidings::compress::Dictionary;

fn spec_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/spec")
        .join(name)
}

#[test]
fn published_dictionary_is_the_one_the_core_uses() {
    let published =
        std::fs::read(spec_file("dictionary-v1.bin")).expect("docs/spec/dictionary-v1.bin");
    assert_eq!(published, Dictionary::V1.bytes());
}

#[test]
fn wire_format_states_the_dictionary_length_and_hash() {
    let spec = std::fs::read_to_string(spec_file("wire-format.md")).expect("wire-format.md");
    let bytes = Dictionary::V1.bytes();
    let hash = hex::encode(Sha256::digest(bytes));
    assert!(
        spec.contains(&hash),
        "wire-format.md must state SHA-256 {hash}"
    );
    let len = bytes.len();
    let with_comma = format!("{},{:03} bytes", len / 1000, len % 1000);
    assert!(
        spec.contains(&with_comma),
        "wire-format.md must state {with_comma}"
    );
}
