//! Bounds checked on a mail's bytes before the parser sees them.
//!
//! mail-parser never panics, but some shapes make its work or its stack
//! grow faster than the mail. One scan over the mail's lines, linear in its
//! size, weighs each and refuses the mail as `InvalidData` before any parse
//! starts:
//!
//! - a message attached inside a message inside a message: a stack frame
//!   per level, which overflowed the stack at 30,000 levels;
//! - a parameter cut into thousands of RFC 2231 sections, or a value of
//!   thousands of `'`: each re-copies or re-searches what came before;
//! - thousands of encoded words that never end (`=?cs?q?…` without `?=`):
//!   each is read to the end of its field before it is given up;
//! - thousands of multiparts whose boundary comes late or never: each
//!   looks for it to the end of the mail; and a boundary of megabytes,
//!   compared wherever `--` occurs;
//! - a mail of tiny header fields, addresses or parts: each costs the
//!   parser 50 to 160 bytes however few it takes, so 64 MB of `a:` lines
//!   took 2.6 GB.
//!
//! The scan reads header fields the way the parser does (a name may hold
//! spaces, a value is folded over lines starting with a space or tab) but
//! over the whole text, bodies included, and always errs on the side of
//! more work: a body line that looks like a field only adds to a weight.

mod boundaries;
mod structure;

use boundaries::Boundaries;
pub(super) use boundaries::Close;

use crate::{Error, ErrorKind, Result};

/// The most messages one mail may attach, however nested. The parser
/// nests a value per attached message, and so does everything that walks
/// or drops it: a 1 MB mail of 30,000 messages each inside the last
/// overflowed the stack and aborted the server. Mailing-list digests of a
/// few hundred stay well within it.
pub const MAX_ATTACHED_MESSAGES: usize = 1000;

/// The most work the parser may spend on one mail's header fields, in
/// bytes read again: each RFC 2231 section or `'` of a `Content-Type` or
/// `Content-Disposition` field costs the field's length, each encoded word
/// the bytes to where it ends (its `?=`, else the field's end). A 4 MB
/// field of 200,000 sections took the parser 11 s, a 256 KB subject of
/// unended words 9 s. A long filename in a few dozen sections, or a subject
/// of a few dozen words, costs kilobytes.
pub const MAX_HEADER_WORK: u64 = 1 << 26;

/// The most bytes the parser may read looking for boundaries, beyond
/// `BOUNDARY_SEEKS_PER_BYTE` times the mail's size: each multipart looks
/// for its boundary from where it is declared to where it first occurs (to
/// the mail's end when it never does).
pub const MAX_EXTRA_BOUNDARY_SEEK: u64 = 1 << 26;

/// How many times over its own size a mail may be read looking for
/// boundaries: a few multiparts whose boundary is missing are mail's own
/// damage, 25,000 in 1 MB (27 s for 2 MB) an attack.
pub const BOUNDARY_SEEKS_PER_BYTE: u64 = 8;

/// The longest `Content-Type` field of a multipart, folds included: its
/// boundary is compared wherever `--` occurs in the mail (RFC 2046 allows
/// 70 bytes; a 1 MB boundary over a body of dashes took 2.4 s).
pub const MAX_MULTIPART_FIELD: usize = 998;

/// How many bytes the parser's structures may take per byte of mail,
/// beyond `MAX_EXTRA_STRUCTURE`, as the scan weighs them: a header field
/// 128 bytes, a part 256, an item of a field's value (an address, a
/// parameter, an id) 48. Ordinary mail weighs well under one byte per byte
/// (its fields and parts are far longer than their records); mail made of
/// the smallest ones weighed up to 40.
pub const STRUCTURE_PER_BYTE: u64 = 8;

/// The structure any mail may have whatever its size (131,072 header
/// fields' worth).
pub const MAX_EXTRA_STRUCTURE: u64 = 16 << 20;

/// The most bytes of distinct boundaries one text may declare: the scan
/// searches for them all at once (Aho–Corasick), whose automaton grows
/// with them. A digest of a thousand multipart messages declares 40 KB.
pub const MAX_BOUNDARY_BYTES: usize = 256 << 10;

/// How many levels of base64 or quoted-printable messages the scan
/// decodes and scans in turn, as the parser would parse them.
const ENCODED_LEVELS: usize = 3;

/// Most unclosed multiparts [`check`] reports: real mail cut short leaves
/// one or two open, nested.
const MAX_CLOSED: usize = 8;

/// Refuses, as `InvalidData`, a mail over one of this module's bounds;
/// returns the multiparts (not those of encoded attached messages) that
/// are never closed, in the order declared, for the caller to close (see
/// [`super::unclosed`]).
pub(super) fn check(raw: &[u8]) -> Result<Vec<Close>> {
    let mut tally = Tally {
        attached_messages: 0,
        header_work: 0,
        // Each decoded body is read up to the next boundary line, so
        // bodies that never reach one would be decoded again and again:
        // the decoding, every level together, is bounded by the mail.
        decode_budget: raw.len().saturating_mul(4).saturating_add(1 << 16),
    };
    tally.scan(raw, ENCODED_LEVELS)
}

fn refused(why: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, why)
}

struct Tally {
    attached_messages: usize,
    header_work: u64,
    decode_budget: usize,
}

/// The fields the scan reads; any other line holding a colon is `Other`.
#[derive(Clone, Copy, PartialEq)]
enum Field {
    ContentType,
    ContentDisposition,
    TransferEncoding,
    Other,
}

impl Tally {
    /// Scans `raw`; returns its unclosed multiparts.
    fn scan(&mut self, raw: &[u8], encoded_levels: usize) -> Result<Vec<Close>> {
        let mut boundaries = Boundaries::default();
        // The open field: its kind and where its value starts.
        let mut open: Option<(Field, usize)> = None;
        // The header block being read: whether it attaches a message (a
        // `message/*` type, or a digest's part), and the transfer
        // encoding it names, wherever in the block, folded or not.
        let mut attaches = false;
        let mut encoding: Option<Vec<u8>> = None;
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
                let value = raw.get(value_at..at).unwrap_or_default();
                boundaries.note_attached(field, value, value_at);
                attaches |=
                    field == Field::ContentType && media_type(value).starts_with(b"message/");
                if field == Field::TransferEncoding {
                    encoding = Some(value.to_ascii_lowercase());
                }
                self.close(field, value, at, &mut boundaries)?;
            }
            at += line_len;
            if let Some(digest) = boundaries.see(line, at - line_len) {
                (attaches, encoding) = (digest, None);
                continue;
            }
            if matches!(line, b"\n" | b"\r\n") {
                // The block ends: an attached message's body follows.
                if attaches
                    && encoded_levels > 0
                    && let Some(decoded) = self.encoded_body(
                        raw.get(at..).unwrap_or_default(),
                        encoding.as_deref(),
                        &boundaries,
                    )?
                {
                    self.scan(&decoded, encoded_levels - 1)?;
                }
                (attaches, encoding) = (false, None);
                continue;
            }
            if open.is_none() {
                open = field_start(line).map(|(field, offset)| (field, at - line_len + offset));
            }
        }
        if let Some((field, value_at)) = open {
            let value = raw.get(value_at..).unwrap_or_default();
            boundaries.note_attached(field, value, value_at);
            self.close(field, value, raw.len(), &mut boundaries)?;
        }
        let allowed = (raw.len() as u64)
            .saturating_mul(BOUNDARY_SEEKS_PER_BYTE)
            .saturating_add(MAX_EXTRA_BOUNDARY_SEEK);
        if boundaries.seeking(raw.len()) > allowed {
            return Err(refused(
                "too many multiparts whose boundary comes late or never: refused rather than parsed",
            ));
        }
        // Last: it searches for every boundary at once.
        structure::weigh(raw, &boundaries)?;
        Ok(boundaries.unclosed(raw.len()))
    }

    /// Weighs one whole field: its `value` (folded lines included), which
    /// ends at offset `end`, and, for an attached message, the encoded
    /// message in `rest`, the lines after it.
    fn close(
        &mut self,
        field: Field,
        value: &[u8],
        end: usize,
        boundaries: &mut Boundaries,
    ) -> Result<()> {
        let mut work = encoded_word_work(value);
        if matches!(field, Field::ContentType | Field::ContentDisposition) {
            let marks = value.iter().filter(|&&b| b == b'*' || b == b'\'').count();
            work = work.saturating_add((marks as u64).saturating_mul(value.len() as u64));
        }
        self.header_work = self.header_work.saturating_add(work);
        if self.header_work > MAX_HEADER_WORK {
            return Err(refused(
                "header fields too costly to read (parameter sections, unended encoded words): refused rather than parsed",
            ));
        }
        if field != Field::ContentType {
            return Ok(());
        }
        let media_type = media_type(value);
        let attaches = media_type.starts_with(b"message/");
        if media_type.starts_with(b"multipart/") {
            if value.len() > MAX_MULTIPART_FIELD {
                return Err(refused(
                    "a multipart's boundary is too long: refused rather than parsed",
                ));
            }
            let Ok(plain) = boundary(value) else {
                return Err(refused(
                    "a multipart's boundary is encoded past reading: refused rather than parsed",
                ));
            };
            let digest = media_type.starts_with(b"multipart/digest");
            boundaries.declare(plain.as_deref(), end, digest)?;
        }
        if attaches || media_type.starts_with(b"multipart/digest") {
            self.attached_messages += 1;
            if self.attached_messages > MAX_ATTACHED_MESSAGES {
                return Err(refused(
                    "too many attached messages: refused rather than parsed",
                ));
            }
        }
        Ok(())
    }

    /// The body `rest` of an attached message, decoded as its block's
    /// transfer `encoding` (its field's value, folded or an encoded word)
    /// says, leniently as the parser's decoders are: up to the next line
    /// that is a declared boundary, or the end. `None` when it is not
    /// encoded (the lines are then scanned where they are).
    fn encoded_body(
        &mut self,
        rest: &[u8],
        encoding: Option<&[u8]>,
        boundaries: &Boundaries,
    ) -> Result<Option<Vec<u8>>> {
        let Some(encoding) = encoding else {
            return Ok(None);
        };
        let contains = |word: &[u8]| encoding.windows(word.len()).any(|w| w == word);
        let plain = [&b"7bit"[..], b"8bit", b"binary", b""].contains(&encoding.trim_ascii());
        if plain {
            return Ok(None);
        }
        let mut body = Vec::new();
        for line in rest.split_inclusive(|&b| b == b'\n') {
            if boundaries.line_of(line).is_some() || body.len() >= self.decode_budget {
                break;
            }
            body.extend_from_slice(line);
        }
        self.decode_budget = self
            .decode_budget
            .checked_sub(body.len())
            .ok_or_else(|| refused("attached messages overlap: refused rather than parsed"))?;
        if contains(b"quoted") {
            return Ok(mail_parser::decoders::quoted_printable::quoted_printable_decode(&body));
        }
        // Base64, or an encoding the parser may read as it (spelled as an
        // encoded word): every byte outside the alphabet skipped, as the
        // parser's decoder skips it.
        body.retain(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/'));
        while body.len() % 4 != 0 {
            body.push(b'=');
        }
        Ok(mail_parser::decoders::base64::base64_decode(&body))
    }
}

/// The bytes the parser reads trying the encoded words of a field's
/// `value`: from each `=?` to the `?=` after it, or to the field's end.
fn encoded_word_work(value: &[u8]) -> u64 {
    let mut work = 0u64;
    // Where the next `?=` starts, found walking back from the end.
    let mut word_end = value.len();
    for at in (0..value.len()).rev() {
        match value.get(at..at + 2) {
            Some(b"?=") => word_end = at,
            Some(b"=?") => work = work.saturating_add((word_end.saturating_sub(at)) as u64),
            _ => {}
        }
    }
    work
}

/// The field `line` starts, and where its value starts in it: any line
/// holding a colon may be a header field where the parser reads one.
fn field_start(line: &[u8]) -> Option<(Field, usize)> {
    for (field, name) in [
        (Field::ContentType, &b"content-type"[..]),
        (Field::ContentDisposition, b"content-disposition"),
        (Field::TransferEncoding, b"content-transfer-encoding"),
    ] {
        if let Some(value_offset) = name_end(line, name) {
            return Some((field, value_offset));
        }
    }
    let colon = line.iter().position(|&b| b == b':')?;
    Some((Field::Other, colon + 1))
}

/// The offset just past the colon if `line` is the field `name`. Like the
/// parser, spaces anywhere in the name are ignored (`Content - Type :` is
/// a `Content-Type`), and so are colons before it.
fn name_end(line: &[u8], name: &[u8]) -> Option<usize> {
    let mut wanted = name.iter();
    for (at, &b) in line.iter().enumerate() {
        match b {
            // The parser's whitespace: form feed included.
            b' ' | b'\t' | b'\r' | b'\x0c' => continue,
            b':' if wanted.len() == 0 => return Some(at + 1),
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

/// A `Content-Type` value's media type as the parser reads it: in lower
/// case, without the spaces, comments and quotes it skips (so
/// `(x) "message" /rfc822` is `message/rfc822`), up to its first `;`; at
/// most 32 bytes.
fn media_type(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut comment_depth = 0usize;
    let mut bytes = value.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'(' => comment_depth += 1,
            b')' => comment_depth = comment_depth.saturating_sub(1),
            b'\\' if comment_depth > 0 => {
                bytes.next();
            }
            _ if comment_depth > 0 => {}
            b';' => break,
            b'"' => {}
            _ if b.is_ascii_whitespace() => {}
            _ => {
                out.push(b.to_ascii_lowercase());
                if out.len() >= 32 {
                    break;
                }
            }
        }
    }
    out
}

/// A `Content-Type` value's `boundary` parameter as the parser reads it:
/// given plainly (`boundary=x`, `boundary="x"`) or in one RFC 2231
/// extended value (`boundary*=us-ascii''x`, as mutt wrote them). `Ok(None)`
/// when there is none; `Err` when it is one the scan cannot read as the
/// parser would (in sections, or an encoded word), which no mailer is
/// known to write.
fn boundary(value: &[u8]) -> std::result::Result<Option<Vec<u8>>, ()> {
    // The parameter named exactly `boundary`, outside comments: not
    // `xboundary=`, not `(boundary=…)`.
    let value = without_comments(value);
    let lower = value.to_ascii_lowercase();
    let named = |at: usize| {
        let before = lower.get(..at).unwrap_or_default().trim_ascii_end();
        before.last() == Some(&b';')
    };
    let Some(name) = lower
        .windows(8)
        .enumerate()
        .position(|(at, w)| w == b"boundary" && named(at))
    else {
        return Ok(None);
    };
    let after = value.get(name + 8..).unwrap_or_default().trim_ascii_start();
    let (extended, after) = match after.strip_prefix(b"*") {
        Some(rest) => (true, rest.trim_ascii_start()),
        None => (false, after),
    };
    let Some(after) = after.strip_prefix(b"=") else {
        // `boundary*0=`: sections.
        return match extended {
            true => Err(()),
            false => Ok(None),
        };
    };
    let after = after.trim_ascii_start();
    let written = match after.strip_prefix(b"\"") {
        Some(quoted) => quoted.split(|&b| b == b'"').next().unwrap_or_default(),
        None => after
            .split(|&b| b == b';' || b.is_ascii_whitespace())
            .next()
            .unwrap_or_default(),
    };
    let boundary = match extended {
        false => written.to_vec(),
        true => {
            // charset'language'percent-encoded
            let encoded = written.splitn(3, |&b| b == b'\'').nth(2).ok_or(())?;
            percent_decode(encoded)
        }
    };
    if has_encoded_word(&boundary) {
        return Err(());
    }
    Ok((!boundary.is_empty()).then_some(boundary))
}

/// Whether `value` may hold what the parser decodes as an RFC 2047 encoded
/// word: `=?charset?B|Q?text?=`, at the start or after white space (the
/// parser also wants a charset of two bytes or more; erring toward a
/// refusal, one is enough here). Any other `=?` (`----=?NextPart_01`,
/// `pre=?a?b?=`) it reads as written.
fn has_encoded_word(value: &[u8]) -> bool {
    let starts = value.windows(2).enumerate().filter(|&(at, w)| {
        w == b"=?" && (at == 0 || value.get(at - 1).is_some_and(u8::is_ascii_whitespace))
    });
    starts.into_iter().any(|(at, _)| {
        let rest = value.get(at + 2..).unwrap_or_default();
        let mut fields = rest.splitn(3, |&b| b == b'?');
        let charset = fields.next().unwrap_or_default();
        let encoding = fields.next().unwrap_or_default();
        let text = fields.next().unwrap_or_default();
        !charset.is_empty()
            && matches!(encoding, b"b" | b"B" | b"q" | b"Q")
            && text.windows(2).any(|w| w == b"?=")
    })
}

/// `value` without its comments (parenthesized, nested, outside quotes).
fn without_comments(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for &b in value {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(b);
            }
            continue;
        }
        match b {
            b'\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(b);
                }
            }
            b'"' if depth == 0 => {
                quoted = !quoted;
                out.push(b);
            }
            b'(' if !quoted => depth += 1,
            b')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(b),
            _ => {}
        }
    }
    out
}

fn percent_decode(encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len());
    let mut bytes = encoded.iter();
    while let Some(&b) = bytes.next() {
        let hex = |b: Option<&u8>| b.and_then(|&b| char::from(b).to_digit(16));
        match b {
            b'%' => {
                let rest = bytes.as_slice();
                match (hex(rest.first()), hex(rest.get(1))) {
                    (Some(high), Some(low)) => {
                        out.push((high * 16 + low) as u8);
                        bytes.nth(1);
                    }
                    _ => out.push(b),
                }
            }
            _ => out.push(b),
        }
    }
    out
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
