//! Parameters folded right after their `=`, joined before the parse.
//!
//! Some mailers fold a `Content-Type` or `Content-Disposition` field
//! between a parameter's `=` and its value:
//!
//! ```text
//! Content-Type: multipart/mixed; boundary=
//!  "----=_Part_1"
//! ```
//!
//! RFC 5322 §2.2.3 unfolds that to `boundary= "----=_Part_1"`, but
//! mail-parser ends the parameter at the line break: the multipart lost
//! its boundary and every attachment in it. Each such line break is
//! replaced by spaces, which is what unfolding leaves (the length stays as
//! it was). Only a break after a parameter's own `=` (a name, after `;` or
//! white space) is joined: an unquoted value ending in `=`, as some
//! boundaries do, or a quoted-printable soft break in a body, stays.

use std::borrow::Cow;

/// `raw` with every line break that folds a `Content-Type` or
/// `Content-Disposition` field right after a parameter's `=` made spaces;
/// `raw` itself when it has none.
pub(super) fn joined(raw: &[u8]) -> Cow<'_, [u8]> {
    let breaks = breaks_to_join(raw);
    if breaks.is_empty() {
        return Cow::Borrowed(raw);
    }
    let mut out = raw.to_vec();
    for at in breaks {
        // The CR before the LF, if any, and the LF.
        let start = match at.checked_sub(1) {
            Some(cr) if out.get(cr) == Some(&b'\r') => cr,
            _ => at,
        };
        if let Some(bytes) = out.get_mut(start..=at) {
            bytes.fill(b' ');
        }
    }
    Cow::Owned(out)
}

/// Offsets of the LF of each line break [`joined`] replaces.
fn breaks_to_join(raw: &[u8]) -> Vec<usize> {
    let mut breaks = Vec::new();
    each_header_line(raw, |line| {
        if line.in_content_field && line.next_continues && ends_in_parameter_equals(line.text) {
            breaks.push(line.end);
        }
    });
    breaks
}

/// One line of a header block, as [`each_header_line`] gives it.
pub(super) struct HeaderLine<'a> {
    /// Where the line starts in the text.
    pub(super) at: usize,
    /// Its bytes, without its line break.
    pub(super) text: &'a [u8],
    /// The offset of its LF.
    pub(super) end: usize,
    /// Whether it continues the field before it (folded).
    pub(super) continues: bool,
    /// Whether the next line continues its field.
    pub(super) next_continues: bool,
    /// Whether its field is a `Content-Type` or `Content-Disposition`.
    pub(super) in_content_field: bool,
}

/// Calls `each` with every line of every header block of `raw` that ends
/// in a line break: the mail's first block, one after a boundary line,
/// one after a block that declares an attached message.
pub(super) fn each_header_line<'a>(raw: &'a [u8], mut each: impl FnMut(HeaderLine<'a>)) {
    let mut in_header = true;
    let mut attaches = false;
    let mut in_content_field = false;
    let mut at = 0;
    while at < raw.len() {
        let rest = raw.get(at..).unwrap_or_default();
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = rest.get(..lf).unwrap_or_default();
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        let line_at = at;
        at += lf + 1;
        if text.is_empty() {
            (in_header, attaches) = (in_header && attaches, false);
            in_content_field = false;
            continue;
        }
        if text.starts_with(b"--") {
            (in_header, attaches) = (true, false);
            in_content_field = false;
            continue;
        }
        if !in_header {
            continue;
        }
        let continues = matches!(text.first(), Some(b' ' | b'\t'));
        if !continues {
            in_content_field = is_content_field(text);
        }
        if in_content_field && contains_ignoring_case(text, b"message/") {
            attaches = true;
        }
        each(HeaderLine {
            at: line_at,
            text,
            end: at - 1,
            continues,
            next_continues: matches!(rest.get(lf + 1), Some(b' ' | b'\t')),
            in_content_field,
        });
    }
}

/// Whether `haystack` holds `needle`, ASCII case ignored.
fn contains_ignoring_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Whether `line` starts a `Content-Type:` or `Content-Disposition:` field
/// (any case, white space allowed before the colon).
fn is_content_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
    name.eq_ignore_ascii_case(b"content-type") || name.eq_ignore_ascii_case(b"content-disposition")
}

/// Whether `line` ends with a parameter name and its `=`, nothing after:
/// `; boundary=`, `filename*0*=`.
fn ends_in_parameter_equals(line: &[u8]) -> bool {
    let Some(before) = line.trim_ascii_end().strip_suffix(b"=") else {
        return false;
    };
    let before = before.trim_ascii_end();
    let name_len = before
        .iter()
        .rev()
        .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*' | b'.'))
        .count();
    let ahead = before.len() - name_len;
    name_len > 0 && matches!(before.get(ahead.wrapping_sub(1)), Some(b';' | b' ' | b'\t'))
}

#[cfg(test)]
mod tests {
    use super::joined;

    #[test]
    fn a_break_after_a_parameters_equals_becomes_spaces() {
        let raw = b"Content-Type: multipart/mixed; boundary=\r\n \"b=1\"\r\nSubject: x\r\n";
        let out = joined(raw);
        assert_eq!(
            &out[..],
            b"Content-Type: multipart/mixed; boundary=   \"b=1\"\r\nSubject: x\r\n"
        );
        assert_eq!(out.len(), raw.len());
        let lf_only = b"content-disposition : attachment;\n\tfilename*0*=\n\tutf-8''a\n";
        assert_eq!(
            &joined(lf_only)[..],
            b"content-disposition : attachment;\n\tfilename*0*= \tutf-8''a\n"
        );
    }

    #[test]
    fn other_lines_ending_in_equals_stay() {
        let cases: [&[u8]; 4] = [
            // An unquoted boundary that ends in '=', then more parameters.
            b"Content-Type: multipart/mixed; boundary=--=_a=\r\n\tcharset=x\r\n",
            // A quoted-printable soft break in a body.
            b"Subject: x\r\n\r\nContent-Type: a; b=\r\n c\r\n",
            // Another field.
            b"X-Note: a; b=\r\n c\r\n",
            // No continuation follows.
            b"Content-Type: text/plain; charset=\r\nSubject: x\r\n",
        ];
        for raw in cases {
            assert!(
                matches!(joined(raw), std::borrow::Cow::Borrowed(_)),
                "{raw:?}"
            );
        }
    }
}
