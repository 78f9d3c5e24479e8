//! Device operations written back upstream first, then mirrored into the
//! store: the upstream is the source of truth, so a change it refused is
//! never shown to devices as done.
//!
//! A message deleted upstream in the meantime gets
//! [`ErrorKind::NotFound`]: its item is removed from the store in the same
//! step, so the device that asked (and every other) converges on the next
//! delta.

use crate::account::{Account, blocking};
use crate::imap_ops;
use crate::mirror::remove_item;
use crate::state::{self, Folder, Message};
use tidings::store::ItemStore;
use tidings::sync::mail::ParsedMail;
use tidings::{Error, ErrorKind, Result};

fn gone_upstream() -> Error {
    Error::new(ErrorKind::NotFound, "the message was deleted upstream")
}

fn not_mirrored() -> Error {
    Error::new(ErrorKind::NotFound, "no such mirrored item")
}

impl Account {
    /// Sets `set` and clears `clear` (MailFlag bits) on `item` upstream
    /// (`UID STORE +FLAGS/-FLAGS`, so flags another client changed at the
    /// same time survive), then in the store. Returns the item's new bits.
    pub async fn set_flags(
        &mut self,
        collection: u64,
        item: u64,
        set: u32,
        clear: u32,
    ) -> Result<u32> {
        let (folder, message) = self.locate(collection, item)?;
        self.select(&folder.name).await?;
        let Some(current) = imap_ops::flags_of(&mut self.upstream, message.uid).await? else {
            return Err(self.forget(collection, message)?);
        };
        imap_ops::store_flags(&mut self.upstream, message.uid, set, clear).await?;
        let bits = (current & !clear) | set;
        self.transaction(|store| {
            store.set_flags(collection, item, bits)?;
            state::put_message(
                store.companion_sql(),
                collection,
                Message {
                    flags: bits,
                    ..message
                },
            )
        })?;
        Ok(bits)
    }

    /// Moves `item` to folder `to` upstream (`UID MOVE`), then in the store:
    /// the raw message is re-filed under its new UID without downloading it
    /// again. Returns its item id in `to`.
    pub async fn move_item(&mut self, collection: u64, item: u64, to: u64) -> Result<u64> {
        let (folder, message) = self.locate(collection, item)?;
        let target = self
            .reading(|store| state::folder(store.companion_sql(), to))?
            .ok_or_else(not_mirrored)?;
        self.select(&folder.name).await?;
        if imap_ops::flags_of(&mut self.upstream, message.uid)
            .await?
            .is_none()
        {
            return Err(self.forget(collection, message)?);
        }
        let new_uid = imap_ops::uid_move(&mut self.upstream, message.uid, &target.name).await?;
        let preview = self.preview_bytes;
        // The message is read before the transaction opens (its bytes never
        // change): a costly one must not hold the store's write lock.
        let stored: Option<bytes::Bytes> = self.reading(|store| store.raw_message(item))?;
        let read = match (&new_uid, stored) {
            (Some(_), Some(raw)) => {
                let mail = blocking(|| ParsedMail::parse(&raw, preview))?;
                Some((raw, mail))
            }
            _ => None,
        };
        self.transaction(|store| {
            remove_item(store, collection, item)?;
            state::remove_message(store.companion_sql(), collection, message.uid)?;
            // Without COPYUID (or the raw bytes) the next sync of the target
            // folder fetches it.
            let (Some(uid), Some((raw, mail))) = (new_uid, read) else {
                return Ok(0);
            };
            let copies = store.add_parsed_message_copies(&[to], &raw, &mail)?;
            let moved = copies.first().copied().unwrap_or(0);
            if message.flags != 0 {
                store.set_flags(to, moved, message.flags)?;
            }
            let row = Message {
                uid,
                item: moved,
                flags: message.flags,
            };
            state::put_message(store.companion_sql(), to, row)?;
            Ok(moved)
        })
    }

    /// Deletes `item` upstream (`\Deleted` + `UID EXPUNGE`, which expunges
    /// that message only), then in the store.
    pub async fn delete_item(&mut self, collection: u64, item: u64) -> Result<()> {
        let (folder, message) = self.locate(collection, item)?;
        self.select(&folder.name).await?;
        if imap_ops::flags_of(&mut self.upstream, message.uid)
            .await?
            .is_none()
        {
            return Err(self.forget(collection, message)?);
        }
        let uid = message.uid;
        imap_ops::expunge(&mut self.upstream, uid).await?;
        self.transaction(|store| {
            remove_item(store, collection, item)?;
            state::remove_message(store.companion_sql(), collection, uid)
        })
    }

    fn locate(&self, collection: u64, item: u64) -> Result<(Folder, Message)> {
        self.reading(|store| {
            let folder =
                state::folder(store.companion_sql(), collection)?.ok_or_else(not_mirrored)?;
            let message = state::message_by_item(store.companion_sql(), collection, item)?
                .ok_or_else(not_mirrored)?;
            Ok((folder, message))
        })
    }

    /// Selects `name` unless it is selected already.
    async fn select(&mut self, name: &str) -> Result<()> {
        imap_ops::select(&mut self.upstream, name).await.map(drop)
    }

    /// The message is gone upstream: drop it from the store too, and return
    /// the error the device gets.
    fn forget(&self, collection: u64, message: Message) -> Result<Error> {
        self.transaction(|store| {
            remove_item(store, collection, message.item)?;
            state::remove_message(store.companion_sql(), collection, message.uid)
        })?;
        Ok(gone_upstream())
    }
}
