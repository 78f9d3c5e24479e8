//! [`ServerStore`]: what the server's own code needs of a store beyond the
//! core's traits (the admin commands, mail delivery, imports, the watcher),
//! so that the same code runs over SQLite ([`SqliteStore`]) and over
//! PostgreSQL ([`PostgresStore`]).
//!
//! Both stores have these methods under the same names already; the trait
//! only names what they share.

use crate::store::SqliteStore;
use bytes::Bytes;
use std::collections::BTreeMap;
use tidings::Result;
use tidings::proto::CollectionKind;
use tidings::store::{Collection, DeviceRecord, Principal, Store};
use tidings::sync::mail::ParsedMail;
use tidings::sync::{LogHead, Rights};
pub use tidings_store_postgres::PostgresStore;

/// Whether `db` (what `--db` says) names a PostgreSQL database rather than
/// a SQLite file: a `postgres://` or `postgresql://` URL, or a `key=value`
/// connection string naming a `host` or a `dbname`.
pub fn is_postgres(db: &str) -> bool {
    let key_value = db.split_whitespace().all(|w| w.contains('='))
        && db
            .split_whitespace()
            .any(|w| w.starts_with("host=") || w.starts_with("dbname="));
    db.starts_with("postgres://") || db.starts_with("postgresql://") || key_value
}

/// A store the server can administer and serve from.
pub trait ServerStore: Store + Send + 'static {
    /// Runs `f` in one transaction: committed if it returns `Ok`, rolled
    /// back if it returns `Err`.
    fn transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T>;
    /// Runs `f` as one unit: a transaction of its own, or a savepoint
    /// inside the open one.
    fn atomic<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T>;
    /// A persistent value of the server's own (its key, its addresses).
    fn meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets a persistent value of the server's own.
    fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()>;
    /// Adds a principal; returns its id.
    fn add_principal(&mut self, name: &str, email: &str) -> Result<u64>;
    /// Adds a collection owned by `owner`; returns its id.
    fn add_collection(&mut self, owner: u64, kind: CollectionKind, name: &str) -> Result<u64>;
    /// Delegates `collection` to `principal` with `rights` (none removes it).
    fn grant(&mut self, collection: u64, principal: u64, rights: Rights) -> Result<()>;
    /// Every principal, by id.
    fn principals(&self) -> Result<Vec<Principal>>;
    /// Every collection, by id.
    fn collections(&self) -> Result<Vec<Collection>>;
    /// The collections `owner` owns, by id.
    fn owned_collections(&self, owner: u64) -> Result<Vec<Collection>>;
    /// Every delegation, as (principal, collection) to rights bits.
    fn grants(&self) -> Result<BTreeMap<(u64, u64), u32>>;
    /// Who may see `collection` (its owner and its delegates), as
    /// (principal, rights bits), by principal.
    fn collection_readers(&self, collection: u64) -> Result<Vec<(u64, u32)>>;
    /// Every device.
    fn devices(&self) -> Result<Vec<DeviceRecord>>;
    /// Every device's policy version (0: none set), by device id.
    fn policy_versions(&self) -> Result<Vec<(u64, u64)>>;
    /// The head of one collection.
    fn head(&self, collection: u64) -> Result<LogHead>;
    /// The head of every collection.
    fn heads(&self) -> Result<Vec<LogHead>>;
    /// Stores a raw RFC 5322 message in `collection`; returns its item id.
    fn add_message(&mut self, collection: u64, raw: &[u8], preview_bytes: usize) -> Result<u64>;
    /// Stores one copy of `raw` in each of `collections`, parsed once;
    /// returns their ids in that order.
    fn add_message_copies(
        &mut self,
        collections: &[u64],
        raw: &[u8],
        preview_bytes: usize,
    ) -> Result<Vec<u64>>;
    /// Stores one copy of `raw`, read beforehand as `mail`, in each of
    /// `collections`; returns their ids in that order. Read the mail
    /// before a transaction opens, so a costly mail does not hold it.
    fn add_parsed_message_copies(
        &mut self,
        collections: &[u64],
        raw: &[u8],
        mail: &ParsedMail,
    ) -> Result<Vec<u64>>;
    /// The raw message of a mail item, if kept.
    fn raw_message(&self, id: u64) -> Result<Option<Bytes>>;
    /// Forgets `collection`'s removals up to `up_to` and raises its floor
    /// there (sync.md §4).
    fn compact(&mut self, collection: u64, up_to: u64) -> Result<()>;
    /// Frees the raw messages no live item reads (left by older builds)
    /// among the next `window` ids above `after`; returns the id to go on
    /// from, or `None` at the end.
    fn free_removed_messages(&mut self, after: u64, window: usize) -> Result<Option<u64>>;
}

/// Both stores spell these methods alike: the trait calls them.
macro_rules! server_store {
    ($store:ty, atomic = $atomic:ident) => {
        impl ServerStore for $store {
            fn transaction<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
                <$store>::transaction(self, f)
            }
            fn atomic<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
                <$store>::$atomic(self, f)
            }
            fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
                <$store>::meta(self, key)
            }
            fn set_meta(&mut self, key: &str, value: &[u8]) -> Result<()> {
                <$store>::set_meta(self, key, value)
            }
            fn add_principal(&mut self, name: &str, email: &str) -> Result<u64> {
                <$store>::add_principal(self, name, email)
            }
            fn add_collection(
                &mut self,
                owner: u64,
                kind: CollectionKind,
                name: &str,
            ) -> Result<u64> {
                <$store>::add_collection(self, owner, kind, name)
            }
            fn grant(&mut self, collection: u64, principal: u64, rights: Rights) -> Result<()> {
                <$store>::grant(self, collection, principal, rights)
            }
            fn principals(&self) -> Result<Vec<Principal>> {
                <$store>::principals(self)
            }
            fn collections(&self) -> Result<Vec<Collection>> {
                <$store>::collections(self)
            }
            fn owned_collections(&self, owner: u64) -> Result<Vec<Collection>> {
                <$store>::owned_collections(self, owner)
            }
            fn grants(&self) -> Result<BTreeMap<(u64, u64), u32>> {
                <$store>::grants(self)
            }
            fn collection_readers(&self, collection: u64) -> Result<Vec<(u64, u32)>> {
                <$store>::collection_readers(self, collection)
            }
            fn devices(&self) -> Result<Vec<DeviceRecord>> {
                <$store>::devices(self)
            }
            fn policy_versions(&self) -> Result<Vec<(u64, u64)>> {
                <$store>::policy_versions(self)
            }
            fn head(&self, collection: u64) -> Result<LogHead> {
                <$store>::head(self, collection)
            }
            fn heads(&self) -> Result<Vec<LogHead>> {
                <$store>::heads(self)
            }
            fn add_message(
                &mut self,
                collection: u64,
                raw: &[u8],
                preview_bytes: usize,
            ) -> Result<u64> {
                <$store>::add_message(self, collection, raw, preview_bytes)
            }
            fn add_message_copies(
                &mut self,
                collections: &[u64],
                raw: &[u8],
                preview_bytes: usize,
            ) -> Result<Vec<u64>> {
                <$store>::add_message_copies(self, collections, raw, preview_bytes)
            }
            fn add_parsed_message_copies(
                &mut self,
                collections: &[u64],
                raw: &[u8],
                mail: &ParsedMail,
            ) -> Result<Vec<u64>> {
                <$store>::add_parsed_message_copies(self, collections, raw, mail)
            }
            fn raw_message(&self, id: u64) -> Result<Option<Bytes>> {
                <$store>::raw_message(self, id)
            }
            fn compact(&mut self, collection: u64, up_to: u64) -> Result<()> {
                <$store>::compact(self, collection, up_to)
            }
            fn free_removed_messages(&mut self, after: u64, window: usize) -> Result<Option<u64>> {
                <$store>::free_removed_messages(self, after, window)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::is_postgres;

    #[test]
    fn postgres_connection_strings_are_told_from_file_names() {
        for db in [
            "postgres://tidings@db.internal/tidings",
            "postgresql://localhost",
            "host=127.0.0.1 port=5432 user=tidings dbname=tidings",
            "dbname=tidings",
        ] {
            assert!(is_postgres(db), "{db}");
        }
        for db in [
            "tidings.db",
            "/var/lib/tidings/town.db",
            "a=b",
            "my host=x.db notes",
        ] {
            assert!(!is_postgres(db), "{db}");
        }
    }
}

server_store!(SqliteStore, atomic = atomic);
// PostgreSQL's transaction is a savepoint inside an open one already.
server_store!(PostgresStore, atomic = transaction);
