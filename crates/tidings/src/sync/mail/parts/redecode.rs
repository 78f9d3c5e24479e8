//! A part's body decoded again, from its bytes in the message, where
//! mail-parser's decoding is not the file sent: a decoder that gave up (an
//! unended part, text after base64 data, a stray character), or one that
//! dropped bytes (an unpadded last base64 group).

use std::borrow::Cow;

use mail_parser::{Encoding, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::super::base64_end;

/// A text part's bytes as sent, decoded from their transfer encoding but
/// not from their charset. mail-parser keeps only the text it converted;
/// the part's body is decoded again, alone, by the same decoder (read to
/// its end rather than to a boundary: `offset_end` is where the decoder
/// found the boundary's line). `None` when the part's range is not in the
/// message (the caller then serves its text).
///
/// mail-parser's MIME base64 decoder drops a last group sent without its
/// `=` padding; its bytes are added here (see [`unpadded_tail`]). It gives
/// up on base64 with text after the data; the data is decoded alone then
/// (see [`base64_end`]).
pub(super) fn file_bytes<'a>(
    message: &'a Message<'a>,
    part: &MessagePart<'a>,
) -> Option<Cow<'a, [u8]>> {
    let mut body = raw_body(message, part)?;
    if transfer_encoding(part) != part.encoding {
        // Read to the end of the message: its last line break is where the
        // closing boundary's would be, not the file's.
        let unbroken = body
            .strip_suffix(b"\n")
            .map(|b| b.strip_suffix(b"\r").unwrap_or(b));
        body = unbroken.unwrap_or(body);
    }
    let encoding = match transfer_encoding(part) {
        Encoding::None => return Some(Cow::Borrowed(body)),
        Encoding::QuotedPrintable => "quoted-printable",
        Encoding::Base64 => "base64",
    };
    let mut data = Cow::Borrowed(body);
    let mut bytes = match decoded_alone(encoding, body) {
        Some(bytes) => bytes,
        // Text after the data (a list footer): the data alone. Else a
        // character outside the alphabet among the data, which RFC 2045
        // §6.8 says to ignore.
        None if encoding == "base64" => {
            data = match base64_end::data_end(body).and_then(|end| body.get(..end)) {
                Some(data) => Cow::Borrowed(data),
                None => Cow::Owned(base64_characters(body)),
            };
            decoded_alone(encoding, &data)?
        }
        // An `=` that starts no escape (`a == b`, `=Z`): kept as itself, as
        // RFC 2045 §6.7 note (1) advises a robust decoder to.
        None => decoded_alone(encoding, &stray_equals_escaped(body))?,
    };
    if encoding == "base64" {
        bytes.extend(unpadded_tail(&data));
    }
    Some(Cow::Owned(bytes))
}

/// `body` without the characters base64 data cannot hold: the alphabet,
/// `=` and line breaks stay.
fn base64_characters(body: &[u8]) -> Vec<u8> {
    let kept = |b: &&u8| base64_value(**b).is_some() || matches!(**b, b'=' | b'\r' | b'\n');
    body.iter().filter(kept).copied().collect()
}

/// `body` with each `=` that starts neither an escape (two hex digits) nor
/// a soft line break (blanks, then the line's end) written `=3D`.
fn stray_equals_escaped(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 16);
    for (at, &b) in body.iter().enumerate() {
        out.push(b);
        if b != b'=' {
            continue;
        }
        let rest = body.get(at + 1..).unwrap_or_default();
        let escape = rest.len() >= 2 && rest.iter().take(2).all(u8::is_ascii_hexdigit);
        let blanks = rest
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        let soft = matches!(rest.get(blanks), None | Some(b'\r' | b'\n'));
        if !escape && !soft {
            out.extend_from_slice(b"3D");
        }
    }
    out
}

/// `body` decoded from `encoding` by mail-parser's decoder, as a part of
/// its own; `None` when the decoder gives up on it.
fn decoded_alone(encoding: &str, body: &[u8]) -> Option<Vec<u8>> {
    let mut alone = format!(
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    .into_bytes();
    alone.extend_from_slice(body);
    let parsed = MessageParser::default().parse(&alone)?;
    match parsed.parts.into_iter().next()?.body {
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => Some(bytes.into_owned()),
        _ => None,
    }
}

/// The part's body as it is in the message, still transfer-encoded.
fn raw_body<'a>(message: &'a Message<'a>, part: &MessagePart<'a>) -> Option<&'a [u8]> {
    let range = usize::try_from(part.offset_body).ok()?..usize::try_from(part.offset_end).ok()?;
    message.raw_message.get(range)
}

/// The part's transfer encoding: as mail-parser decoded it, or as its
/// Content-Transfer-Encoding names it when mail-parser gave up decoding
/// it. Its base64 and quoted-printable decoders give up on the last part
/// of a multipart whose closing boundary never comes (`--b--` missing, as
/// truncating gateways and Outlook send it): the part is then read as
/// text, still encoded. Decoding its body again alone, to the end of the
/// message, reads it as Python and Thunderbird do; a body that is not
/// valid in its encoding fails that too and stays as it was read.
fn transfer_encoding(part: &MessagePart<'_>) -> Encoding {
    if !part.is_encoding_problem || part.encoding != Encoding::None {
        return part.encoding;
    }
    match part.content_transfer_encoding().map(str::trim) {
        Some(name) if name.eq_ignore_ascii_case("base64") => Encoding::Base64,
        Some(name) if name.eq_ignore_ascii_case("quoted-printable") => Encoding::QuotedPrintable,
        _ => Encoding::None,
    }
}

/// The part's bytes decoded again from its body when mail-parser's are
/// not the file sent (see [`transfer_encoding`] and [`unpadded_tail`]);
/// `None` when they are.
pub(super) fn repaired(message: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let gave_up = transfer_encoding(part) != part.encoding;
    let unpadded = || {
        part.encoding == Encoding::Base64
            && raw_body(message, part).is_some_and(|body| !unpadded_tail(body).is_empty())
    };
    // A soft line break right before the boundary's line: mail-parser's
    // decoder then drops the bytes before it (`abc=` read as `a`).
    let soft_end = || {
        part.encoding == Encoding::QuotedPrintable
            && raw_body(message, part).is_some_and(|body| {
                let line = body.strip_suffix(b"\n").unwrap_or(body);
                line.strip_suffix(b"\r").unwrap_or(line).ends_with(b"=")
            })
    };
    match gave_up || unpadded() || soft_end() {
        true => file_bytes(message, part).map(Cow::into_owned),
        false => None,
    }
}

/// The bytes of a last base64 group sent without its `=` padding, which
/// mail-parser's MIME decoder drops (it writes out whole groups of four
/// characters, and a short group only at an `=`): the one or two bytes of
/// its two or three characters, as Python and Thunderbird decode them.
/// Empty when `body` ends in a whole group or padding. A lone character
/// (six bits) makes no byte.
fn unpadded_tail(body: &[u8]) -> Vec<u8> {
    // The last three characters' values, the last one first, and how many
    // there are since the last `=`.
    let mut last = [0u8; 3];
    let mut count = 0usize;
    for &b in body.iter().rev() {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            continue;
        }
        let Some(value) = base64_value(b) else {
            break;
        };
        if let Some(slot) = last.get_mut(count) {
            *slot = value;
        }
        count += 1;
    }
    let [c, b, a] = last;
    match count % 4 {
        2 => vec![(b << 2) | (c >> 4)],
        3 => vec![(a << 2) | (b >> 4), ((b & 0x0f) << 4) | (c >> 2)],
        _ => Vec::new(),
    }
}

/// The six bits a base64 character stands for.
fn base64_value(b: u8) -> Option<u8> {
    match b {
        b'A'..=b'Z' => Some(b - b'A'),
        b'a'..=b'z' => Some(b - b'a' + 26),
        b'0'..=b'9' => Some(b - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}
