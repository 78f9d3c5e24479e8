//! The folder list: LIST upstream against the mirrored folders. A new name
//! becomes a collection; a name that vanished while a new one appeared with
//! the same UIDVALIDITY was renamed (IMAP keeps UIDVALIDITY across RENAME),
//! so the collection is kept and renamed, and devices keep their copies; a
//! folder gone for good takes its collection with it.

use crate::account::Account;
use crate::session::quote;
use crate::state::{self, Folder};
use async_imap::imap_proto::{MailboxDatum, NameAttribute, Response, StatusAttribute};
use tidings::Result;
use tidings::proto::CollectionKind;

impl Account {
    /// Reconciles the mirrored folders with LIST; returns them afterwards.
    pub async fn sync_folder_list(&mut self) -> Result<Vec<Folder>> {
        let listed = self.list().await?;
        let known = self.folders()?;
        let mut gone: Vec<Folder> = known
            .iter()
            .filter(|f| !listed.contains(&f.name))
            .cloned()
            .collect();
        let mut appeared = Vec::new();
        for name in listed
            .iter()
            .filter(|n| !known.iter().any(|f| &f.name == *n))
        {
            appeared.push((name.clone(), self.uidvalidity(name).await?));
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
                        store.rename_collection(folder.collection, name)?;
                        state::rename_folder(store.companion_sql(), folder.collection, name)?;
                    }
                    None => {
                        let collection = adopt_or_add(store, principal, &known, name)?;
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
                    names.push(data.name.to_string());
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
