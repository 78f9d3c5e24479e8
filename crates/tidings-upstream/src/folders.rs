//! The folder list: LIST upstream against the mirrored folders. A new name
//! becomes a collection; a name that vanished while a new one appeared with
//! the same UIDVALIDITY was renamed (IMAP keeps UIDVALIDITY across RENAME),
//! so the collection is kept and renamed, and devices keep their copies; a
//! folder gone for good takes its collection with it.
//!
//! At most [`MAX_FOLDERS`] folders, whose names take at most
//! [`MAX_FOLDER_NAME_BYTES`] in all, are mirrored per account: a device is
//! told its whole collection list in one message (`Welcome`,
//! `CollectionsChanged`), which must fit one frame, and anyone who can
//! send the account mail may create folders upstream (plus-addressing with
//! Dovecot's `lda_mailbox_autocreate`). Folders mirrored already keep their
//! place; new ones are added in LIST order while both bounds hold, and the
//! rest are left out with a warning.
//!
//! A folder's collection is named as people read the folder's name
//! ([`display_name`]); the mirror keeps the name as LIST gave it for its
//! commands.

use crate::account::Account;
use crate::folder_names::display_name;
use crate::session::{listed_name, quote};
use crate::state::{self, Folder};
use async_imap::imap_proto::{MailboxDatum, NameAttribute, Response, StatusAttribute};
use std::collections::HashSet;
use tidings::Result;
use tidings::proto::CollectionKind;

impl Account {
    /// Reconciles the mirrored folders with LIST; returns them afterwards.
    pub async fn sync_folder_list(&mut self) -> Result<Vec<Folder>> {
        let listed = self.list().await?;
        let known = self.folders()?;
        let listed_names: HashSet<&str> = listed.iter().map(String::as_str).collect();
        let known_names: HashSet<&str> = known.iter().map(|f| f.name.as_str()).collect();
        let mut gone: Vec<Folder> = known
            .iter()
            .filter(|f| !listed_names.contains(f.name.as_str()))
            .cloned()
            .collect();
        let new_names = within_bounds(&known, &gone, &listed, &known_names);
        let mut appeared = Vec::new();
        for name in new_names {
            appeared.push((name.clone(), self.uidvalidity(&name).await?));
        }
        if gone.is_empty() && appeared.is_empty() {
            return Ok(known);
        }
        let principal = self.principal;
        self.transaction(|store| {
            for (name, uidvalidity) in &appeared {
                let renamed = gone
                    .iter()
                    .position(|f| f.uidvalidity != 0 && f.uidvalidity == *uidvalidity);
                match renamed {
                    Some(at) => {
                        let folder = gone.swap_remove(at);
                        store.rename_collection(folder.collection, &display_name(name))?;
                        state::rename_folder(store.companion_sql(), folder.collection, name)?;
                    }
                    None => {
                        let shown = display_name(name);
                        let collection = adopt_or_add(store, principal, &known, &shown)?;
                        state::add_folder(
                            store.companion_sql(),
                            principal,
                            collection,
                            name,
                            *uidvalidity,
                        )?;
                    }
                }
            }
            for folder in &gone {
                store.delete_collection(folder.collection)?;
                state::remove_folder(store.companion_sql(), folder.collection)?;
            }
            Ok(())
        })?;
        self.folders()
    }

    /// The selectable folders upstream.
    async fn list(&mut self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for response in self.upstream.command("LIST \"\" \"*\"").await? {
            if let Response::MailboxData(MailboxDatum::List(data)) = response {
                let unselectable = data.name_attributes.iter().any(|a| match a {
                    NameAttribute::NoSelect => true,
                    NameAttribute::Extension(ext) => ext.eq_ignore_ascii_case("\\NonExistent"),
                    _ => false,
                });
                if !unselectable {
                    names.push(listed_name(&data.name));
                }
            }
        }
        Ok(names)
    }

    async fn uidvalidity(&mut self, name: &str) -> Result<u32> {
        let command = format!("STATUS {} (UIDVALIDITY)", quote(name)?);
        for response in self.upstream.command(&command).await? {
            if let Response::MailboxData(MailboxDatum::Status { status, .. }) = response {
                for attribute in status {
                    if let StatusAttribute::UidValidity(v) = attribute {
                        return Ok(v);
                    }
                }
            }
        }
        Ok(0)
    }
}

/// Most folders mirrored per account (see the module documentation).
pub const MAX_FOLDERS: usize = 400;
/// Most bytes of folder names mirrored per account, in all.
pub const MAX_FOLDER_NAME_BYTES: usize = 24 << 10;

/// The names in `listed` that are new (not in `known_names`) and fit,
/// after the folders kept (`known` less `gone`), within [`MAX_FOLDERS`]
/// and [`MAX_FOLDER_NAME_BYTES`]; in LIST order. Warns of those left out.
fn within_bounds(
    known: &[Folder],
    gone: &[Folder],
    listed: &[String],
    known_names: &HashSet<&str>,
) -> Vec<String> {
    let gone: HashSet<u64> = gone.iter().map(|g| g.collection).collect();
    let kept = known.iter().filter(|f| !gone.contains(&f.collection));
    let (mut count, mut bytes) = kept.fold((0usize, 0usize), |(n, b), f| {
        (n + 1, b.saturating_add(name_bytes(&f.name)))
    });
    let mut fits = Vec::new();
    let mut left_out = 0usize;
    for name in listed.iter().filter(|n| !known_names.contains(n.as_str())) {
        let size = name_bytes(name);
        if count < MAX_FOLDERS && bytes.saturating_add(size) <= MAX_FOLDER_NAME_BYTES {
            count += 1;
            bytes = bytes.saturating_add(size);
            fits.push(name.clone());
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        tracing::warn!(
            left_out,
            mirrored = count,
            "upstream folders beyond the per-account bounds ({MAX_FOLDERS} folders, \
             {MAX_FOLDER_NAME_BYTES} bytes of names) are not mirrored"
        );
    }
    fits
}

/// What a folder's name weighs: the longer of its two forms (decoded CJK
/// is longer than its modified UTF-7).
fn name_bytes(wire: &str) -> usize {
    wire.len().max(display_name(wire).len())
}

/// The collection for a new upstream folder: a mail collection of the same
/// name the principal already has (one the server created with the
/// principal, say INBOX) is adopted, emptied in a new epoch so that only the
/// upstream's mail is in it; otherwise a new one.
fn adopt_or_add(
    store: &mut tidings_store_sqlite::SqliteStore,
    principal: u64,
    known: &[Folder],
    name: &str,
) -> Result<u64> {
    let existing = store.owned_collections(principal)?.into_iter().find(|c| {
        c.kind == CollectionKind::Mail
            && c.name == name
            && !known.iter().any(|f| f.collection == c.id)
    });
    match existing {
        Some(collection) => {
            store.recreate_collection(collection.id)?;
            Ok(collection.id)
        }
        None => store.add_collection(principal, CollectionKind::Mail, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(collection: u64, name: &str) -> Folder {
        Folder {
            collection,
            name: name.to_owned(),
            uidvalidity: 1,
            highestmodseq: 0,
        }
    }

    fn names(known: &[Folder], gone: &[Folder], listed: &[String]) -> Vec<String> {
        let known_names = known.iter().map(|f| f.name.as_str()).collect();
        within_bounds(known, gone, listed, &known_names)
    }

    #[test]
    fn a_folder_flood_is_mirrored_only_up_to_the_bounds() {
        // Mail to mayor+<name>@ creates a folder each (plus-addressing).
        let known = vec![folder(1, "INBOX"), folder(2, "Sent")];
        let mut listed: Vec<String> = (0..5_000).map(|n| format!("spam-{n}")).collect();
        listed.extend(["INBOX".to_owned(), "Sent".to_owned()]);
        let added = names(&known, &[], &listed);
        assert_eq!(added.len(), MAX_FOLDERS - 2, "the kept folders count");
        assert_eq!(added[0], "spam-0", "in LIST order");

        let long: Vec<String> = (0..300)
            .map(|n| format!("{n:03}{}", "x".repeat(197)))
            .collect();
        let added = names(&known, &[], &long);
        let bytes: usize = added.iter().map(String::len).sum::<usize>() + "INBOXSent".len();
        assert!(bytes <= MAX_FOLDER_NAME_BYTES, "{bytes}");
        assert!(added.len() < 300);
    }

    #[test]
    fn folders_mirrored_already_keep_their_place() {
        // Full: a new folder waits, whatever its name; one gone makes room.
        let known: Vec<Folder> = (0..MAX_FOLDERS as u64)
            .map(|n| folder(n, &format!("f{n}")))
            .collect();
        let mut listed: Vec<String> = known.iter().map(|f| f.name.clone()).collect();
        listed.insert(0, "A new one".to_owned());
        assert!(names(&known, &[], &listed).is_empty());
        let gone = vec![known[7].clone()];
        assert_eq!(names(&known, &gone, &listed), ["A new one"]);
    }
}
