//! The parts of delivered messages, kept apart in pieces at delivery so that
//! a range fetch reads only the pieces it needs: downloading a 25 MB
//! attachment 48 KiB at a time costs O(attachment), not O(attachment²) as
//! when every range parsed the whole message again.

use super::schema::PART_CHUNK;
use super::{SqliteStore, from_sql, storage, to_sql};
use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, params};
use tidings::Result;
use tidings::sync::mail::for_each_part;

/// Stores the decoded bytes of every part of message `id` (its `raw` bytes),
/// parsing it once.
pub(super) fn split(conn: &Connection, id: u64, raw: &[u8]) -> Result<()> {
    store(conn, id, &decode(raw)?)
}

/// The decoded bytes of every part of `raw`, by part id: decoded once for
/// all the copies one send delivers.
pub(super) fn decode(raw: &[u8]) -> Result<Vec<(u32, Vec<u8>)>> {
    let mut parts = Vec::new();
    for_each_part(raw, |part, bytes| {
        parts.push((part, bytes.to_vec()));
        Ok(())
    })?;
    Ok(parts)
}

/// Stores `parts` (from [`decode`]) as message `id`'s, in pieces.
pub(super) fn store(conn: &Connection, id: u64, parts: &[(u32, Vec<u8>)]) -> Result<()> {
    for (part, bytes) in parts {
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        conn.prepare_cached(
            "INSERT OR REPLACE INTO parts (message, part, size) VALUES (?1, ?2, ?3)",
        )
        .and_then(|mut s| s.execute(params![to_sql(id), part, size]))
        .map_err(storage)?;
        let mut insert = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO part_chunks (message, part, seq, data)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(storage)?;
        for (seq, chunk) in bytes.chunks(PART_CHUNK).enumerate() {
            let seq = i64::try_from(seq).unwrap_or(i64::MAX);
            insert
                .execute(params![to_sql(id), part, seq, chunk])
                .map_err(storage)?;
        }
    }
    Ok(())
}

/// Splits the parts of every message a version 1 database holds (the
/// upgrade to version 2), one message in memory at a time. A message that
/// holds no readable message is left as it is: its parts are then read the
/// old way.
pub(super) fn split_stored_messages(conn: &Connection) -> Result<()> {
    let ids: Vec<u64> = conn
        .prepare("SELECT id FROM messages ORDER BY id")
        .and_then(|mut s| {
            s.query_map([], |row| row.get::<_, i64>(0).map(from_sql))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(storage)?;
    for id in ids {
        let raw: Vec<u8> = conn
            .query_row(
                "SELECT raw FROM messages WHERE id = ?1",
                [to_sql(id)],
                |row| row.get(0),
            )
            .map_err(storage)?;
        match split(conn, id, &raw) {
            Err(e) if e.kind() == tidings::ErrorKind::InvalidData => {}
            other => other?,
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Bytes `offset..offset + length` of part `part` of message `id` (fewer
    /// at its end) and the part's size, reading only the pieces that hold
    /// them; `None` when the part was not stored apart.
    pub fn part_range(
        &self,
        id: u64,
        part: u32,
        offset: u64,
        length: usize,
    ) -> Result<Option<(u64, Bytes)>> {
        let id = super::shared::holder(&self.conn, id)?;
        let size: Option<i64> = self
            .conn
            .prepare_cached("SELECT size FROM parts WHERE message = ?1 AND part = ?2")
            .and_then(|mut s| {
                s.query_row(params![to_sql(id), part], |row| row.get(0))
                    .optional()
            })
            .map_err(storage)?;
        let Some(size) = size else {
            return Ok(None);
        };
        let size = u64::try_from(size).unwrap_or(0);
        let start = offset.min(size);
        let end = start
            .saturating_add(u64::try_from(length).unwrap_or(u64::MAX))
            .min(size);
        if start == end {
            return Ok(Some((size, Bytes::new())));
        }
        let chunk = PART_CHUNK as u64;
        let (first, last) = (start / chunk, (end - 1) / chunk);
        let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT seq, data FROM part_chunks
                 WHERE message = ?1 AND part = ?2 AND seq BETWEEN ?3 AND ?4 ORDER BY seq",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map(
                params![to_sql(id), part, to_sql(first), to_sql(last)],
                |row| Ok((from_sql(row.get(0)?), row.get::<_, Vec<u8>>(1)?)),
            )
            .map_err(storage)?;
        for row in rows {
            let (seq, data) = row.map_err(storage)?;
            let base = seq * chunk;
            let from = usize::try_from(start.saturating_sub(base)).unwrap_or(usize::MAX);
            let to = usize::try_from(end - base)
                .unwrap_or(usize::MAX)
                .min(data.len());
            out.extend_from_slice(data.get(from..to).unwrap_or_default());
        }
        Ok(Some((size, out.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Durability;
    use proptest::prelude::*;
    use tidings::proto::CollectionKind;
    use tidings::store::ItemStore;
    use tidings::sync::mail::part_bytes;

    /// A message whose attachment (part 2) is `len` bytes, base64-encoded.
    fn message(len: usize) -> (Vec<u8>, Vec<u8>) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
        let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut raw = b"From: a@example.org\r\nSubject: parts\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
Hello.\r\n--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"a.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            .to_vec();
        for (i, chunk) in data.chunks(3).enumerate() {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = [18, 12, 6, 0].map(|s| table[((n >> s) & 63) as usize]);
            raw.extend_from_slice(&chars[..chunk.len() + 1]);
            raw.extend(std::iter::repeat_n(b'=', 3 - chunk.len()));
            if i % 19 == 18 {
                raw.extend_from_slice(b"\r\n");
            }
        }
        raw.extend_from_slice(b"\r\n--b--\r\n");
        (raw, data)
    }

    fn store_with(raw: &[u8], path: &std::path::Path) -> (SqliteStore, u64, u64) {
        let mut store = SqliteStore::open(path, Durability::Process).expect("open");
        let owner = store
            .add_principal("P", "p@example.org")
            .expect("principal");
        let inbox = store
            .add_collection(owner, CollectionKind::Mail, "Inbox")
            .expect("inbox");
        let id = store.add_message(inbox, raw, 2048).expect("delivered");
        (store, inbox, id)
    }

    #[test]
    fn ranges_read_from_pieces_equal_the_parsed_part() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (raw, data) = message(3 * PART_CHUNK + 1234);
        let (store, inbox, id) = store_with(&raw, &dir.path().join("t.db"));
        assert_eq!(part_bytes(&raw, 2).expect("part"), data);
        let total = data.len() as u64;
        for (offset, length) in [
            (0, 1),
            (0, 48 << 10),
            (PART_CHUNK as u64 - 10, 48 << 10),
            (2 * PART_CHUNK as u64, PART_CHUNK),
            (total - 5, 48 << 10),
            (total, 10),
            (total + 99, 10),
        ] {
            let (size, got) = store
                .mail_part_range(inbox, id, 2, offset, length)
                .expect("readable")
                .expect("present");
            let start = offset.min(total) as usize;
            let end = (start + length).min(data.len());
            assert_eq!(size, total);
            assert_eq!(
                &got[..],
                &data[start..end],
                "offset {offset} length {length}"
            );
        }
        // Read from the pieces, not by parsing the message again.
        assert!(store.part_range(id, 2, 0, 10).expect("readable").is_some());
        assert_eq!(
            store.mail_part_range(inbox, id, 77, 0, 10).expect("ok"),
            None
        );
        assert_eq!(
            store.mail_part_range(inbox, id + 1, 2, 0, 10).expect("ok"),
            None
        );
    }

    #[test]
    fn a_version_1_database_is_split_at_upgrade_and_keeps_its_mail() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v1.db");
        let (raw, data) = message(100_000);
        let (inbox, id) = {
            let (store, inbox, id) = store_with(&raw, &path);
            // Make it a version 1 file: no part tables.
            store
                .conn
                .execute_batch(
                    "DROP TABLE parts; DROP TABLE part_chunks;
                     DROP INDEX collections_by_owner;
                     DROP INDEX grants_by_collection;
                     ALTER TABLE items DROP COLUMN patch;
                     ALTER TABLE items DROP COLUMN patch_base;
                     DROP TABLE upload_parts;
                     DROP TABLE uploads;
                     PRAGMA user_version = 1;",
                )
                .expect("downgraded");
            (inbox, id)
        };
        let store = SqliteStore::open(&path, Durability::Process).expect("upgraded");
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("version");
        assert_eq!(version, crate::schema::VERSION);
        assert!(
            store.item(inbox, id).expect("readable").is_some(),
            "mail kept"
        );
        let (size, got) = store
            .part_range(id, 2, 1000, 5000)
            .expect("readable")
            .expect("split at upgrade");
        assert_eq!((size, &got[..]), (data.len() as u64, &data[1000..6000]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn any_range_matches_the_part(offset in 0u64..140_000, length in 1usize..70_000) {
            thread_local! {
                static FIXTURE: (tempfile::TempDir, Vec<u8>) = {
                    let dir = tempfile::tempdir().expect("tempdir");
                    let (raw, _) = message(2 * PART_CHUNK + 77);
                    drop(store_with(&raw, &dir.path().join("p.db")));
                    (dir, raw)
                };
            }
            FIXTURE.with(|(dir, raw)| {
                let store = SqliteStore::open(&dir.path().join("p.db"), Durability::Process)
                    .expect("open");
                let whole = part_bytes(raw, 2).expect("part");
                let id: i64 = store
                    .conn
                    .query_row("SELECT id FROM messages", [], |r| r.get(0))
                    .expect("one message");
                let (_, got) = store
                    .part_range(from_sql(id), 2, offset, length)
                    .expect("readable")
                    .expect("present");
                let start = (offset as usize).min(whole.len());
                let end = (start + length).min(whole.len());
                assert_eq!(&got[..], &whole[start..end]);
            });
        }
    }
}
