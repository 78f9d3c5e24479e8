//! Importing real mail and calendars: Maildir folders, mbox files and
//! `.ics` files. Parsing is the core's; this is finding the items, one by
//! one, and saying what became of each.
//!
//! Every message and every event is imported or refused on its own, with a
//! reason that names the file and, inside it, the line (and an event's
//! UID). Importing the same data again changes nothing: a message already in
//! the folder (by Message-ID, or by its bytes when it has none) and an
//! event already in the calendar (by UID, unless the import holds a later
//! version) are counted as unchanged. Work is committed in batches of
//! [`BATCH`] items, so a huge import neither holds the write lock for long
//! nor loses what it stored when it stops half way.

mod calendar;
mod mail;
mod mbox;

pub use calendar::ics;
pub use mail::{maildir, maildir_flags, mbox};
pub use mbox::{MAX_PREAMBLE, MboxMessage, MboxReader, split_mbox, split_mbox_numbered};

use std::fmt;
use std::path::Path;

/// Items stored per transaction.
pub const BATCH: usize = 500;

/// The most bytes of one imported message (a Maildir file, an mbox
/// message) or `.ics` file: what the IMAP mirror fetches of one message.
/// Files are read up to it, never whole, so a huge or endless file
/// (`/dev/zero`) is refused, not held.
pub const MAX_IMPORT_MESSAGE_BYTES: usize = 64 << 20;

/// One item (or file) refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Where: a file, `file, message N (line L)` or `file:line`.
    pub source: String,
    /// The event's UID, when it has one.
    pub uid: Option<String>,
    /// Why, in words an operator can act on.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(uid) = &self.uid {
            // A UID is the file's own text: shown escaped, never raw.
            write!(f, " (UID {})", uid.escape_debug())?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// New messages or events stored.
    pub stored: usize,
    /// Items already present that the import holds a newer version of
    /// (an event's later SEQUENCE, a message's changed Maildir flags).
    pub updated: usize,
    /// Items already present as the import holds them.
    pub unchanged: usize,
    /// Older versions of an event that a later one in the same import
    /// replaced.
    pub superseded: usize,
    /// Items or files refused, each with its reason.
    pub refused: Vec<Refusal>,
    /// Lines left out of items that were imported: malformed lines of
    /// `X-` or unknown calendar properties, and lines an exporter forgot
    /// to fold (a note names them).
    pub dropped_lines: usize,
    /// What was deliberately not imported and how to import it.
    pub notes: Vec<String>,
}

impl Report {
    fn refuse(&mut self, source: impl Into<String>, reason: impl Into<String>) {
        self.refused.push(Refusal {
            source: source.into(),
            uid: None,
            reason: reason.into(),
        });
    }

    /// One line for the operator: counts of each outcome.
    pub fn summary(&self) -> String {
        format!(
            "imported {} new, {} updated, {} already present, {} superseded, {} refused",
            self.stored,
            self.updated,
            self.unchanged,
            self.superseded,
            self.refused.len()
        )
    }
}

/// Reads a whole file of at most `max` bytes (reading no further), or
/// says which and why not.
pub fn read(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > max {
        return Err(format!("larger than the {max} bytes one file may have"));
    }
    Ok(bytes)
}

/// A core error as a reason an operator reads: its text and its code.
pub(crate) fn reason(e: &tidings::Error) -> String {
    format!("{e} (error {})", e.code())
}

#[cfg(test)]
mod tests;
