//! Copies of one delivered message share its bytes (schema version 8): the
//! first copy holds the raw message and its parts; every other copy is one
//! `copies` row naming it. A send of 25 MiB to nine local recipients then
//! writes 25 MiB (plus its parts) once, not ten times, inside the write
//! transaction every other writer waits for (sync.md §7).
//!
//! A message's bytes go with the last item that reads them: removing an
//! item (or deleting its collection) frees them unless the id is still
//! live elsewhere (moved). A holder whose item goes while copies still name
//! it is listed in `kept` and freed, with its parts, when the last copy
//! goes.

use super::{from_sql, storage, to_sql};
use rusqlite::{Connection, OptionalExtension, params};
use tidings::Result;

/// The message whose bytes message `id` reads: the holder it shares them
/// with, else itself.
pub(super) fn holder(conn: &Connection, id: u64) -> Result<u64> {
    conn.prepare_cached("SELECT content FROM copies WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([to_sql(id)], |row| row.get::<_, i64>(0))
                .optional()
        })
        .map(|content| content.map_or(id, from_sql))
        .map_err(storage)
}

/// Whether message `id` is a holder kept only for its copies (its own item
/// is gone).
pub(super) fn is_kept(conn: &Connection, id: u64) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM kept WHERE id = ?1")
        .and_then(|mut s| s.exists([to_sql(id)]))
        .map_err(storage)
}

/// Records message `id` as sharing `holder`'s bytes.
pub(super) fn add_copy(conn: &Connection, id: u64, holder: u64) -> Result<()> {
    conn.prepare_cached("INSERT INTO copies (id, content) VALUES (?1, ?2)")
        .and_then(|mut s| s.execute(params![to_sql(id), to_sql(holder)]))
        .map(drop)
        .map_err(storage)
}

/// Forgets the messages of `collection`'s items (before the items go), as
/// [`release`] does for each.
pub(super) fn drop_messages(conn: &Connection, collection: u64) -> Result<()> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM items WHERE collection = ?1")
        .and_then(|mut s| {
            s.query_map([to_sql(collection)], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(storage)?;
    for id in ids {
        release(conn, from_sql(id), Some(collection))?;
    }
    Ok(())
}

/// Frees message `id`'s bytes now that its item is gone, unless the id is
/// still live in another collection (a move upserts it into the target
/// before removing it from the source). `dropping`: a collection all of
/// whose items go (its rows count as gone). A copy drops its `copies` row
/// and frees its holder when no copy names it and its own item is gone; a
/// holder still named by copies is kept (see [`is_kept`]); any other
/// holder is freed.
pub(super) fn release(conn: &Connection, id: u64, dropping: Option<u64>) -> Result<()> {
    if live(conn, to_sql(id), dropping)? {
        return Ok(());
    }
    let copy_of = conn
        .prepare_cached("DELETE FROM copies WHERE id = ?1 RETURNING content")
        .and_then(|mut s| {
            s.query_row([to_sql(id)], |row| row.get::<_, i64>(0))
                .optional()
        })
        .map_err(storage)?;
    if let Some(holder) = copy_of {
        if named(conn, holder)? || live(conn, holder, dropping)? {
            return Ok(());
        }
        conn.prepare_cached("DELETE FROM kept WHERE id = ?1")
            .and_then(|mut s| s.execute([holder]))
            .map_err(storage)?;
        return free(conn, holder);
    }
    if named(conn, to_sql(id))? {
        return conn
            .prepare_cached("INSERT OR IGNORE INTO kept (id) SELECT id FROM messages WHERE id = ?1")
            .and_then(|mut s| s.execute([to_sql(id)]))
            .map(drop)
            .map_err(storage);
    }
    free(conn, to_sql(id))
}

/// Whether item `id` is live in some collection other than `dropping`.
fn live(conn: &Connection, id: i64, dropping: Option<u64>) -> Result<bool> {
    conn.prepare_cached(
        "SELECT 1 FROM items WHERE id = ?1 AND packed IS NOT NULL AND collection IS NOT ?2",
    )
    .and_then(|mut s| s.exists(params![id, dropping.map(to_sql)]))
    .map_err(storage)
}

/// Whether a copy names holder `id`.
fn named(conn: &Connection, id: i64) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM copies WHERE content = ?1")
        .and_then(|mut s| s.exists([id]))
        .map_err(storage)
}

/// Deletes message `id`'s bytes and parts (nothing if it has none).
fn free(conn: &Connection, id: i64) -> Result<()> {
    for sql in [
        "DELETE FROM messages WHERE id = ?1",
        "DELETE FROM parts WHERE message = ?1",
        "DELETE FROM part_chunks WHERE message = ?1",
    ] {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([id]))
            .map_err(storage)?;
    }
    Ok(())
}

/// Looks at up to `window` stored messages and copies with ids above
/// `after`, in id order, and frees those no live item reads (an older
/// build left them when it removed their items). Returns the last id
/// looked at, to go on from, or `None` when none is left. Each call reads
/// a bounded slice, so a sweep of a large file never holds the write lock
/// for long, and never reads the same rows twice.
pub(super) fn free_orphans(conn: &Connection, after: u64, window: usize) -> Result<Option<u64>> {
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT id FROM (SELECT id FROM messages WHERE id > ?1
                             UNION ALL SELECT id FROM copies WHERE id > ?1)
             ORDER BY id LIMIT ?2",
        )
        .and_then(|mut s| {
            let window = i64::try_from(window).unwrap_or(i64::MAX);
            s.query_map(params![to_sql(after), window], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(storage)?;
    // `release` leaves a live id alone and keeps a holder copies name.
    for &id in &ids {
        release(conn, from_sql(id), None)?;
    }
    Ok(ids.last().copied().map(from_sql))
}

#[cfg(test)]
mod tests {
    use crate::SqliteStore;
    use tidings::proto::CollectionKind;
    use tidings::store::ItemStore;

    const RAW: &[u8] = b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
Hello.\r\n--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\nfile bytes\r\n--b--\r\n";

    fn count(store: &SqliteStore, table: &str) -> i64 {
        store
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn copies_store_the_bytes_once_and_free_them_with_the_last_copy() {
        let mut store = SqliteStore::open_in_memory().expect("store");
        let folders: Vec<u64> = (0..3)
            .map(|n| {
                let p = store
                    .add_principal("P", &format!("p{n}@example.org"))
                    .expect("principal");
                store
                    .add_collection(p, CollectionKind::Mail, "Inbox")
                    .expect("inbox")
            })
            .collect();
        let ids = store.add_message_copies(&folders, RAW, 64).expect("sent");
        assert_eq!(count(&store, "messages"), 1);
        let chunks = count(&store, "part_chunks");
        for (&folder, &id) in folders.iter().zip(&ids) {
            assert_eq!(store.raw_message(id).expect("raw").as_deref(), Some(RAW));
            let (_, bytes) = store
                .mail_part_range(folder, id, 2, 0, 100)
                .expect("range")
                .expect("part");
            assert_eq!(&bytes[..], b"file bytes");
        }
        // The holder's folder goes first: the other copies still read.
        store.delete_collection(folders[0]).expect("deleted");
        assert_eq!(store.raw_message(ids[0]).expect("raw"), None);
        assert_eq!(
            store.raw_message(ids[2]).expect("raw").as_deref(),
            Some(RAW)
        );
        assert_eq!(count(&store, "part_chunks"), chunks);
        store.delete_collection(folders[2]).expect("deleted");
        assert_eq!(
            store.raw_message(ids[1]).expect("raw").as_deref(),
            Some(RAW)
        );
        store.delete_collection(folders[1]).expect("deleted");
        for table in ["messages", "copies", "kept", "parts", "part_chunks"] {
            assert_eq!(count(&store, table), 0, "{table}");
        }
    }

    #[test]
    fn a_version_7_file_keeps_its_messages_and_then_shares_copies() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v7.db");
        let (inbox, old) = {
            let mut store = SqliteStore::open(&path, crate::Durability::Process).expect("new");
            let p = store.add_principal("P", "p@example.org").expect("p");
            let inbox = store
                .add_collection(p, CollectionKind::Mail, "Inbox")
                .expect("inbox");
            let old = store.add_message(inbox, RAW, 64).expect("mail");
            store
                .conn
                .execute_batch("DROP TABLE copies; DROP TABLE kept; PRAGMA user_version = 7;")
                .expect("downgraded");
            (inbox, old)
        };
        let mut store = SqliteStore::open(&path, crate::Durability::Process).expect("upgraded");
        assert_eq!(store.raw_message(old).expect("raw").as_deref(), Some(RAW));
        let ids = store
            .add_message_copies(&[inbox, inbox], RAW, 64)
            .expect("copies");
        assert_eq!(
            store.raw_message(ids[1]).expect("raw").as_deref(),
            Some(RAW)
        );
        assert_eq!(count(&store, "copies"), 1);
    }
}
