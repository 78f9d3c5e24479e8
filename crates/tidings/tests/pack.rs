//! Packed items and padding: round trips, flags, and the choice to compress.

use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::compress::{Dictionary, InflateLimits, PackOptions, pack, pad, unpack, unpad};

const NO_DICTIONARY: PackOptions = PackOptions {
    min_deflate_len: 64,
    level: 6,
    dictionary: None,
};

#[test]
fn small_items_are_stored_as_they_are() {
    let item = b"\x08\x2a\x10\x01";
    let packed = pack(item, &PackOptions::default());
    assert_eq!(packed, [&[0u8][..], item].concat());
    assert_eq!(
        unpack(&packed, &InflateLimits::default()),
        Ok(item.to_vec())
    );
}

#[test]
fn text_is_deflated_and_says_so() {
    let text = "Dear councillors, the planning committee meets on Thursday. ".repeat(20);
    for (options, flags) in [(NO_DICTIONARY, 0x01), (PackOptions::default(), 0x03)] {
        let packed = pack(text.as_bytes(), &options);
        assert_eq!(packed[0], flags);
        assert!(packed.len() < text.len() / 4, "{} bytes", packed.len());
        assert_eq!(
            unpack(&packed, &InflateLimits::default()).as_deref(),
            Ok(text.as_bytes())
        );
    }
}

#[test]
fn incompressible_items_are_stored() {
    // xorshift64: bytes with no structure deflate can use.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect();
    let packed = pack(&noise, &NO_DICTIONARY);
    assert_eq!(packed[0], 0);
    assert_eq!(packed.len(), noise.len() + 1);
}

#[test]
fn the_dictionary_helps_small_mail_like_items() {
    let item = b"Re: Budget meeting agenda -- Kind regards, Please find attached the report. \
                 Content-Type: text/plain; charset=utf-8";
    let plain = pack(item, &NO_DICTIONARY);
    let primed = pack(item, &PackOptions::default());
    assert!(
        primed.len() < plain.len(),
        "{} vs {}",
        primed.len(),
        plain.len()
    );
}

#[test]
fn bad_flags_and_dictionaries_are_typed_errors() {
    let limits = InflateLimits::default();
    let kind = |bytes: &[u8]| unpack(bytes, &limits).map_err(|e| e.kind());
    assert_eq!(kind(&[]), Err(ErrorKind::InflateCorrupt));
    assert_eq!(kind(&[0x08, 1]), Err(ErrorKind::UnknownPayloadFlags));
    assert_eq!(kind(&[0x02, 1]), Err(ErrorKind::UnknownPayloadFlags));
    assert_eq!(kind(&[0x05, 1, 0]), Err(ErrorKind::UnknownDictionary));
    assert_eq!(kind(&[0x01, 5, 0xff, 0xff]), Err(ErrorKind::InflateCorrupt));
    assert_eq!(Dictionary::from_id(Dictionary::V1.id()), Ok(Dictionary::V1));
}

#[test]
fn a_stream_shorter_or_longer_than_declared_is_refused() {
    let text = "All staff: the town hall closes early on Friday. ".repeat(10);
    let packed = pack(text.as_bytes(), &NO_DICTIONARY);
    // Declared length is the varint after the flag byte; lie in both directions.
    let (declared, body) = (text.len(), &packed[3..]);
    assert_eq!(
        packed[1..3],
        [(declared as u8) | 0x80, (declared >> 7) as u8]
    );
    for lie in [declared - 1, declared + 1] {
        let mut forged = vec![0x01, (lie as u8) | 0x80, (lie >> 7) as u8];
        forged.extend_from_slice(body);
        let err = unpack(&forged, &InflateLimits::default()).expect_err("length lie");
        let want = if lie < declared {
            ErrorKind::InflateLimit
        } else {
            ErrorKind::InflateCorrupt
        };
        assert_eq!(err.kind(), want, "declared {lie} for {declared}");
    }
}

proptest! {
    #[test]
    fn pack_round_trips(item in proptest::collection::vec(any::<u8>(), 0..3000), level in 0u32..10, dictionary in any::<bool>()) {
        let options = PackOptions {
            level,
            dictionary: dictionary.then_some(Dictionary::V1),
            ..PackOptions::default()
        };
        let packed = pack(&item, &options);
        prop_assert!(packed.len() <= item.len() + 1);
        prop_assert_eq!(unpack(&packed, &InflateLimits::default()), Ok(item));
    }

    #[test]
    fn repetitive_text_round_trips(word in "[a-z ]{1,12}", times in 1usize..500) {
        let item = word.repeat(times).into_bytes();
        let packed = pack(&item, &PackOptions::default());
        prop_assert_eq!(unpack(&packed, &InflateLimits::default()), Ok(item));
    }

    #[test]
    fn unpack_of_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = unpack(&bytes, &InflateLimits::default());
    }

    #[test]
    fn pack_then_pad_round_trips(item in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let packed = pack(&item, &PackOptions::default());
        let mut padded = Vec::new();
        pad(&packed, &mut padded);
        let inner = unpad(&padded).expect("canonical padding");
        prop_assert_eq!(unpack(inner, &InflateLimits::default()), Ok(item));
    }
}
