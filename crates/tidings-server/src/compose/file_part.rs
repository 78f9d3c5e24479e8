//! A file attached to a composed mail, its name written as RFC 2231
//! parameters (`filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf`, in sections
//! `filename*0*=`, `filename*1*=` when long) in Content-Disposition and as
//! Content-Type `name`. mail-builder writes every parameter as an RFC 2047
//! encoded word in quotes, which RFC 2047 §5 forbids inside a parameter
//! and which several readers show as written. An ASCII name stays a plain
//! quoted `filename="…"` that every reader knows.
//!
//! The part is written whole (headers and encoded body), so mail-builder
//! does not rewrite its parameters; the body is encoded as mail-builder
//! encodes an attachment.

use mail_builder::encoders::base64::base64_encode_mime;
use mail_builder::encoders::encode::{EncodingType, get_encoding_type};
use mail_builder::encoders::quoted_printable::quoted_printable_encode;
use mail_builder::mime::{BodyPart, MimePart};

/// Longest header line written (RFC 5322 §2.1.1 recommends 78).
const LINE: usize = 78;

/// Longest ASCII name kept whole in one quoted parameter: a longer one goes
/// in sections, so no line nears the 998-byte limit.
const MAX_PLAIN: usize = 500;

/// How the body is carried.
pub(super) enum Body {
    /// Encoded as mail-builder encodes an attachment: text 7bit, quoted-
    /// printable or base64, whichever fits; anything else base64.
    Encoded,
    /// As it is, under this Content-Transfer-Encoding (`7bit`, `8bit`).
    AsIs(&'static str),
}

/// An attachment part of `media_type` (bare `type/subtype`) with
/// `params` (each value a token: a `charset`, a calendar's `method`),
/// called `name` (free of control characters).
pub(super) fn file_part(
    media_type: &str,
    params: &[(&str, &str)],
    name: &str,
    data: &[u8],
    body: Body,
) -> MimePart<'static> {
    let mut content_type = vec![media_type.to_owned()];
    for (param, value) in params {
        content_type.push(format!("{param}=\"{value}\""));
    }
    content_type.extend(parameter("name", name));
    let mut disposition = vec!["attachment".to_owned()];
    disposition.extend(parameter("filename", name));
    let mut part = format!(
        "Content-Type: {}\r\nContent-Disposition: {}\r\n",
        content_type.join(";\r\n "),
        disposition.join(";\r\n ")
    )
    .into_bytes();
    let (encoding, encoded) = match body {
        Body::AsIs(encoding) => (encoding, data.to_vec()),
        Body::Encoded => encoded(media_type, data),
    };
    part.extend_from_slice(format!("Content-Transfer-Encoding: {encoding}\r\n\r\n").as_bytes());
    part.extend_from_slice(&encoded);
    MimePart::raw(BodyPart::Binary(part.into()))
}

/// The body encoded as mail-builder encodes an attachment, and the name of
/// its encoding.
fn encoded(media_type: &str, data: &[u8]) -> (&'static str, Vec<u8>) {
    let mut out = Vec::with_capacity(data.len() * 4 / 3 + 4);
    let kind = if media_type.starts_with("text/") {
        get_encoding_type(data, false, false)
    } else {
        EncodingType::Base64
    };
    // Writing into a Vec cannot fail.
    let name = match kind {
        EncodingType::None => {
            out.extend_from_slice(data);
            "7bit"
        }
        EncodingType::QuotedPrintable(_) => {
            let _ = quoted_printable_encode(data, &mut out, false);
            "quoted-printable"
        }
        EncodingType::Base64 => {
            let _ = base64_encode_mime(data, &mut out, false);
            "base64"
        }
    };
    (name, out)
}

/// `key` = `value` as the parameters that carry it, one per header line:
/// `key="value"` for an ASCII value, else RFC 2231 `key*=UTF-8''…`, in
/// sections `key*0*=`, `key*1*=` when one line would be too long (each
/// section ends on a character boundary, for readers that decode
/// sections one by one).
pub(super) fn parameter(key: &str, value: &str) -> Vec<String> {
    if value.is_ascii() {
        let quoted = quoted(value);
        if value.len() <= MAX_PLAIN {
            return vec![format!("{key}={quoted}")];
        }
        return sections(key, value, "", false);
    }
    let whole = format!("{key}*=UTF-8''{}", percent(value));
    if whole.len() + 2 <= LINE {
        return vec![whole];
    }
    sections(key, value, "UTF-8''", true)
}

/// `value` cut into `key*N=` (or `key*N*=` when `extended`) sections of at
/// most one line each; the first one starts with `prefix`.
fn sections(key: &str, value: &str, prefix: &str, extended: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::from(prefix);
    let head = |n: usize| match extended {
        true => format!("{key}*{n}*="),
        false => format!("{key}*{n}="),
    };
    for c in value.chars() {
        let piece = match extended {
            true => percent(c.encode_utf8(&mut [0; 4])),
            false => quoted_char(c),
        };
        // Room for the head, the quotes of a plain section and `;`.
        let used = head(out.len()).len() + current.len() + piece.len() + 4;
        if used > LINE && current.len() > prefix.len() * usize::from(out.is_empty()) {
            out.push(section(&head(out.len()), &current, extended));
            current.clear();
        }
        current.push_str(&piece);
    }
    out.push(section(&head(out.len()), &current, extended));
    out
}

fn section(head: &str, text: &str, extended: bool) -> String {
    match extended {
        true => format!("{head}{text}"),
        false => format!("{head}\"{text}\""),
    }
}

/// `value` as a quoted string.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.chars().map(quoted_char).collect::<String>())
}

fn quoted_char(c: char) -> String {
    match c {
        '"' | '\\' => format!("\\{c}"),
        c => c.to_string(),
    }
}

/// RFC 2231 §7 `extended-other-values`: every byte that is not an
/// attribute-char (RFC 2045 token characters but `*`, `'` and `%`) as
/// `%XX`.
fn percent(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        let plain = byte.is_ascii_alphanumeric() || b"!#$&+-.^_`{|}~".contains(&byte);
        match plain {
            true => out.push(char::from(byte)),
            false => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests;
