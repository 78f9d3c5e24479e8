//! An attachment name written as RFC 2047 encoded words inside a quoted
//! parameter (`filename="=?UTF-8?B?…?= =?UTF-8?B?…?="`, as Outlook, Gmail
//! and many webmailers write it), read as a subject is read (see
//! [`words`](super::words)): mail-parser decodes each word on its own and
//! keeps the space between them, so a name a mailer cut into several
//! words gained spaces or, cut inside a character, replacement characters.
//!
//! A name also in RFC 2231 form (`filename*=UTF-8''…`, `filename*0*=`) is
//! read from that form, which wins over a plain `filename=` beside it (an
//! ASCII fallback, as Mutt and some webmailers write, and as RFC 6266
//! §4.3 orders for HTTP); mail-parser took whichever came first.

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{HeaderName, MessagePart};

/// Longest header value scanned here; longer ones stay mail-parser's.
const MAX_HEADER_BYTES: usize = 16 << 10;

/// The part's file name from its RFC 2231 form or encoded words, looked
/// for where mail-parser looks (Content-Disposition `filename`, then
/// Content-Type `name`), or `None` when that parameter is plain (or cannot
/// be read here): mail-parser's reading stands. `raw` is the message the
/// part's header offsets point into.
pub(super) fn encoded_name(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    // The field's text, and whether its bytes were not UTF-8: a name
    // written in raw 8-bit (Eudora's Latin-1 `filename="Fr\xF6sche.txt"`)
    // is read as other header fields are, where mail-parser's reading
    // made each such byte U+FFFD.
    let value = |name: HeaderName<'_>| {
        let field = part.headers.iter().find(|h| h.name == name)?;
        let start = usize::try_from(field.offset_start).ok()?;
        let end = usize::try_from(field.offset_end).ok()?;
        let bytes = raw.get(start..end)?;
        (bytes.len() <= MAX_HEADER_BYTES).then(|| match std::str::from_utf8(bytes) {
            Ok(text) => (text.to_owned(), false),
            Err(_) => (super::charset::guessed_text(bytes), true),
        })
    };
    let lookups = [
        (HeaderName::ContentDisposition, "filename"),
        (HeaderName::ContentType, "name"),
    ];
    for (header, key) in lookups {
        let Some((text, raw_8bit)) = value(header) else {
            continue;
        };
        let params = parameters(&text);
        if params.iter().any(|(k, _)| starred(k, key)) {
            return extended(&params, key);
        }
        if let Some((_, v)) = params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return super::words::unstructured(v.as_bytes())
                .or_else(|| raw_8bit.then(|| v.clone()));
        }
    }
    None
}

/// The RFC 2231 value of `key` (RFC 2231 §3 and §4): its sections in order
/// (from 0, to the first one missing), the `*` ones percent-decoded, all
/// in the charset the first one names; `None` when there is no section 0.
fn extended(params: &[(String, String)], key: &str) -> Option<String> {
    let mut sections: Vec<(u32, bool, &str)> = Vec::new();
    for (k, v) in params.iter().filter(|(k, _)| starred(k, key)) {
        let rest = k.get(key.len() + 1..).unwrap_or_default();
        let encoded = rest.is_empty() || rest.ends_with('*');
        let number = match rest.trim_end_matches('*') {
            "" => 0,
            n => n.parse().ok()?,
        };
        sections.push((number, encoded, v));
    }
    sections.sort_by_key(|s| s.0);
    sections.dedup_by_key(|s| s.0);
    let mut charset = "us-ascii";
    let mut bytes = Vec::new();
    for (index, (number, encoded, value)) in sections.into_iter().enumerate() {
        if usize::try_from(number).ok()? != index {
            break;
        }
        let mut value = value;
        if index == 0 && encoded {
            let mut fields = value.splitn(3, '\'');
            match (fields.next(), fields.next(), fields.next()) {
                (Some(set), Some(_language), Some(text)) => {
                    charset = set;
                    value = text;
                }
                _ => return None,
            }
        }
        match encoded {
            true => percent_decode(value, &mut bytes),
            false => bytes.extend_from_slice(value.as_bytes()),
        }
    }
    if bytes.is_empty() {
        return None;
    }
    Some(match charset_decoder(charset.as_bytes()) {
        Some(decode) => decode(&bytes),
        None => String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// `%XX` as the byte it names; anything else as written.
fn percent_decode(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(value)) => {
                out.push(value);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Whether `k` is an RFC 2231 form of `key` (`key*`, `key*0`, `key*0*`).
fn starred(k: &str, key: &str) -> bool {
    k.len() > key.len()
        && k.get(..key.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(key))
        && k.get(key.len()..).is_some_and(|t| t.starts_with('*'))
}

/// A header value's parameters (after the first `;`), keys trimmed,
/// quoted values unquoted with their backslash escapes undone.
fn parameters(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some((_, mut rest)) = value.split_once(';') else {
        return out;
    };
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_whitespace());
        if rest.is_empty() {
            return out;
        }
        let key_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let key = rest.get(..key_end).unwrap_or_default().trim().to_owned();
        rest = rest.get(key_end..).unwrap_or_default();
        let Some(after) = rest.strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let (text, tail) = match after.strip_prefix('"') {
            Some(quoted) => unquote(quoted),
            None => {
                let end = after.find(';').unwrap_or(after.len());
                let (v, t) = after.split_at(end);
                (v.trim_end().to_owned(), t)
            }
        };
        out.push((key, text));
        rest = tail;
    }
}

/// A quoted string's text (after its opening quote) and what follows its
/// closing quote; an unclosed one runs to the end.
fn unquote(s: &str) -> (String, &str) {
    let mut text = String::with_capacity(s.len());
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => text.extend(chars.next().map(|(_, c)| c)),
            '"' => return (text, s.get(i + 1..).unwrap_or_default()),
            c => text.push(c),
        }
    }
    (text, "")
}

#[cfg(test)]
mod tests {
    use super::{extended, parameters, starred};

    #[test]
    fn parameters_are_split_outside_quotes() {
        let params =
            parameters(" attachment; filename=\"a;b \\\"c\\\".txt\";\r\n\tsize=3; x=unquoted ; y");
        let expected = [
            ("filename", "a;b \"c\".txt"),
            ("size", "3"),
            ("x", "unquoted"),
        ];
        let got: Vec<(&str, &str)> = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(got, expected);
        assert_eq!(
            parameters(" x; name=\"open"),
            [("name".into(), "open".into())]
        );
    }

    #[test]
    fn starred_forms_are_told_apart() {
        assert!(starred("filename*", "filename"));
        assert!(starred("FILENAME*0*", "filename"));
        assert!(!starred("filename", "filename"));
        assert!(!starred("filenamex", "filename"));
    }

    #[test]
    fn rfc2231_sections_are_joined_decoded_and_bounded() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        let read = |pairs: &[(&str, &str)]| extended(&p(pairs), "filename");
        assert_eq!(
            read(&[("filename*1", "b.txt"), ("filename*0*", "utf-8'en'%C3%A4")]).as_deref(),
            Some("äb.txt")
        );
        // A gap ends the value; a bad escape is kept as written.
        assert_eq!(
            read(&[("filename*0*", "''a%"), ("filename*2", "c")]).as_deref(),
            Some("a%")
        );
        assert_eq!(read(&[("filename*1", "x")]), None, "no section 0");
        assert_eq!(read(&[("filename*", "no-quote-marks")]), None);
        assert_eq!(read(&[("filename*x", "y")]), None);
    }
}
