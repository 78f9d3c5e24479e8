//! Bounds checked on a mail's bytes before the parser sees them.
//!
//! mail-parser never panics, but some shapes make its work or its stack
//! grow faster than the mail: a message attached inside a message inside a
//! message (a stack frame per level), and a parameter cut into thousands of
//! RFC 2231 sections (each section re-copies the value so far). One scan
//! over the mail's lines, linear in its size, counts both and refuses the
//! mail as `InvalidData` before any parse starts. The scan reads header
//! fields the way the parser does (a name may hold spaces, a value may be
//! folded over lines starting with a space or tab) but over the whole text,
//! bodies included: a body line that looks like a field only makes a count
//! larger, never smaller.

use crate::{Error, ErrorKind, Result};

/// The most messages one mail may attach, however nested. The parser
/// nests a value per attached message, and so does everything that walks
/// or drops it: a 1 MB mail of 30,000 messages each inside the last
/// overflowed the stack and aborted the server. Mailing-list digests of a
/// few hundred stay well within it.
pub const MAX_ATTACHED_MESSAGES: usize = 1000;

/// The most parameter work one mail may cost: over its `Content-Type` and
/// `Content-Disposition` fields, the sum of each field's `*` count (every
/// RFC 2231 section has one) times the field's length. Joining a
/// parameter's sections copies the value once per section, so a 4 MB field
/// of 200,000 sections took the parser 11 s (12 MB: 199 s). A long
/// filename in a few dozen sections costs a few kilobytes.
pub const MAX_PARAMETER_WORK: u64 = 1 << 26;

/// How many levels of base64 or quoted-printable messages the scan
/// decodes and scans in turn, as the parser would parse them.
const ENCODED_LEVELS: usize = 3;

/// Refuses, as `InvalidData`, a mail over one of this module's bounds.
pub(super) fn check(raw: &[u8]) -> Result<()> {
    let mut tally = Tally {
        attached_messages: 0,
        parameter_work: 0,
        // Each decoded body is read up to the next boundary line, so
        // bodies that never reach one would be decoded again and again:
        // the decoding, every level together, is bounded by the mail.
        decode_budget: raw.len().saturating_mul(4).saturating_add(1 << 16),
    };
    tally.scan(raw, ENCODED_LEVELS)?;
    if tally.attached_messages > MAX_ATTACHED_MESSAGES {
        return Err(refused(
            "too many attached messages: refused rather than parsed",
        ));
    }
    if tally.parameter_work > MAX_PARAMETER_WORK {
        return Err(refused(
            "header parameters cut into too many sections: refused rather than parsed",
        ));
    }
    Ok(())
}

fn refused(why: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, why)
}

struct Tally {
    attached_messages: usize,
    parameter_work: u64,
    decode_budget: usize,
}

/// The fields the scan reads.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    ContentType,
    ContentDisposition,
}

impl Tally {
    fn scan(&mut self, raw: &[u8], encoded_levels: usize) -> Result<()> {
        // The open field: its kind and where its value starts.
        let mut open: Option<(Field, usize)> = None;
        let mut at = 0;
        while at < raw.len() {
            let rest = raw.get(at..).unwrap_or_default();
            let line_len = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |n| n + 1);
            let line = rest.get(..line_len).unwrap_or_default();
            let folded = matches!(line.first(), Some(b' ' | b'\t'));
            if !folded && let Some((field, value_at)) = open.take() {
                self.close(
                    field,
                    raw.get(value_at..at).unwrap_or_default(),
                    rest,
                    encoded_levels,
                )?;
            }
            if open.is_none()
                && let Some((field, value_offset)) = field_name(line)
            {
                open = Some((field, at + value_offset));
            }
            at += line_len;
            if self.over() {
                return Ok(());
            }
        }
        if let Some((field, value_at)) = open {
            self.close(
                field,
                raw.get(value_at..).unwrap_or_default(),
                &[],
                encoded_levels,
            )?;
        }
        Ok(())
    }

    /// Counts one whole field: its `value` (folded lines included) and,
    /// for an attached message, the encoded message in `rest`, the lines
    /// after it.
    fn close(
        &mut self,
        field: Field,
        value: &[u8],
        rest: &[u8],
        encoded_levels: usize,
    ) -> Result<()> {
        let stars = value.iter().filter(|&&b| b == b'*').count();
        let work = (stars as u64).saturating_mul(value.len() as u64);
        self.parameter_work = self.parameter_work.saturating_add(work);
        if field != Field::ContentType {
            return Ok(());
        }
        let media_type = value.trim_ascii_start();
        if starts_with_ignoring_case(media_type, b"multipart/digest") {
            self.attached_messages += 1;
        } else if starts_with_ignoring_case(media_type, b"message/") {
            self.attached_messages += 1;
            if encoded_levels > 0
                && let Some(decoded) = self.encoded_body(rest)?
            {
                self.scan(&decoded, encoded_levels - 1)?;
            }
        }
        Ok(())
    }

    fn over(&self) -> bool {
        self.attached_messages > MAX_ATTACHED_MESSAGES || self.parameter_work > MAX_PARAMETER_WORK
    }

    /// The body of the part whose header block `rest` continues, decoded,
    /// if the block says base64 or quoted-printable: up to the next
    /// boundary line (`--…`).
    fn encoded_body(&mut self, rest: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut lines = rest.split(|&b| b == b'\n');
        let mut encoding = None;
        for line in lines.by_ref() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            if let Some(value) = header_value(line, b"content-transfer-encoding") {
                encoding = Some(value.to_ascii_lowercase());
            }
        }
        let Some(encoding) = encoding else {
            return Ok(None);
        };
        let mut body = Vec::new();
        for line in lines.take_while(|l| !l.starts_with(b"--")) {
            if body.len() >= self.decode_budget {
                break;
            }
            body.extend_from_slice(line);
            body.push(b'\n');
        }
        self.decode_budget = self
            .decode_budget
            .checked_sub(body.len())
            .ok_or_else(|| refused("attached messages overlap: refused rather than parsed"))?;
        Ok(match encoding.as_slice() {
            b"base64" => {
                body.retain(|b| !b.is_ascii_whitespace());
                mail_parser::decoders::base64::base64_decode(&body)
            }
            b"quoted-printable" => {
                mail_parser::decoders::quoted_printable::quoted_printable_decode(&body)
            }
            _ => None,
        })
    }
}

/// The field `line` starts, and where its value starts in it, if it is one
/// the scan reads. Like the parser, spaces anywhere in the name are
/// ignored (`Content - Type :` is a `Content-Type`).
fn field_name(line: &[u8]) -> Option<(Field, usize)> {
    for (field, name) in [
        (Field::ContentType, &b"content-type"[..]),
        (Field::ContentDisposition, b"content-disposition"),
    ] {
        if let Some(value_offset) = name_end(line, name) {
            return Some((field, value_offset));
        }
    }
    None
}

/// The offset just past the colon if `line` is the field `name`, spaces
/// ignored.
fn name_end(line: &[u8], name: &[u8]) -> Option<usize> {
    let mut wanted = name.iter();
    for (at, &b) in line.iter().enumerate() {
        match b {
            b' ' | b'\t' | b'\r' => continue,
            b':' if wanted.len() == 0 => return Some(at + 1),
            // The parser skips colons before any name.
            b':' if wanted.len() == name.len() => continue,
            _ => {
                if wanted.next().is_none_or(|&w| !b.eq_ignore_ascii_case(&w)) {
                    return None;
                }
            }
        }
    }
    None
}

/// The trimmed value of `line` if it is the header field `name`.
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let end = name_end(line, name)?;
    Some(line.get(end..).unwrap_or_default().trim_ascii())
}

fn starts_with_ignoring_case(value: &[u8], prefix: &[u8]) -> bool {
    value
        .get(..prefix.len())
        .is_some_and(|v| v.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_as_the_parser_reads_them() {
        assert_eq!(
            name_end(b"Content-Type: text/plain", b"content-type"),
            Some(13)
        );
        assert_eq!(name_end(b"content - TYPE :x", b"content-type"), Some(16));
        assert_eq!(name_end(b"Content-Typed: x", b"content-type"), None);
        assert_eq!(name_end(b"Content-Type x", b"content-type"), None);
        assert_eq!(name_end(b"X-Content-Type: x", b"content-type"), None);
    }

    /// A mail whose attachment's filename is cut into `sections` RFC 2231
    /// sections of `section` bytes each.
    fn sectioned(sections: usize, section: usize) -> Vec<u8> {
        let mut raw = String::from(
            "From: a@ex.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
Content-Type: application/pdf\r\nContent-Disposition: attachment;",
        );
        for n in 0..sections {
            raw.push_str(&format!("\r\n filename*{n}*={};", "a".repeat(section)));
        }
        raw.push_str("\r\n\r\nJVBERi0=\r\n--B--\r\n");
        raw.into_bytes()
    }

    #[test]
    fn a_filename_in_many_sections_is_refused_and_a_few_are_not() {
        assert!(check(&sectioned(40, 30)).is_ok());
        let err = check(&sectioned(20_000, 16)).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }

    #[test]
    fn bodies_that_never_end_are_decoded_within_the_mails_size() {
        // Hundreds of attached messages whose bodies all run to the end:
        // each would be decoded whole, again and again.
        let mut raw = String::from("From: a@ex.org\r\nSubject: s\r\n\r\n");
        for _ in 0..900 {
            raw.push_str(
                "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n",
            );
        }
        raw.push_str(&"QUFB\r\n".repeat(100_000));
        let err = check(raw.as_bytes()).expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::InvalidData);
    }
}
