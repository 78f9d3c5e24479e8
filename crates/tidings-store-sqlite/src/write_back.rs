//! [`WriteBack`]: device writes to collections whose truth lives elsewhere.
//!
//! A collection mirrored from an upstream server (the IMAP gateway's) must
//! not change in the store before it changed upstream. The core applies a
//! device's operation through the store traits of a [`Batch`](crate::Batch);
//! a pool given a write-back ([`SqlitePool::with_write_back`]) hands every
//! flag change, upsert and removal on a collection the write-back claims to
//! it instead, with the batch's writer (inside its transaction), so that the
//! upstream's answer, the store's change and the operation's recorded result
//! commit together.
//!
//! [`SqlitePool::with_write_back`]: crate::SqlitePool::with_write_back

use crate::SqliteStore;
use bytes::Bytes;
use tidings::Result;

/// Where a device's writes to some collections go first.
///
/// Each method is called on a store worker thread (never an async one) and
/// may block for the upstream's answer; it must write the store itself (the
/// plain [`ItemStore`](tidings::store::ItemStore) call on `store` does what
/// the batch would have done) and return what that call returns.
pub trait WriteBack: Send + Sync + core::fmt::Debug {
    /// Whether writes to `collection` go through this write-back.
    fn claims(&self, store: &SqliteStore, collection: u64) -> Result<bool>;
    /// `ItemStore::set_flags` on a claimed collection.
    fn set_flags(
        &self,
        store: &mut SqliteStore,
        collection: u64,
        id: u64,
        flags: u32,
    ) -> Result<u64>;
    /// `ItemStore::upsert` into a claimed collection (a move's arrival).
    fn upsert(
        &self,
        store: &mut SqliteStore,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)>;
    /// `ItemStore::answer_invitation` in a claimed collection: by default
    /// an upsert, the comment dropped.
    fn answer_invitation(
        &self,
        store: &mut SqliteStore,
        collection: u64,
        id: u64,
        packed: Bytes,
        comment: &str,
    ) -> Result<(u64, u64)> {
        let _ = comment;
        self.upsert(store, collection, Some(id), packed, 0)
    }
    /// `ItemStore::remove` from a claimed collection.
    fn remove(&self, store: &mut SqliteStore, collection: u64, id: u64) -> Result<u64>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Durability, SqlitePool};
    use std::sync::{Arc, Mutex};
    use tidings::proto::CollectionKind;
    use tidings::store::ItemStore;
    use tidings::{Error, ErrorKind};

    /// Claims one collection; refuses its removals, records its flag changes.
    #[derive(Debug, Default)]
    struct Upstream {
        claimed: u64,
        flags: Mutex<Vec<(u64, u32)>>,
    }

    impl WriteBack for Upstream {
        fn claims(&self, _: &SqliteStore, collection: u64) -> Result<bool> {
            Ok(collection == self.claimed)
        }
        fn set_flags(&self, store: &mut SqliteStore, c: u64, id: u64, flags: u32) -> Result<u64> {
            self.flags.lock().expect("flags").push((id, flags));
            store.set_flags(c, id, flags)
        }
        fn upsert(
            &self,
            _: &mut SqliteStore,
            _: u64,
            _: Option<u64>,
            _: Bytes,
            _: u32,
        ) -> Result<(u64, u64)> {
            Err(Error::new(ErrorKind::UpstreamRefused, "no"))
        }
        fn remove(&self, _: &mut SqliteStore, _: u64, _: u64) -> Result<u64> {
            Err(Error::new(ErrorKind::UpstreamRefused, "no"))
        }
    }

    #[test]
    fn a_batch_hands_writes_to_claimed_collections_to_the_write_back_only() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store =
            SqliteStore::open(&dir.path().join("w.db"), Durability::Process).expect("open");
        let owner = store
            .add_principal("P", "p@town.example")
            .expect("principal");
        let mirrored = store
            .add_collection(owner, CollectionKind::Mail, "INBOX")
            .expect("mirrored");
        let local = store
            .add_collection(owner, CollectionKind::Mail, "Notes")
            .expect("local");
        let raw = b"From: a@b\r\nSubject: s\r\n\r\nbody\r\n";
        let in_mirror = store.add_message(mirrored, raw, 64).expect("mail");
        let in_local = store.add_message(local, raw, 64).expect("mail");
        let hook = Arc::new(Upstream {
            claimed: mirrored,
            ..Upstream::default()
        });
        let pool = SqlitePool::new(store).with_write_back(hook.clone());

        let mut batch = pool.batch().expect("batch");
        batch.set_flags(mirrored, in_mirror, 1).expect("routed");
        batch.set_flags(local, in_local, 1).expect("local");
        assert_eq!(
            batch.remove(mirrored, in_mirror).map_err(|e| e.kind()),
            Err(ErrorKind::UpstreamRefused)
        );
        batch.remove(local, in_local).expect("local removal");
        batch.finish().expect("commit");

        assert_eq!(*hook.flags.lock().expect("flags"), vec![(in_mirror, 1)]);
        pool.read(|s| {
            assert_eq!(s.item(mirrored, in_mirror)?.map(|(_, f)| f), Some(1));
            assert_eq!(s.item(local, in_local)?, None);
            Ok(())
        })
        .expect("read");
        // Writes outside a batch (admin helpers, delivery) are not routed.
        pool.write(|s| s.remove(mirrored, in_mirror))
            .expect("admin removal");
    }
}
