//! Padmé padding: lengths rounded up so that they leak O(log log n) bits.
//!
//! A padded payload is `varint(len) || body || zeros`, and its total length is
//! exactly `padded_len(varint_len + len)`. Anything else is refused, so every
//! body has exactly one padded form.

use crate::error::{Error, ErrorKind, Result};
use prost::encoding::{decode_varint, encode_varint, encoded_len_varint};

/// The Padmé bucket for a length `len`: at most 12% larger, and the result
/// reveals only the top O(log log len) bits of `len`.
///
/// From Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
/// Communication with PURBs" (PETS 2019), section 4.
pub const fn padded_len(len: usize) -> usize {
    if len < 2 {
        return len;
    }
    let exponent = usize::BITS - 1 - len.leading_zeros(); // floor(log2 len)
    let size_bits = u32::BITS - exponent.leading_zeros(); // floor(log2 exponent) + 1
    let low_bits = exponent - size_bits;
    let mask = (1usize << low_bits) - 1;
    (len + mask) & !mask
}

/// Appends `varint(body.len()) || body || zero padding` to `out`, padded to the
/// Padmé bucket of its unpadded length.
pub fn pad(body: &[u8], out: &mut Vec<u8>) {
    let unpadded = encoded_len_varint(body.len() as u64) + body.len();
    let total = padded_len(unpadded);
    out.reserve(total);
    encode_varint(body.len() as u64, out);
    out.extend_from_slice(body);
    out.resize(out.len() + (total - unpadded), 0);
}

/// The body inside a padded payload, after checking that the padding is zero
/// and of exactly the canonical length.
pub fn unpad(padded: &[u8]) -> Result<&[u8]> {
    let mut rest = padded;
    let len = decode_varint(&mut rest).map_err(|_| malformed("bad length prefix"))?;
    let len = usize::try_from(len).map_err(|_| malformed("length overflows"))?;
    let prefix_len = padded.len() - rest.len();
    let (body, padding) = rest
        .split_at_checked(len)
        .ok_or_else(|| malformed("length exceeds payload"))?;
    if padded_len(prefix_len + len) != padded.len() {
        return Err(malformed("padding is not the Padmé length"));
    }
    if padding.iter().any(|&b| b != 0) {
        return Err(malformed("padding bytes are not zero"));
    }
    Ok(body)
}

fn malformed(reason: &'static str) -> Error {
    Error::new(ErrorKind::PaddingMalformed, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn padme_matches_the_paper() {
        // Values computed by hand from the PURB paper's definition.
        let cases = [
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 3),
            (9, 10),
            (13, 14),
            (100, 104),
            (1000, 1024),
            (1025, 1088),
            (65_000, 65_536),
        ];
        for (len, want) in cases {
            assert_eq!(padded_len(len), want, "padded_len({len})");
        }
    }

    #[test]
    fn non_canonical_padding_is_refused() {
        let mut out = Vec::new();
        pad(&[7u8; 100], &mut out); // 101 bytes pad to 104
        let mut longer = out.clone();
        longer.push(0);
        assert_eq!(
            unpad(&longer).map_err(|e| e.kind()),
            Err(ErrorKind::PaddingMalformed)
        );
        if let Some(last) = out.last_mut() {
            *last = 1;
        }
        assert_eq!(
            unpad(&out).map_err(|e| e.kind()),
            Err(ErrorKind::PaddingMalformed)
        );
    }

    proptest! {
        #[test]
        fn pad_round_trips(body in proptest::collection::vec(any::<u8>(), 0..5000)) {
            let mut out = Vec::new();
            pad(&body, &mut out);
            prop_assert_eq!(unpad(&out).ok(), Some(&body[..]));
            prop_assert!(out.len() * 100 <= (body.len() + 3) * 112 + 100);
        }

        #[test]
        fn padded_len_is_monotone_and_bounded(len in 0usize..10_000_000) {
            let p = padded_len(len);
            prop_assert!(p >= len);
            prop_assert!(padded_len(len + 1) >= p);
            prop_assert!(p as f64 <= len as f64 * 1.12 + 1.0);
        }

        #[test]
        fn unpad_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = unpad(&bytes);
        }
    }
}
