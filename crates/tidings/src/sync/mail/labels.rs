//! Content labels mail-parser does not know, named as it knows them before
//! the parse.
//!
//! - `Content-Type: text` without a subtype (RFC 1049's form, still sent
//!   by some old tools): mail-parser reads it as text of no known kind,
//!   an unnamed attachment, and the mail showed no text. RFC 2045 §5.2
//!   makes `text/plain` the default; it is read as that.
//! - A charset by a name Python and Windows use but mail-parser's table
//!   lacks (`cp932`, `cp949`, `x-sjis`, …), in a `charset` parameter or an
//!   encoded word: the text was read as UTF-8, every Japanese or Korean
//!   character garbled. It is given the name of the same charset that the
//!   table has.

use std::borrow::Cow;

use super::param_folds::each_header_line;

/// Charset names mail-parser's table lacks, each with the name it has for
/// the same charset (Python's codec aliases and Windows code pages).
const ALIASES: [(&[u8], &[u8]); 10] = [
    (b"cp932", b"shift_jis"),
    (b"x-sjis", b"shift_jis"),
    (b"cp949", b"euc-kr"),
    (b"cp950", b"big5"),
    (b"euc-cn", b"gb2312"),
    (b"x-euc-jp", b"euc-jp"),
    (b"x-gbk", b"gbk"),
    (b"cp874", b"windows-874"),
    (b"latin-1", b"latin1"),
    (b"x-mac-roman", b"macintosh"),
];

/// `raw` with each bare `text` type given its subtype and each charset
/// name of [`ALIASES`] in its header blocks renamed; `raw` itself when
/// there is none.
pub(super) fn named(raw: &[u8]) -> Cow<'_, [u8]> {
    // (start, end, replacement), in order.
    let mut edits: Vec<(usize, usize, &'static [u8])> = Vec::new();
    each_header_line(raw, |line| {
        if !line.continues
            && let Some(end) = bare_text_end(line.text)
        {
            edits.push((line.at + end, line.at + end, b"/plain"));
        }
        for (start, end, name) in charset_names(line.text, line.in_content_field) {
            if let Some(known) = alias(name) {
                edits.push((line.at + start, line.at + end, known));
            }
        }
    });
    if edits.is_empty() {
        return Cow::Borrowed(raw);
    }
    edits.sort_by_key(|e| e.0);
    let mut out = Vec::with_capacity(raw.len() + 8 * edits.len());
    let mut from = 0;
    for (start, end, with) in edits {
        if start < from {
            continue;
        }
        out.extend_from_slice(raw.get(from..start).unwrap_or_default());
        out.extend_from_slice(with);
        from = end;
    }
    out.extend_from_slice(raw.get(from..).unwrap_or_default());
    Cow::Owned(out)
}

/// Where the type ends in a `Content-Type: text` field with no subtype
/// (`text`, then the end, `;`, white space or a comment).
fn bare_text_end(line: &[u8]) -> Option<usize> {
    let colon = line.iter().position(|&b| b == b':')?;
    let name = line.get(..colon)?.trim_ascii_end();
    if !name.eq_ignore_ascii_case(b"content-type") {
        return None;
    }
    let value = line.get(colon + 1..)?;
    let start = colon + 1 + (value.len() - value.trim_ascii_start().len());
    let word = line.get(start..start + 4)?;
    let after = line.get(start + 4).copied();
    let ends = matches!(after, None | Some(b';' | b' ' | b'\t' | b'('));
    (word.eq_ignore_ascii_case(b"text") && ends).then_some(start + 4)
}

/// Each charset name in `line`, as its range: of an encoded word
/// (`=?name?`), and, in a content field, of a `charset=` parameter
/// (quoted or not).
fn charset_names(line: &[u8], content_field: bool) -> Vec<(usize, usize, &[u8])> {
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(found) = find(line.get(at..).unwrap_or_default(), b"=?") {
        let start = at + found + 2;
        let rest = line.get(start..).unwrap_or_default();
        let len = rest.iter().position(|&b| b == b'?').unwrap_or(rest.len());
        names.push((start, start + len, rest.get(..len).unwrap_or_default()));
        at = start;
    }
    if !content_field {
        return names;
    }
    let lower = line.to_ascii_lowercase();
    at = 0;
    while let Some(found) = find(lower.get(at..).unwrap_or_default(), b"charset=") {
        let mut start = at + found + 8;
        if line.get(start) == Some(&b'"') {
            start += 1;
        }
        let rest = line.get(start..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| matches!(b, b'"' | b';' | b' ' | b'\t' | b'('))
            .unwrap_or(rest.len());
        names.push((start, start + len, rest.get(..len).unwrap_or_default()));
        at = start;
    }
    names
}

/// The name mail-parser knows for charset `name`, if `name` is an alias.
fn alias(name: &[u8]) -> Option<&'static [u8]> {
    let same = |a: &[u8], b: &[u8]| {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| {
                let fold = |c: u8| {
                    if c == b'_' {
                        b'-'
                    } else {
                        c.to_ascii_lowercase()
                    }
                };
                fold(*x) == fold(*y)
            })
    };
    ALIASES
        .iter()
        .find(|(alias, _)| same(alias, name))
        .map(|(_, known)| *known)
}

/// Where `needle` first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::named;

    #[test]
    fn a_bare_text_type_and_charset_aliases_are_named() {
        let raw =
            b"Subject: =?CP932?B?gqA=?=\r\nContent-Type: text; charset=\"cp932\"\r\n\r\nx\r\n";
        assert_eq!(
            &named(raw)[..],
            &b"Subject: =?shift_jis?B?gqA=?=\r\nContent-Type: text/plain; charset=\"shift_jis\"\r\n\r\nx\r\n"[..]
        );
        let folded = b"content-type : TEXT\r\n\tcharset=x_sjis\r\n\r\n";
        assert_eq!(
            &named(folded)[..],
            &b"content-type : TEXT/plain\r\n\tcharset=shift_jis\r\n\r\n"[..]
        );
        for kept in [
            &b"Content-Type: text/plain; charset=utf-8\r\n\r\n"[..],
            b"Content-Type: textual/x\r\n\r\n",
            b"X-Type: text\r\n\r\n",
            // A body line is not a field.
            b"Subject: s\r\n\r\nContent-Type: text; charset=cp932\r\n",
        ] {
            assert!(
                matches!(named(kept), std::borrow::Cow::Borrowed(_)),
                "{kept:?}"
            );
        }
    }
}
