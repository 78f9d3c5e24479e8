//! The parts of delivered messages, decoded once at delivery and kept in
//! pieces, so that a range fetch reads only the pieces it needs: reading
//! a 20 MB attachment 48 KiB at a time cost O(attachment²) when every range
//! parsed the whole message again (12 minutes on a debug build).

use crate::PostgresStore;
use crate::conn::{Conn, get, to_sql};
use bytes::Bytes;
use tidings::Result;

/// Bytes of one piece: a 48 KiB range reads one or two.
const PIECE: usize = 64 << 10;

/// Stores `parts` (from [`ParsedMail`](tidings::sync::mail::ParsedMail)) as message `id`'s, in pieces: one
/// statement per part.
pub(crate) fn store(conn: &mut Conn, id: u64, parts: &[(u32, Vec<u8>)]) -> Result<()> {
    for (part, bytes) in parts {
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let part = i64::from(*part);
        conn.execute(
            "INSERT INTO message_parts (message, part, size) VALUES ($1, $2, $3)",
            &[&to_sql(id), &part, &size],
        )?;
        let seqs: Vec<i64> = (0..bytes.chunks(PIECE).len())
            .map(|s| i64::try_from(s).unwrap_or(i64::MAX))
            .collect();
        let pieces: Vec<&[u8]> = bytes.chunks(PIECE).collect();
        conn.execute(
            "INSERT INTO message_part_pieces (message, part, seq, data)
             SELECT $1, $2, seq, data FROM unnest($3::BIGINT[], $4::BYTEA[]) AS p (seq, data)",
            &[&to_sql(id), &part, &seqs, &pieces],
        )?;
    }
    Ok(())
}

impl PostgresStore {
    /// Bytes `offset..offset + length` of part `part` of message `id` (a
    /// copy reads its holder's; fewer bytes at the part's end) and the
    /// part's size, reading only the pieces that hold them; `None` when the
    /// part was not stored apart (a message delivered before pieces were).
    pub(crate) fn part_range(
        &self,
        id: u64,
        part: u32,
        offset: u64,
        length: usize,
    ) -> Result<Option<(u64, Bytes)>> {
        let mut conn = self.conn();
        let size = conn.query_opt(
            "SELECT size FROM message_parts
             WHERE message = coalesce((SELECT content FROM message_copies WHERE id = $1), $1)
               AND part = $2",
            &[&to_sql(id), &i64::from(part)],
        )?;
        let Some(size) = size else {
            return Ok(None);
        };
        let size = u64::try_from(get::<i64>(&size, 0)?).unwrap_or(0);
        let start = offset.min(size);
        let end = start
            .saturating_add(u64::try_from(length).unwrap_or(u64::MAX))
            .min(size);
        if start == end {
            return Ok(Some((size, Bytes::new())));
        }
        let piece = PIECE as u64;
        let (first, last) = (start / piece, (end - 1) / piece);
        let rows = conn.query(
            "SELECT seq, data FROM message_part_pieces
             WHERE message = coalesce((SELECT content FROM message_copies WHERE id = $1), $1)
               AND part = $2 AND seq BETWEEN $3 AND $4 ORDER BY seq",
            &[&to_sql(id), &i64::from(part), &to_sql(first), &to_sql(last)],
        )?;
        let mut out = Vec::with_capacity(usize::try_from(end - start).unwrap_or(0));
        for row in &rows {
            let seq = u64::try_from(get::<i64>(row, 0)?).unwrap_or(0);
            let data = get::<&[u8]>(row, 1)?;
            let base = seq.saturating_mul(piece);
            let from = usize::try_from(start.saturating_sub(base)).unwrap_or(usize::MAX);
            let to = usize::try_from(end.saturating_sub(base))
                .unwrap_or(usize::MAX)
                .min(data.len());
            out.extend_from_slice(data.get(from..to).unwrap_or_default());
        }
        Ok(Some((size, out.into())))
    }
}
