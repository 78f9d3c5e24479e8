//! The memory the parser's records of a mail take, weighed before it
//! parses: a header field, a part and an item of a field's value cost it
//! the same however few bytes they take, so a mail of the smallest ones
//! cost 25 to 40 times its size.
//!
//! Only lines where the parser reads header fields are weighed: the mail's
//! first block, the block after each boundary (found wherever the parser
//! finds it, mid-line included) and the block that starts an attached
//! message. A log of short lines in a body weighs nothing.

use aho_corasick::AhoCorasick;

use super::{Boundaries, MAX_EXTRA_STRUCTURE, STRUCTURE_PER_BYTE, refused};
use crate::Result;

/// A header field: mail-parser's `Header` (120 bytes) and its slot.
const FIELD_WEIGHT: u64 = 128;
/// A part: its `MessagePart` (160 bytes), its list of fields, its id.
const PART_WEIGHT: u64 = 256;
/// An address, parameter, id or keyword (48 bytes each).
const ITEM_WEIGHT: u64 = 48;

/// Refuses `raw` when the parser's records of it would weigh more than
/// [`STRUCTURE_PER_BYTE`] times its size plus [`MAX_EXTRA_STRUCTURE`].
pub(super) fn weigh(raw: &[u8], boundaries: &Boundaries) -> Result<()> {
    let patterns = boundaries.patterns();
    let finder =
        match patterns.is_empty() {
            true => None,
            false => Some(AhoCorasick::new(&patterns).map_err(|_| {
                refused("too many multipart boundaries: refused rather than parsed")
            })?),
        };
    let mut found = finder.iter().flat_map(|f| f.find_iter(raw)).peekable();
    let mut weight = 0u64;
    // The parser reads fields from the first line on.
    let mut in_header = true;
    // The block declares an attached message, whose own block follows.
    let mut attaches = false;
    let mut at = 0;
    while at < raw.len() {
        let rest = raw.get(at..).unwrap_or_default();
        let line_len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |n| n + 1);
        let line = rest.get(..line_len).unwrap_or_default();
        let end = at + line_len;
        at = end;
        // Each boundary in the line starts a part, whose block starts on
        // the next line.
        let mut part_of_digest = None;
        while let Some(boundary) = found.next_if(|m| m.start() < end) {
            weight = weight.saturating_add(PART_WEIGHT);
            let digest = boundaries.digest.get(boundary.pattern().as_usize());
            part_of_digest = Some(digest.copied().unwrap_or(false));
        }
        if let Some(digest) = part_of_digest {
            (in_header, attaches) = (true, digest);
            continue;
        }
        if matches!(line, b"\n" | b"\r\n") {
            if in_header {
                (in_header, attaches) = (attaches, false);
            }
            continue;
        }
        if !in_header {
            continue;
        }
        if !matches!(line.first(), Some(b' ' | b'\t')) {
            weight = weight.saturating_add(FIELD_WEIGHT);
        }
        let items = line
            .iter()
            .filter(|&&b| matches!(b, b',' | b';' | b':' | b'<'))
            .count() as u64;
        weight = weight.saturating_add(items.saturating_mul(ITEM_WEIGHT));
        // A `message/*` field found by the first pass, folded or not.
        let first = boundaries
            .attached_at
            .partition_point(|&v| v < end - line_len);
        if boundaries.attached_at.get(first).is_some_and(|&v| v < end) {
            attaches = true;
        }
    }
    let room = (raw.len() as u64)
        .saturating_mul(STRUCTURE_PER_BYTE)
        .saturating_add(MAX_EXTRA_STRUCTURE);
    if weight > room {
        return Err(refused(
            "too many header fields, addresses or parts for its size: refused rather than parsed",
        ));
    }
    Ok(())
}
