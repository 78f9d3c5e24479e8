//! Messages from a Maildir or an mbox file, each stored or refused alone.

use super::mbox::MboxReader;
use super::{BATCH, MAX_IMPORT_MESSAGE_BYTES, Report, read, reason};
use crate::stores::ServerStore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::FileType;
use std::path::{Path, PathBuf};
use tidings::compress::unpack;
use tidings::proto::{self, Item, MailFlag, MailItem, item};
use tidings::sync::mail::{
    DEFAULT_PREVIEW_BYTES, MailItemOptions, ParsedMail, mail_item_from_message,
};
use tidings::{ErrorKind, Result};

/// What makes two messages the same message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Identity {
    /// Its Message-ID, with a digest of its senders, subject and date: a
    /// copy of one message re-exported by another program (other bytes)
    /// is the same message, but a different message that reuses a
    /// Message-ID (a broken mailer, a template) is not, and is kept.
    MessageId(String, [u8; 32]),
    /// For mail without a Message-ID: its bytes.
    Digest([u8; 32]),
}

fn identity(mail: &MailItem, raw: &[u8]) -> Identity {
    match mail.headers.as_ref() {
        Some(h) if !h.message_id.is_empty() => {
            let mut said = Sha256::new();
            for sender in &h.from {
                said.update(sender.email.to_ascii_lowercase().as_bytes());
                said.update([0]);
            }
            said.update([1]);
            said.update(h.subject.as_bytes());
            said.update([0]);
            said.update(h.date.to_be_bytes());
            Identity::MessageId(h.message_id.clone(), said.finalize().into())
        }
        _ => Identity::Digest(Sha256::digest(raw).into()),
    }
}

/// The messages a folder holds, by identity, with their id and flags; and
/// the identities held under each Message-ID.
struct Present(
    HashMap<Identity, (u64, u32)>,
    HashMap<String, Vec<Identity>>,
);

impl Present {
    /// The identity of a message held under `identity`'s Message-ID whose
    /// stored bytes are `raw`: the same message, whose senders, subject or
    /// date read differently when it was first imported (an older build
    /// decoded them otherwise), so importing again adds no copy.
    fn same_bytes(
        &self,
        store: &impl ServerStore,
        identity: &Identity,
        raw: &[u8],
    ) -> Result<Option<Identity>> {
        let Identity::MessageId(message_id, _) = identity else {
            return Ok(None);
        };
        for held in self.1.get(message_id).into_iter().flatten() {
            let Some(&(id, _)) = self.0.get(held) else {
                continue;
            };
            if store.raw_message(id)?.as_deref() == Some(raw) {
                return Ok(Some(held.clone()));
            }
        }
        Ok(None)
    }

    fn insert(&mut self, identity: Identity, held: (u64, u32)) {
        if let Identity::MessageId(message_id, _) = &identity {
            self.1
                .entry(message_id.clone())
                .or_default()
                .push(identity.clone());
        }
        self.0.insert(identity, held);
    }
}

impl Present {
    fn of(store: &impl ServerStore, folder: u64) -> Result<Self> {
        let mut present = HashMap::new();
        for (id, packed, flags) in store.items(folder)? {
            let decoded = unpack(&packed, &tidings::sync::STORED_ITEM_LIMITS)
                .and_then(|bytes| proto::decode::<Item>(&bytes));
            let Ok(Item {
                kind: Some(item::Kind::Mail(mail)),
            }) = decoded
            else {
                continue;
            };
            let raw = match mail
                .headers
                .as_ref()
                .is_some_and(|h| !h.message_id.is_empty())
            {
                true => None,
                false => store.raw_message(id)?,
            };
            present.insert(
                identity(&mail, raw.as_deref().unwrap_or_default()),
                (id, flags),
            );
        }
        let mut by_message_id: HashMap<String, Vec<Identity>> = HashMap::new();
        for identity in present.keys() {
            if let Identity::MessageId(message_id, _) = identity {
                by_message_id
                    .entry(message_id.clone())
                    .or_default()
                    .push(identity.clone());
            }
        }
        Ok(Present(present, by_message_id))
    }
}

/// The flags a Maildir file name records after `:2,` (or `!2,`, where `:`
/// is not allowed in names): S seen, F flagged, R replied, D draft,
/// P passed (forwarded). Other letters (T, trashed) carry no flag here.
pub fn maildir_flags(file_name: &str) -> u32 {
    let info = file_name
        .rsplit_once(":2,")
        .or_else(|| file_name.rsplit_once("!2,"))
        .map_or("", |(_, info)| info);
    let bit = |letter| match letter {
        'S' => MailFlag::Seen as u32,
        'F' => MailFlag::Flagged as u32,
        'R' => MailFlag::Answered as u32,
        'D' => MailFlag::Draft as u32,
        'P' => MailFlag::Forwarded as u32,
        _ => 0,
    };
    info.chars().map(bit).fold(0, |all, b| all | b)
}

/// A message read for import, before the transaction that stores it: a
/// costly mail is read with no write lock held.
struct Message {
    /// Where it came from, as refusals name it.
    source: String,
    raw: Vec<u8>,
    flags: u32,
    mail: Result<ParsedMail>,
}

impl Message {
    fn read(source: String, raw: Vec<u8>, flags: u32) -> Message {
        let mail = ParsedMail::parse(&raw, DEFAULT_PREVIEW_BYTES);
        Message {
            source,
            raw,
            flags,
            mail,
        }
    }
}

/// Messages read and waiting to be stored in one transaction.
#[derive(Default)]
struct Batch(Vec<Message>);

impl Batch {
    /// Whether it is as large as one transaction should be.
    fn full(&self) -> bool {
        let held: usize = self.0.iter().map(|m| m.raw.len()).sum();
        self.0.len() >= BATCH || held >= MAX_IMPORT_MESSAGE_BYTES
    }

    /// Stores and empties the batch, in one transaction.
    fn store(
        &mut self,
        store: &mut impl ServerStore,
        folder: u64,
        present: &mut Present,
        report: &mut Report,
    ) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        store.atomic(|s| {
            for message in &self.0 {
                store_message(s, folder, present, message, report)?;
            }
            Ok(())
        })?;
        self.0.clear();
        Ok(())
    }
}

/// Stores one message unless the folder holds it already; a message that
/// is not mail is refused in `report`.
fn store_message(
    store: &mut impl ServerStore,
    folder: u64,
    present: &mut Present,
    message: &Message,
    report: &mut Report,
) -> Result<()> {
    let (raw, flags) = (message.raw.as_slice(), message.flags);
    let mail = match &message.mail {
        Ok(mail) => mail,
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            report.refuse(message.source.clone(), reason(e));
            return Ok(());
        }
        Err(e) => return Err(e.clone()),
    };
    let mut identity = identity(&mail.item, raw);
    if !present.0.contains_key(&identity)
        && let Some(held) = present.same_bytes(store, &identity, raw)?
    {
        identity = held;
    }
    if let Some((id, held)) = present.0.get_mut(&identity) {
        // Flags a device set since are kept: an import only adds flags.
        let union = *held | flags;
        if union == *held {
            report.unchanged += 1;
        } else {
            store.set_flags(folder, *id, union)?;
            *held = union;
            report.updated += 1;
        }
        return Ok(());
    }
    let ids = store.add_parsed_message_copies(&[folder], raw, mail)?;
    let Some(&id) = ids.first() else {
        return Ok(());
    };
    if flags != 0 {
        store.set_flags(folder, id, flags)?;
    }
    present.insert(identity, (id, flags));
    report.stored += 1;
    Ok(())
}

/// Imports every message file of a Maildir (`cur/` and `new/`; a plain
/// directory of message files works too) into `folder`, in file name order
/// (Maildir names start with the delivery time), with the flags their names
/// record. Symbolic links are not followed (a link could reach any file the
/// server can read); they and files that are not mail are refused by name.
/// Maildir++ subfolders are named in the report's notes, with the command
/// that imports each.
///
/// # Errors
///
/// Only the store's: every problem with the input is in the report.
pub fn maildir(store: &mut impl ServerStore, folder: u64, dir: &Path) -> Result<Report> {
    let mut report = Report::default();
    let files = maildir_files(dir, &mut report);
    let mut present = Present::of(store, folder)?;
    let mut batch = Batch::default();
    for file in files {
        let source = file.display().to_string();
        let raw = match read(&file, MAX_IMPORT_MESSAGE_BYTES) {
            Ok(raw) => raw,
            Err(why) => {
                report.refuse(source, why);
                continue;
            }
        };
        let name = file.file_name().map(|n| n.to_string_lossy());
        let flags = name.as_deref().map_or(0, maildir_flags);
        batch.0.push(Message::read(source, raw, flags));
        if batch.full() {
            batch.store(store, folder, &mut present, &mut report)?;
        }
    }
    batch.store(store, folder, &mut present, &mut report)?;
    Ok(report)
}

/// The type of `path` itself (a link is a link), or a refusal.
fn file_type(path: &Path, report: &mut Report) -> Option<FileType> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Some(meta.file_type()),
        Err(e) => {
            report.refuse(path.display().to_string(), format!("cannot read: {e}"));
            None
        }
    }
}

const LINK: &str = "a symbolic link, not followed: import what it points to by its own path";

/// The message files of a Maildir, sorted; the rest is refused or noted.
fn maildir_files(dir: &Path, report: &mut Report) -> Vec<PathBuf> {
    let source = dir.display().to_string();
    match file_type(dir, report) {
        Some(t) if t.is_dir() => {}
        Some(t) if t.is_symlink() => {
            report.refuse(source, LINK);
            return Vec::new();
        }
        Some(_) => {
            report.refuse(
                source,
                "not a directory: for an mbox file use `import mbox`, for one message `deliver`",
            );
            return Vec::new();
        }
        None => return Vec::new(),
    }
    let mut roots = Vec::new();
    for sub in ["cur", "new"].map(|d| dir.join(d)) {
        match std::fs::symlink_metadata(&sub).map(|m| m.file_type()) {
            Ok(t) if t.is_symlink() => report.refuse(sub.display().to_string(), LINK),
            Ok(t) if t.is_dir() => roots.push(sub),
            _ => {}
        }
    }
    let maildir = !roots.is_empty() || dir.join("cur").exists() || dir.join("new").exists();
    if !maildir {
        roots.push(dir.to_path_buf());
    }
    let mut files = Vec::new();
    for root in &roots {
        let entries = match std::fs::read_dir(root) {
            Ok(entries) => entries,
            Err(e) => {
                report.refuse(root.display().to_string(), format!("cannot list: {e}"));
                continue;
            }
        };
        for entry in entries {
            let Ok(entry) = entry else { continue };
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_file() => files.push(path),
                Ok(t) if t.is_symlink() => report.refuse(path.display().to_string(), LINK),
                Ok(t) if t.is_dir() && !maildir => note_subfolder(&path, report),
                Ok(t) if t.is_dir() => report.notes.push(format!(
                    "{}: a directory inside a Maildir's {}, not imported",
                    path.display(),
                    root.file_name()
                        .map_or(String::new(), |n| n.to_string_lossy().into())
                )),
                Ok(_) => report.refuse(path.display().to_string(), "not a regular file"),
                Err(e) => report.refuse(path.display().to_string(), format!("cannot read: {e}")),
            }
        }
    }
    if maildir {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                note_subfolder(&entry.path(), report);
            }
        }
    }
    files.sort();
    files
}

/// Notes a Maildir++ subfolder (`.Sent`, `.Lists.rust`) and how to import it.
fn note_subfolder(path: &Path, report: &mut Report) {
    let name = path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    if matches!(name.as_str(), "cur" | "new" | "tmp") {
        return;
    }
    match name.strip_prefix('.') {
        Some(folder) if !folder.is_empty() => report.notes.push(format!(
            "{}: a Maildir++ subfolder, not imported; import it with \
             `import maildir EMAIL {} --folder {} --create-folder`",
            path.display(),
            path.display(),
            folder.replace('.', "/")
        )),
        _ => report
            .notes
            .push(format!("{}: a subdirectory, not imported", path.display())),
    }
}

/// Imports every message of an mbox file into `folder`, read one message
/// at a time: memory holds at most a batch of messages, however large the
/// file. A message over [`MAX_IMPORT_MESSAGE_BYTES`] is refused by its
/// line, and a file without a `From ` separator line in its first 64 KiB
/// is refused, naming what it looks like instead.
///
/// # Errors
///
/// Only the store's: every problem with the input is in the report.
pub fn mbox(store: &mut impl ServerStore, folder: u64, path: &Path) -> Result<Report> {
    let mut report = Report::default();
    let source = path.display().to_string();
    if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        report.refuse(source, "a directory: for a Maildir use `import maildir`");
        return Ok(report);
    }
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) => {
            let why = format!("cannot read {source}: {e}");
            report.refuse(source, why);
            return Ok(report);
        }
    };
    let mut reader = MboxReader::new(std::io::BufReader::new(file), MAX_IMPORT_MESSAGE_BYTES);
    let mut present = Present::of(store, folder)?;
    let mut batch = Batch::default();
    loop {
        let next = match reader.next_message() {
            Ok(next) => next,
            Err(e) if !reader.separated() => {
                report.refuse(source.clone(), not_an_mbox(path, &e.to_string()));
                break;
            }
            Err(e) => {
                report.refuse(source.clone(), format!("cannot read on: {e}"));
                break;
            }
        };
        match next {
            Some((line, Ok(raw))) => batch.0.push(Message::read(format!("{source}:{line}"), raw, 0)),
            Some((line, Err(size))) => report.refuse(
                format!("{source}:{line}"),
                format!("a message of {size} bytes, over the {MAX_IMPORT_MESSAGE_BYTES} a message may have"),
            ),
            None => break,
        }
        if batch.full() {
            batch.store(store, folder, &mut present, &mut report)?;
        }
    }
    batch.store(store, folder, &mut present, &mut report)?;
    if !reader.separated() && reader.preamble() > 0 && report.refused.is_empty() {
        report.refuse(source, not_an_mbox(path, "no line starts with `From `"));
    }
    Ok(report)
}

/// Why a file given as an mbox is not one, and, when it starts as one
/// mail, what to do instead.
fn not_an_mbox(path: &Path, why: &str) -> String {
    // Its start only: a mail's headers are there.
    let mut start = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        use std::io::Read;
        let _ = file.take(super::mbox::MAX_PREAMBLE).read_to_end(&mut start);
    }
    match mail_item_from_message(&start, &MailItemOptions::default()).is_ok() {
        true => "one message without an mbox `From ` line: use `deliver EMAIL FILE`, or put it in a Maildir".into(),
        false => format!("not an mbox file: {why}"),
    }
}
