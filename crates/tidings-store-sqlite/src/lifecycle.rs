//! What an upstream mirror (`tidings-upstream`) needs beyond the core's
//! traits: collections that are renamed, recreated or deleted because their
//! upstream folder was, and its own tables in the same transactions.

use super::{SqliteStore, from_sql, storage, to_sql};
use rusqlite::params;
use tidings::{Error, ErrorKind, Result};

fn no_collection() -> Error {
    Error::new(ErrorKind::NotFound, "no such collection")
}

impl SqliteStore {
    /// The database connection, for a companion crate's own tables (named
    /// with its prefix) written inside [`SqliteStore::transaction`], so that
    /// its bookkeeping commits with the change it describes. Never write the
    /// store's own tables through it.
    pub fn companion_sql(&self) -> &rusqlite::Connection {
        &self.conn
    }

    /// Renames `collection` (its id, items and cursors stay).
    pub fn rename_collection(&mut self, collection: u64, name: &str) -> Result<()> {
        let changed = self
            .conn
            .execute(
                "UPDATE collections SET name = ?2 WHERE id = ?1",
                params![to_sql(collection), name],
            )
            .map_err(storage)?;
        if changed == 0 {
            return Err(no_collection());
        }
        Ok(())
    }

    /// Starts `collection` afresh in a new epoch with no items (its upstream
    /// folder was recreated: IMAP's UIDVALIDITY changed). Every device's
    /// cursor then gets `ResyncRequired { RECREATED }`. Returns the new epoch.
    pub fn recreate_collection(&mut self, collection: u64) -> Result<u64> {
        self.atomic(|store| {
            store.head(collection)?;
            store.drop_items(collection)?;
            store
                .conn
                .query_row(
                    "UPDATE collections SET epoch = epoch + 1, modseq = 0, floor = 0
                     WHERE id = ?1 RETURNING epoch",
                    [to_sql(collection)],
                    |row| row.get::<_, i64>(0),
                )
                .map(from_sql)
                .map_err(storage)
        })
    }

    /// Deletes `collection`, its items, raw messages and delegations.
    pub fn delete_collection(&mut self, collection: u64) -> Result<()> {
        self.atomic(|store| {
            store.head(collection)?;
            store.drop_items(collection)?;
            store
                .conn
                .execute(
                    "DELETE FROM grants WHERE collection = ?1",
                    [to_sql(collection)],
                )
                .map_err(storage)?;
            store
                .conn
                .execute(
                    "DELETE FROM collections WHERE id = ?1",
                    [to_sql(collection)],
                )
                .map(drop)
                .map_err(storage)
        })
    }

    fn drop_items(&mut self, collection: u64) -> Result<()> {
        super::shared::drop_messages(&self.conn, collection)?;
        self.conn
            .execute(
                "DELETE FROM items WHERE collection = ?1",
                [to_sql(collection)],
            )
            .map(drop)
            .map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings::proto::ResyncReason;
    use tidings::proto::{CollectionKind, Cursor};
    use tidings::store::{Directory, ItemStore};
    use tidings::sync::{Delta, PageLimits};

    const RAW: &[u8] = b"From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n";

    fn store_with_mail() -> (SqliteStore, u64, u64) {
        let mut store = SqliteStore::open_in_memory().expect("store");
        let owner = store
            .add_principal("A", "a@example.org")
            .expect("principal");
        let inbox = store
            .add_collection(owner, CollectionKind::Mail, "INBOX")
            .expect("collection");
        let id = store.add_message(inbox, RAW, 64).expect("message");
        (store, inbox, id)
    }

    #[test]
    fn rename_keeps_id_and_items() {
        let (mut store, inbox, id) = store_with_mail();
        store.rename_collection(inbox, "Archive").expect("rename");
        assert_eq!(store.collection(inbox).expect("collection").name, "Archive");
        assert!(store.item(inbox, id).expect("item").is_some());
        let missing = store
            .rename_collection(inbox + 1000, "x")
            .expect_err("missing");
        assert_eq!(missing.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn recreate_empties_and_bumps_epoch_so_cursors_resync() {
        let (mut store, inbox, id) = store_with_mail();
        let before = store.head(inbox).expect("head");
        let epoch = store.recreate_collection(inbox).expect("recreate");
        assert_eq!(epoch, before.epoch + 1);
        assert!(store.item(inbox, id).expect("item").is_none());
        assert!(store.raw_message(id).expect("raw").is_none());
        let cursor = Cursor {
            collection_id: inbox,
            epoch: before.epoch,
            modseq: before.modseq,
            ..Cursor::default()
        };
        match store.delta(&cursor, &PageLimits::default()).expect("delta") {
            Delta::Resync(r) => assert_eq!(r.reason, ResyncReason::Recreated as i32),
            Delta::Page(_) => panic!("an old epoch's cursor must get a resync"),
        }
    }

    #[test]
    fn delete_removes_collection_and_messages() {
        let (mut store, inbox, id) = store_with_mail();
        store.delete_collection(inbox).expect("delete");
        assert_eq!(
            store.collection(inbox).expect_err("gone").kind(),
            ErrorKind::NotFound
        );
        assert!(store.raw_message(id).expect("raw").is_none());
    }
}
