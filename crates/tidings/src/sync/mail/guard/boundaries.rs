//! The multipart boundaries a mail declares, the lines that are theirs,
//! and the multiparts left open.

use std::collections::HashMap;

use super::{Field, MAX_BOUNDARY_BYTES, MAX_CLOSED, media_type, refused};
use crate::Result;

/// A multipart's close delimiter that its text lacks, and the offset of
/// the line it belongs before (the text's length: at its end).
#[derive(Debug, PartialEq)]
pub(in crate::sync::mail) struct Close {
    pub(in crate::sync::mail) at: usize,
    pub(in crate::sync::mail) boundary: Vec<u8>,
}

/// The multipart boundaries one text declares, and where.
#[derive(Default)]
pub(super) struct Boundaries {
    /// Each declared boundary's index in `lines`.
    pub(super) ids: HashMap<Vec<u8>, usize>,
    /// Per boundary, the offsets of the lines that are exactly it.
    pub(super) lines: Vec<Vec<usize>>,
    /// Each declaration: its boundary (`None`: one the scan cannot read,
    /// sought to the end) and the offset it is sought from.
    pub(super) declared: Vec<(Option<usize>, usize)>,
    /// Per boundary, whether a digest declared it (its parts are messages).
    pub(super) digest: Vec<bool>,
    /// Per boundary, the offset of its last close delimiter line.
    pub(super) closed_at: Vec<Option<usize>>,
    /// The bytes of the distinct boundaries.
    pub(super) distinct_bytes: usize,
    /// Where each `message/*` field's value starts, in order: its block is
    /// followed by the attached message's (read folded, as the parser
    /// reads it).
    pub(super) attached_at: Vec<usize>,
}

impl Boundaries {
    pub(super) fn declare(
        &mut self,
        boundary: Option<&[u8]>,
        from: usize,
        digest: bool,
    ) -> Result<()> {
        if let Some(b) = boundary
            && !self.ids.contains_key(b)
        {
            self.distinct_bytes += b.len();
            if self.distinct_bytes > MAX_BOUNDARY_BYTES {
                return Err(refused(
                    "too many distinct multipart boundaries: refused rather than parsed",
                ));
            }
        }
        let id = boundary.map(|b| {
            let next = self.lines.len();
            *self.ids.entry(b.to_vec()).or_insert(next)
        });
        if id == Some(self.lines.len()) {
            self.lines.push(Vec::new());
            self.digest.push(false);
            self.closed_at.push(None);
        }
        if let Some(flag) = id.and_then(|id| self.digest.get_mut(id)) {
            *flag |= digest;
        }
        self.declared.push((id, from));
        Ok(())
    }

    /// Notes `line`, at offset `at`, if it is a declared boundary's, and
    /// says whether it is (and whether a digest declared it).
    pub(super) fn see(&mut self, line: &[u8], at: usize) -> Option<bool> {
        let (id, close) = self.line_of(line)?;
        self.lines.get_mut(id)?.push(at);
        if close && let Some(closed_at) = self.closed_at.get_mut(id) {
            *closed_at = Some(at);
        }
        self.digest.get(id).copied()
    }

    /// The boundary `line` is exactly, if any, and whether it closes it.
    pub(super) fn line_of(&self, line: &[u8]) -> Option<(usize, bool)> {
        let token = line.strip_prefix(b"--")?.trim_ascii_end();
        if let Some(open) = token.strip_suffix(b"--")
            && let Some(&id) = self.ids.get(open)
        {
            return Some((id, true));
        }
        self.ids.get(token).map(|&id| (id, false))
    }

    /// The multiparts whose parts start (a delimiter line follows the
    /// declaration) and never end (no close delimiter line follows it),
    /// in the order declared, at most [`MAX_CLOSED`], each with where its
    /// close belongs: before the next line of a boundary declared before
    /// it (the multipart that encloses it goes on), else at the end of
    /// the text (it was cut short there). A multipart declared after it
    /// is inside its last part, so its lines do not end it.
    pub(super) fn unclosed(&self, len: usize) -> Vec<Close> {
        let mut names: Vec<Option<&[u8]>> = vec![None; self.lines.len()];
        for (boundary, &id) in &self.ids {
            if let Some(name) = names.get_mut(id) {
                *name = Some(boundary);
            }
        }
        let mut out: Vec<Close> = Vec::new();
        // The distinct boundaries declared so far, in order.
        let mut earlier: Vec<usize> = Vec::new();
        let mut seen = vec![false; self.lines.len()];
        for &(id, from) in &self.declared {
            let Some(id) = id else { continue };
            let last = self.lines.get(id).and_then(|l| l.last()).copied();
            let closed = self.closed_at.get(id).copied().flatten();
            let open = last.filter(|&at| at >= from && closed.is_none_or(|c| c < from));
            let name = names.get(id).copied().flatten();
            if let (Some(last), Some(name)) = (open, name)
                && out.len() < MAX_CLOSED
            {
                let next = |other: &usize| {
                    let lines = self.lines.get(*other)?;
                    lines.get(lines.partition_point(|&at| at <= last)).copied()
                };
                out.push(Close {
                    at: earlier.iter().filter_map(next).min().unwrap_or(len),
                    boundary: name.to_vec(),
                });
            }
            if let Some(seen) = seen.get_mut(id)
                && !*seen
            {
                *seen = true;
                earlier.push(id);
            }
        }
        out
    }

    pub(super) fn note_attached(&mut self, field: Field, value: &[u8], value_at: usize) {
        if field == Field::ContentType && media_type(value).starts_with(b"message/") {
            self.attached_at.push(value_at);
        }
    }

    /// Each declared boundary as the parser looks for it (`--` and the
    /// boundary), in the order of their ids.
    pub(super) fn patterns(&self) -> Vec<Vec<u8>> {
        let mut patterns = vec![Vec::new(); self.lines.len()];
        for (boundary, &id) in &self.ids {
            if let Some(pattern) = patterns.get_mut(id) {
                *pattern = [&b"--"[..], boundary].concat();
            }
        }
        patterns
    }

    /// The bytes the parser reads looking for each declared boundary, in
    /// a text of `len` bytes: to its first line after the declaration. A
    /// boundary found elsewhere (mid-line, or as a prefix of a longer
    /// one) is found sooner, so this never counts short.
    pub(super) fn seeking(&self, len: usize) -> u64 {
        self.declared
            .iter()
            .map(|&(id, from)| {
                let lines = id.and_then(|id| self.lines.get(id));
                let found = lines.and_then(|l| l.get(l.partition_point(|&at| at < from)));
                found.copied().unwrap_or(len).saturating_sub(from) as u64
            })
            .sum()
    }
}
