//! Importing real mail and calendars: Maildir folders, mbox files and
//! `.ics` files. Parsing is the core's; this is only finding the messages.

use crate::admin;
use crate::store::SqliteStore;
use std::path::Path;
use tidings::sync::mail::DEFAULT_PREVIEW_BYTES;
use tidings::{Error, ErrorKind, Result};

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Messages or events stored.
    pub stored: usize,
    /// Files or messages skipped because they hold no message or calendar
    /// (logged with their position, never their content).
    pub skipped: usize,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "cannot read");
        Error::new(ErrorKind::InvalidArgument, "cannot read the file")
    })
}

fn store_one(
    store: &mut SqliteStore,
    folder: u64,
    name: &str,
    raw: &[u8],
    imported: &mut Imported,
) -> Result<()> {
    match store.add_message(folder, raw, DEFAULT_PREVIEW_BYTES) {
        Ok(_) => imported.stored += 1,
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            tracing::warn!(message = %name, "skipped: not a mail message");
            imported.skipped += 1;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Imports every message of a Maildir (`cur/` and `new/`; a plain directory
/// of message files works too) into `folder`, in file name order (Maildir
/// names start with the delivery time).
pub fn maildir(store: &mut SqliteStore, folder: u64, dir: &Path) -> Result<Imported> {
    let mut files = Vec::new();
    let subdirs = ["cur", "new"].map(|d| dir.join(d));
    let roots: Vec<&Path> = if subdirs.iter().any(|d| d.is_dir()) {
        subdirs
            .iter()
            .map(|d| d.as_path())
            .filter(|d| d.is_dir())
            .collect()
    } else {
        vec![dir]
    };
    for root in roots {
        let entries = std::fs::read_dir(root).map_err(|e| {
            tracing::error!(path = %root.display(), error = %e, "cannot list");
            Error::new(ErrorKind::InvalidArgument, "cannot list the Maildir")
        })?;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    let mut imported = Imported::default();
    for file in &files {
        let name = file.display().to_string();
        store_one(store, folder, &name, &read(file)?, &mut imported)?;
    }
    Ok(imported)
}

/// Splits an mbox (mboxrd or mboxo) into messages: each starts at a
/// `From ` line and ends before the blank line that precedes the next;
/// `>From ` quoting inside bodies is undone (mboxrd).
pub fn split_mbox(mbox: &[u8]) -> Vec<Vec<u8>> {
    // The blank line before each separator belongs to the mbox, not the mail.
    fn end(mut message: Vec<u8>) -> Vec<u8> {
        for blank in [&b"\r\n"[..], b"\n"] {
            let body = message.len().saturating_sub(blank.len());
            let after_line = body == 0 || message.get(body - 1) == Some(&b'\n');
            if message.ends_with(blank) && after_line {
                message.truncate(body);
                break;
            }
        }
        message
    }
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in mbox.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            messages.extend(current.take().map(end));
            current = Some(Vec::new());
            continue;
        }
        let Some(message) = current.as_mut() else {
            continue; // text before the first separator is not a message
        };
        let quoted = line.iter().take_while(|&&b| b == b'>').count();
        if quoted > 0
            && line
                .get(quoted..)
                .is_some_and(|rest| rest.starts_with(b"From "))
        {
            message.extend_from_slice(line.get(1..).unwrap_or_default());
        } else {
            message.extend_from_slice(line);
        }
    }
    messages.extend(current.map(end));
    messages
}

/// Imports every message of an mbox file into `folder`.
pub fn mbox(store: &mut SqliteStore, folder: u64, path: &Path) -> Result<Imported> {
    let bytes = read(path)?;
    let mut imported = Imported::default();
    for (i, message) in split_mbox(&bytes).iter().enumerate() {
        let name = format!("{}#{}", path.display(), i + 1);
        store_one(store, folder, &name, message, &mut imported)?;
    }
    Ok(imported)
}

/// Imports the events of an `.ics` file into `calendar`.
pub fn ics(store: &mut SqliteStore, calendar: u64, path: &Path) -> Result<Imported> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let ids = admin::add_events(store, calendar, &text)?;
    Ok(Imported {
        stored: ids.len(),
        skipped: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::split_mbox;
    use proptest::prelude::*;

    /// Writes messages as mboxrd does: a separator line, `From ` lines
    /// (however many `>` precede them) quoted with one more `>`, a blank line.
    fn write_mbox(messages: &[Vec<u8>]) -> Vec<u8> {
        let mut mbox = Vec::new();
        for message in messages {
            mbox.extend_from_slice(b"From sender@example.org Sun Nov 29 00:00:00 2026\n");
            for line in message.split_inclusive(|&b| b == b'\n') {
                let quotes = line.iter().take_while(|&&b| b == b'>').count();
                if line[quotes..].starts_with(b"From ") {
                    mbox.push(b'>');
                }
                mbox.extend_from_slice(line);
            }
            mbox.push(b'\n');
        }
        mbox
    }

    #[test]
    fn mbox_splits_at_from_lines_and_unquotes() {
        let mbox = b"From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n>>From there\nbody\n\nFrom b@x Tue Jan  2 00:00:00 2024\nSubject: two\n\nhi\n";
        let messages = split_mbox(mbox);
        assert_eq!(
            messages,
            vec![
                b"Subject: one\n\nFrom here\n>From there\nbody\n".to_vec(),
                b"Subject: two\n\nhi\n".to_vec()
            ]
        );
        assert!(split_mbox(b"no separator\n").is_empty());
    }

    proptest! {
        #[test]
        fn mbox_round_trips(
            messages in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        Just(b"From x\n".to_vec()),
                        Just(b">>From y\n".to_vec()),
                        Just(b"\n".to_vec()),
                        Just(b"\r\n".to_vec()),
                        "[ -~]{0,20}\n".prop_map(String::into_bytes),
                    ],
                    0..8,
                ).prop_map(|lines| lines.concat()),
                0..6,
            )
        ) {
            prop_assert_eq!(split_mbox(&write_mbox(&messages)), messages);
        }
    }
}
