//! Headers written without encoded words: raw 8-bit text (Latin-1,
//! Shift_JIS, GBK, …) or raw ISO-2022-JP escapes, as many mailers still
//! send. RFC 5322 allows neither, so they carry no charset of their own;
//! mail-parser would read them as UTF-8 and turn them into replacement
//! characters or leave the escapes in.
//!
//! When the header block is not plain UTF-8, it is decoded here as a whole
//! and then parsed again: with the charset the message declares for its
//! body (a mailer writes both in one), else with the charset that best fits
//! the bytes (`chardetng`, Firefox's detector), else as Latin-1. Without the
//! `full-charsets` feature (the browser build, which never parses mail) only
//! the Latin-1 fallback exists.

use std::borrow::Cow;

use mail_parser::{Message, MimeHeaders};

/// The header block of `message` decoded to UTF-8, or `None` when it is
/// plain UTF-8 already (the usual case, left to mail-parser as it is).
pub(super) fn header_block(message: &Message<'_>) -> Option<String> {
    let root = message.parts.first()?;
    let start = usize::try_from(root.offset_header).ok()?;
    let end = usize::try_from(root.offset_body).ok()?;
    let raw = message.raw_message.get(start..end)?;
    let escapes = raw.contains(&0x1b);
    if !escapes && std::str::from_utf8(raw).is_ok() {
        return None;
    }
    let declared = root.content_type().and_then(|ct| ct.attribute("charset"));
    Some(decode(raw, declared).into_owned())
}

#[cfg(feature = "full-charsets")]
fn decode<'a>(raw: &'a [u8], declared: Option<&str>) -> Cow<'a, str> {
    use encoding_rs::Encoding;
    let declared = declared.and_then(|label| Encoding::for_label(label.trim().as_bytes()));
    // A declared UTF-8 or ASCII is what failed: guess instead.
    let declared = declared.filter(|e| *e != encoding_rs::UTF_8 && e.is_ascii_compatible());
    let encoding = declared.unwrap_or_else(|| {
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(raw, true);
        detector.guess(None, true)
    });
    if encoding == encoding_rs::UTF_8 {
        // The detector's answer for mostly-UTF-8 text with a stray byte.
        return String::from_utf8_lossy(raw);
    }
    encoding.decode_without_bom_handling(raw).0
}

#[cfg(not(feature = "full-charsets"))]
fn decode<'a>(raw: &'a [u8], _declared: Option<&str>) -> Cow<'a, str> {
    // Latin-1: every byte is the code point of the same number.
    Cow::Owned(raw.iter().map(|&b| char::from(b)).collect())
}
