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
    for_each_part(raw, |part, bytes| {
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
        Ok(())
    })
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
