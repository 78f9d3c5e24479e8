//! An attachment name written as RFC 2047 encoded words inside a quoted
//! parameter (`filename="=?UTF-8?B?…?= =?UTF-8?B?…?="`, as Outlook, Gmail
//! and many webmailers write it), read as a subject is read (see
//! [`words`](super::words)): mail-parser decodes each word on its own and
//! keeps the space between them, so a name a mailer cut into several
//! words gained spaces or, cut inside a character, replacement characters.
//! Names in RFC 2231 form (`filename*=`) stay mail-parser's reading.

use mail_parser::{HeaderName, MessagePart};

/// Longest header value scanned here; longer ones stay mail-parser's.
const MAX_HEADER_BYTES: usize = 16 << 10;

/// The part's file name from encoded words, looked for where mail-parser
/// looks (Content-Disposition `filename`, then Content-Type `name`), or
/// `None` when that parameter holds no encoded word or has an RFC 2231
/// form. `raw` is the message the part's header offsets point into.
pub(super) fn encoded_name(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let value = |name: HeaderName<'_>| {
        let field = part.headers.iter().find(|h| h.name == name)?;
        let start = usize::try_from(field.offset_start).ok()?;
        let end = usize::try_from(field.offset_end).ok()?;
        let bytes = raw.get(start..end)?;
        (bytes.len() <= MAX_HEADER_BYTES).then(|| String::from_utf8_lossy(bytes).into_owned())
    };
    let lookups = [
        (HeaderName::ContentDisposition, "filename"),
        (HeaderName::ContentType, "name"),
    ];
    for (header, key) in lookups {
        let Some(params) = value(header).map(|v| parameters(&v)) else {
            continue;
        };
        if params.iter().any(|(k, _)| starred(k, key)) {
            return None;
        }
        if let Some((_, v)) = params.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return super::words::unstructured(v.as_bytes());
        }
    }
    None
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
    use super::{parameters, starred};

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
}
