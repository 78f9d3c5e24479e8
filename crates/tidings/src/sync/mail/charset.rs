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
    // Raw bytes inside an encoded word belong to its own charset: written as
    // `=XX`, mail-parser decodes them once, with that charset, instead of
    // their being decoded here and then again as the word's charset.
    let raw = escape_8bit_in_q_words(raw);
    if !escapes && let Ok(text) = std::str::from_utf8(&raw) {
        return Some(text.to_owned());
    }
    // Field by field: a mailer that writes a raw Latin-1 name beside a raw
    // UTF-8 subject (or one stray byte in a long UTF-8 header) would
    // otherwise have every UTF-8 field read in the other charset.
    let fields = fields(&raw);
    let foreign: Vec<u8> = fields
        .iter()
        .filter(|f| !is_plain(f))
        .flat_map(|f| f.iter().copied())
        .collect();
    let declared = root.content_type().and_then(|ct| ct.attribute("charset"));
    let charset = Charset::chosen(&foreign, declared);
    let mut text = String::with_capacity(raw.len());
    for field in fields {
        match std::str::from_utf8(field) {
            Ok(plain) if !field.contains(&0x1b) => text.push_str(plain),
            _ => text.push_str(&charset.decode(field)),
        }
    }
    Some(text)
}

/// `block` cut into its fields, each with its folded lines and line ends.
fn fields(block: &[u8]) -> Vec<&[u8]> {
    let mut fields = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while let Some(lf) = block
        .get(at..)
        .and_then(|r| r.iter().position(|&b| b == b'\n'))
    {
        at += lf + 1;
        let next_continues = matches!(block.get(at), Some(b' ' | b'\t'));
        if !next_continues {
            fields.push(block.get(start..at).unwrap_or_default());
            start = at;
        }
    }
    if start < block.len() {
        fields.push(block.get(start..).unwrap_or_default());
    }
    fields
}

/// Whether `field` is UTF-8 text without ISO-2022-JP escapes.
fn is_plain(field: &[u8]) -> bool {
    !field.contains(&0x1b) && std::str::from_utf8(field).is_ok()
}

/// `raw` with every 8-bit byte in the text of a Q-encoded word
/// (`=?charset?Q?text?=`, RFC 2047 §4.2) written as `=XX`, which is what the
/// encoding requires and means the same byte.
fn escape_8bit_in_q_words(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.is_ascii() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 4);
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        let rest = raw.get(i..).unwrap_or_default();
        if let Some((prefix, text)) = q_word(rest) {
            out.extend_from_slice(rest.get(..prefix).unwrap_or_default());
            for &c in rest.get(prefix..prefix + text).unwrap_or_default() {
                if c.is_ascii() {
                    out.push(c);
                } else {
                    const HEX: &[u8; 16] = b"0123456789ABCDEF";
                    let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
                    out.extend_from_slice(&[b'=', hex(c >> 4), hex(c & 0x0f)]);
                }
            }
            out.extend_from_slice(b"?=");
            i += prefix + text + 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// The longest Q-encoded text whose 8-bit bytes are escaped (RFC 2047
/// allows 75 bytes for the whole word); a longer one is left as it is.
const MAX_Q_WORD_TEXT: usize = 1024;

/// When `bytes` starts with a whole Q-encoded word: the length of its
/// `=?charset?Q?` and of its text (before the closing `?=`).
fn q_word(bytes: &[u8]) -> Option<(usize, usize)> {
    let after = bytes.strip_prefix(b"=?")?;
    let charset = after.iter().take(76).position(|&c| c == b'?')?;
    let token = after.get(..charset)?;
    if token.is_empty() || token.iter().any(|c| c.is_ascii_whitespace() || *c == b'=') {
        return None;
    }
    let encoding = after.get(charset + 1..charset + 3)?;
    if !matches!(encoding, [b'Q' | b'q', b'?']) {
        return None;
    }
    let prefix = 2 + charset + 3;
    let body = bytes.get(prefix..)?;
    // Looked for within a bound: a header of thousands of openings that
    // never end would otherwise be read to its end from each of them.
    let end = body
        .windows(2)
        .take(MAX_Q_WORD_TEXT)
        .take_while(|w| !w.first().is_some_and(u8::is_ascii_whitespace))
        .position(|w| w == b"?=")?;
    Some((prefix, end))
}

/// A text part's body that is not UTF-8 although it names no other
/// charset (none at all, or UTF-8 or ASCII), in the charset that best fits
/// it, as header fields are read: Outlook 2000 sent Latin-1 with no
/// Content-Type, Netscape 4.7 Latin-1 labelled UTF-8, and each 8-bit byte
/// reached the device as U+FFFD.
pub(super) fn guessed_text(bytes: &[u8]) -> String {
    Charset::chosen(bytes, None).decode(bytes).into_owned()
}

/// The charset the fields that are not UTF-8 are read in.
#[cfg(feature = "full-charsets")]
struct Charset(&'static encoding_rs::Encoding);

#[cfg(feature = "full-charsets")]
impl Charset {
    /// The charset `declared` for the body, else the one that best fits
    /// `sample` (the fields that are not UTF-8).
    fn chosen(sample: &[u8], declared: Option<&str>) -> Charset {
        use encoding_rs::Encoding;
        let declared = declared.and_then(|label| Encoding::for_label(label.trim().as_bytes()));
        // A declared UTF-8 or ASCII is what failed: guess instead.
        let declared = declared.filter(|e| *e != encoding_rs::UTF_8 && e.is_ascii_compatible());
        Charset(declared.unwrap_or_else(|| {
            let mut detector = chardetng::EncodingDetector::new();
            detector.feed(sample, true);
            detector.guess(None, true)
        }))
    }

    fn decode<'a>(&self, raw: &'a [u8]) -> Cow<'a, str> {
        if self.0 == encoding_rs::UTF_8 {
            // The detector's answer for mostly-UTF-8 text with a stray byte.
            return String::from_utf8_lossy(raw);
        }
        self.0.decode_without_bom_handling(raw).0
    }
}

/// Latin-1, the one charset without the `full-charsets` feature.
#[cfg(not(feature = "full-charsets"))]
struct Charset;

#[cfg(not(feature = "full-charsets"))]
impl Charset {
    fn chosen(_sample: &[u8], _declared: Option<&str>) -> Charset {
        Charset
    }

    fn decode<'a>(&self, raw: &'a [u8]) -> Cow<'a, str> {
        // Latin-1: every byte is the code point of the same number.
        Cow::Owned(raw.iter().map(|&b| char::from(b)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each `=?` looks for its `?=` within `MAX_Q_WORD_TEXT`: a header of
    /// thousands of openings that never end was read to its end from each
    /// (512 KB: 11.5 s). A word's 8-bit bytes are escaped within it only.
    #[test]
    fn a_q_word_is_looked_for_within_its_bound() {
        let word = |text: &[u8]| [&b"=?iso-8859-1?Q?"[..], text, b"?="].concat();
        let short = word(b"Gr\xfc\xdfe");
        assert_eq!(
            &*escape_8bit_in_q_words(&short),
            b"=?iso-8859-1?Q?Gr=FC=DFe?="
        );
        let mut text = vec![b'a'; MAX_Q_WORD_TEXT];
        text.push(0xfc);
        let long = word(&text);
        assert_eq!(
            &*escape_8bit_in_q_words(&long),
            &long[..],
            "past the bound: as it is"
        );
    }
}
