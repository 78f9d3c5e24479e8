//! The database schema, created or upgraded on open.

use super::storage;
use rusqlite::Connection;
use tidings::{Error, ErrorKind, Result};

/// The schema this build writes. Older files are migrated forward; a newer
/// one is refused rather than misread.
pub(crate) const VERSION: i64 = 9;

const V1: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value NOT NULL);
INSERT INTO meta (key, value) VALUES ('next_id', 0);
CREATE TABLE principals (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE
);
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    name TEXT NOT NULL,
    owner INTEGER NOT NULL REFERENCES principals (id),
    epoch INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    floor INTEGER NOT NULL
);
CREATE TABLE grants (
    principal INTEGER NOT NULL REFERENCES principals (id),
    collection INTEGER NOT NULL REFERENCES collections (id),
    rights INTEGER NOT NULL,
    PRIMARY KEY (principal, collection)
);
-- One row per item: its latest state, indexed by the modseq of its latest
-- change (the change log, coalesced). Removed items stay as tombstones
-- (packed NULL) until compaction.
CREATE TABLE items (
    collection INTEGER NOT NULL REFERENCES collections (id),
    id INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    content_modseq INTEGER NOT NULL,
    packed BLOB,
    flags INTEGER NOT NULL,
    PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX items_by_modseq ON items (collection, modseq);
CREATE TABLE messages (id INTEGER PRIMARY KEY, raw BLOB NOT NULL);
CREATE TABLE activations (
    lookup TEXT PRIMARY KEY,
    principal INTEGER NOT NULL REFERENCES principals (id),
    hash BLOB NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    attempts_left INTEGER NOT NULL,
    burned INTEGER NOT NULL
);
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    principal INTEGER NOT NULL REFERENCES principals (id),
    public_key BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    last_hello INTEGER,
    revoked INTEGER NOT NULL DEFAULT 0,
    wipe_state INTEGER NOT NULL DEFAULT 0,
    wipe_id INTEGER NOT NULL DEFAULT 0,
    policy BLOB NOT NULL DEFAULT x''
);
CREATE TABLE cursors (
    device INTEGER NOT NULL REFERENCES devices (id),
    collection INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    modseq INTEGER NOT NULL,
    floor INTEGER NOT NULL,
    partial INTEGER NOT NULL,
    PRIMARY KEY (device, collection)
) WITHOUT ROWID;
CREATE TABLE applied_operations (
    device INTEGER NOT NULL REFERENCES devices (id),
    seq INTEGER NOT NULL,
    op_id BLOB NOT NULL,
    result BLOB NOT NULL,
    PRIMARY KEY (device, seq)
) WITHOUT ROWID;
CREATE INDEX applied_by_op ON applied_operations (device, op_id);
";

/// Version 2: the decoded bytes of each delivered message's parts, in pieces
/// of [`PART_CHUNK`] bytes, so that a range fetch reads only the pieces it
/// needs instead of parsing the whole message (O(range), not O(message)).
/// A rowid table, not WITHOUT ROWID: its rows are large.
const V2: &str = "
CREATE TABLE parts (
    message INTEGER NOT NULL,
    part INTEGER NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (message, part)
) WITHOUT ROWID;
CREATE TABLE part_chunks (
    message INTEGER NOT NULL,
    part INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (message, part, seq)
);
";

/// Version 3: a principal's own collections by index. Every reconnect
/// lists what its principal may see (two or three times); without it each
/// list scanned every collection of every principal.
const V3: &str = "CREATE INDEX collections_by_owner ON collections (owner);";

/// Version 4: each item keeps the patch from its previous content to its
/// current one (sync.md §3.1) and the content modseq it starts from; NULL
/// when there is none (a new item, or one whose patch would not pay).
const V4: &str = "
ALTER TABLE items ADD COLUMN patch_base INTEGER;
ALTER TABLE items ADD COLUMN patch BLOB;
";

/// Version 5: who a collection is delegated to, by index. Every change
/// reads its collection's readers for the page prepared once for all its
/// devices, and removing a collection deletes its grants: each scanned
/// every delegation of every principal.
const V5: &str = "CREATE INDEX grants_by_collection ON grants (collection);";

/// Version 6: files devices upload for the mail they send (sync.md §6),
/// in the order they arrive, one row per part; `seq` orders a device's
/// uploads oldest first.
const V6: &str = "
CREATE TABLE uploads (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device INTEGER NOT NULL REFERENCES devices (id),
    upload_id BLOB NOT NULL,
    total_size INTEGER NOT NULL,
    held INTEGER NOT NULL DEFAULT 0,
    UNIQUE (device, upload_id)
);
CREATE TABLE upload_parts (
    upload INTEGER NOT NULL,
    at_byte INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (upload, at_byte)
);
";

/// Version 7: when each upload was last started or appended to, so one
/// left idle is discarded (sync.md §6). Uploads held before it count as
/// idle since 1970: the first check discards them.
const V7: &str = "ALTER TABLE uploads ADD COLUMN touched_ms INTEGER NOT NULL DEFAULT 0;";

/// Version 8: copies of one delivered message share its bytes (see
/// `shared.rs`). Messages stored before it each hold their own bytes, as
/// they are: nothing to migrate. `IF NOT EXISTS`: files downgraded by
/// tests to older versions keep these tables.
const V8: &str = "
CREATE TABLE IF NOT EXISTS copies (id INTEGER PRIMARY KEY, content INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS copies_by_content ON copies (content);
CREATE TABLE IF NOT EXISTS kept (id INTEGER PRIMARY KEY);
";

/// Version 9: items by id alone, so removing a mail finds at once whether
/// its id is still live in another collection (moved there) before its
/// bytes are freed. Bytes older builds kept after a removal are freed by
/// housekeeping, in batches, not here: a file holding many would keep the
/// process from opening it for as long as that takes.
const V9: &str = "CREATE INDEX IF NOT EXISTS items_by_id ON items (id);";

/// Bytes per stored piece of a part: one range answer (48 KiB) touches at
/// most two.
pub(super) const PART_CHUNK: usize = 64 << 10;

pub(super) fn migrate(conn: &Connection) -> Result<()> {
    // IMMEDIATE: two processes opening a new file at once create it once.
    conn.execute_batch("BEGIN IMMEDIATE").map_err(storage)?;
    let result = upgrade(conn);
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    conn.execute_batch(end).map_err(storage)?;
    result
}

fn upgrade(conn: &Connection) -> Result<()> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(storage)?;
    match version {
        0 => conn
            .execute_batch(&format!(
                "{V1} {V2} {V3} {V4} {V5} {V6} {V7} {V8} {V9} PRAGMA user_version = {VERSION};"
            ))
            .map_err(storage),
        // A version 1 file: add the part tables and split the parts of the
        // messages it holds, once, so every message is served by range.
        1 => {
            conn.execute_batch(&format!(
                "{V2} {V3} {V4} {V5} {V6} {V7} {V8} {V9} PRAGMA user_version = {VERSION};"
            ))
            .map_err(storage)?;
            super::parts::split_stored_messages(conn)
        }
        2 => conn
            .execute_batch(&format!(
                "{V3} {V4} {V5} {V6} {V7} {V8} {V9} PRAGMA user_version = {VERSION};"
            ))
            .map_err(storage),
        3 => conn
            .execute_batch(&format!(
                "{V4} {V5} {V6} {V7} {V8} {V9} PRAGMA user_version = {VERSION};"
            ))
            .map_err(storage),
        4 => conn
            .execute_batch(&format!(
                "{V5} {V6} {V7} {V8} {V9} PRAGMA user_version = {VERSION};"
            ))
            .map_err(storage),
        5 => conn
            .execute_batch(&format!(
                "{V6} {V7} {V8} {V9} PRAGMA user_version = {VERSION};"
            ))
            .map_err(storage),
        6 => conn
            .execute_batch(&format!("{V7} {V8} {V9} PRAGMA user_version = {VERSION};"))
            .map_err(storage),
        7 => conn
            .execute_batch(&format!("{V8} {V9} PRAGMA user_version = {VERSION};"))
            .map_err(storage),
        8 => conn
            .execute_batch(&format!("{V9} PRAGMA user_version = {VERSION};"))
            .map_err(storage),
        VERSION => Ok(()),
        _ => Err(Error::new(
            ErrorKind::Storage,
            "database written by a newer server version",
        )),
    }
}

#[cfg(test)]
mod tests {
    use crate::{Durability, SqliteStore};

    fn has_owner_index(store: &SqliteStore) -> bool {
        store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'collections_by_owner'",
                [],
                |row| row.get::<_, i64>(0),
            )
            .expect("schema")
            == 1
    }

    #[test]
    fn a_version_2_file_gets_the_owner_index_and_the_index_is_used() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v2.db");
        {
            let store = SqliteStore::open(&path, Durability::Process).expect("new");
            assert!(has_owner_index(&store));
            store
                .conn
                .execute_batch(
                    "DROP INDEX collections_by_owner;
                     DROP INDEX grants_by_collection;
                     ALTER TABLE items DROP COLUMN patch;
                     ALTER TABLE items DROP COLUMN patch_base;
                     DROP TABLE upload_parts;
                     DROP TABLE uploads;
                     PRAGMA user_version = 2;",
                )
                .expect("downgraded");
        }
        let store = SqliteStore::open(&path, Durability::Process).expect("upgraded");
        assert!(has_owner_index(&store));
        let plan: String = store
            .conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM collections WHERE owner = 1",
                [],
                |row| row.get(3),
            )
            .expect("plan");
        assert!(plan.contains("collections_by_owner"), "{plan}");
    }

    #[test]
    fn a_version_4_file_gets_the_grants_index_and_the_readers_query_uses_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v4.db");
        {
            let store = SqliteStore::open(&path, Durability::Process).expect("new");
            store
                .conn
                .execute_batch(
                    "DROP INDEX grants_by_collection; DROP TABLE upload_parts; DROP TABLE uploads;
                     PRAGMA user_version = 4;",
                )
                .expect("downgraded");
        }
        let store = SqliteStore::open(&path, Durability::Process).expect("upgraded");
        let plan: String = store
            .conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT principal, rights FROM grants WHERE collection = 1",
                [],
                |row| row.get(3),
            )
            .expect("plan");
        assert!(plan.contains("grants_by_collection"), "{plan}");
    }

    #[test]
    fn a_version_3_file_keeps_its_items_and_gains_patches() {
        use tidings::proto::{CalendarEvent, CalendarItem, CollectionKind, Cursor, item::Kind};
        use tidings::store::{Directory, ItemStore};
        use tidings::sync::{Delta, PageLimits, pack_item};
        let filler: Vec<String> = (0..80u32).map(|i| (i * 7919 % 1000).to_string()).collect();
        let event = |location: &str| {
            pack_item(Kind::Calendar(CalendarItem {
                id: 1,
                version: 1,
                floating_tzid: filler.join(","),
                master: Some(CalendarEvent {
                    location: location.into(),
                    ..CalendarEvent::default()
                }),
                ..CalendarItem::default()
            }))
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v3.db");
        let (calendar, id, first) = {
            let mut store = SqliteStore::open(&path, Durability::Process).expect("new");
            let owner = store
                .add_principal("Ada", "ada@town.example")
                .expect("principal");
            let calendar = store
                .add_collection(owner, CollectionKind::Calendar, "Calendar")
                .expect("calendar");
            let (id, first) = store.upsert(calendar, None, event("A"), 0).expect("write");
            store
                .conn
                .execute_batch(
                    "DROP INDEX grants_by_collection;
                     ALTER TABLE items DROP COLUMN patch;
                     ALTER TABLE items DROP COLUMN patch_base;
                     DROP TABLE upload_parts;
                     DROP TABLE uploads;
                     PRAGMA user_version = 3;",
                )
                .expect("downgraded");
            (calendar, id, first)
        };
        let mut store = SqliteStore::open(&path, Durability::Process).expect("upgraded");
        assert_eq!(
            store.item(calendar, id).expect("read"),
            Some((event("A"), 0))
        );
        assert!(store.collection(calendar).is_ok());
        store
            .upsert(calendar, Some(id), event("B"), 0)
            .expect("rewrite");
        let cursor = Cursor {
            collection_id: calendar,
            epoch: 1,
            modseq: first,
            ..Cursor::default()
        };
        let limits = PageLimits {
            patches: true,
            ..PageLimits::default()
        };
        match store.delta(&cursor, &limits).expect("delta") {
            Delta::Page(page) => assert_eq!(page.patches.len(), 1, "{page:?}"),
            Delta::Resync(resync) => panic!("{resync:?}"),
        }
    }
}
