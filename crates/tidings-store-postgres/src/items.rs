//! Items and their change logs: one row per item, indexed by the modseq of
//! its latest change, with the collection's head (epoch, modseq, floor) in
//! its own row.
//!
//! Every write takes the head row's lock first (the bump, or `FOR UPDATE`
//! when it must look at the item before deciding), so writers of one
//! collection run one after the other: modseqs are gap-free and commit in
//! order, and no writer acts on an item state another has just changed.

use crate::conn::{Conn, from_sql, get, get_u32, get_u64, to_sql};
use crate::pages::delta_of;
use crate::{PostgresStore, fresh_id};
use bytes::Bytes;
use postgres::Row;
use tidings::proto::Cursor;
use tidings::store::ItemStore;
use tidings::sync::mail::{ParsedMail, part_bytes};
use tidings::sync::{Delta, LogHead, PageLimits, StoredPatch, pack_item};
use tidings::{Error, ErrorKind, Result};

fn no_item() -> Error {
    Error::new(ErrorKind::NotFound, "no such item in the collection")
}

pub(crate) fn no_collection() -> Error {
    Error::new(ErrorKind::NotFound, "no such collection")
}

pub(crate) fn head_row(collection: u64, row: &Row, first: usize) -> Result<LogHead> {
    Ok(LogHead {
        collection_id: collection,
        epoch: get_u64(row, first)?,
        modseq: get_u64(row, first + 1)?,
        floor: get_u64(row, first + 2)?,
    })
}

pub(crate) fn head(conn: &mut Conn, collection: u64) -> Result<LogHead> {
    let row = conn
        .query_opt(
            "SELECT epoch, modseq, floor FROM collections WHERE id = $1",
            &[&to_sql(collection)],
        )?
        .ok_or_else(no_collection)?;
    head_row(collection, &row, 0)
}

/// The head, locked until the transaction ends (call inside `atomic`).
fn lock_head(conn: &mut Conn, collection: u64) -> Result<LogHead> {
    let row = conn
        .query_opt(
            "SELECT epoch, modseq, floor FROM collections WHERE id = $1 FOR UPDATE",
            &[&to_sql(collection)],
        )?
        .ok_or_else(no_collection)?;
    head_row(collection, &row, 0)
}

/// Moves the head to its next modseq (locking it) and returns that modseq.
fn bump(conn: &mut Conn, collection: u64) -> Result<u64> {
    let row = conn
        .query_opt(
            "UPDATE collections SET modseq = modseq + 1 WHERE id = $1 RETURNING modseq",
            &[&to_sql(collection)],
        )?
        .ok_or_else(no_collection)?;
    get_u64(&row, 0)
}

/// Item `id`'s packed bytes and flags, if live.
fn live_item(conn: &mut Conn, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>> {
    let row = conn.query_opt(
        "SELECT packed, flags FROM items
         WHERE collection = $1 AND id = $2 AND packed IS NOT NULL",
        &[&to_sql(collection), &to_sql(id)],
    )?;
    row.map(|row| Ok((Bytes::from(get::<Vec<u8>>(&row, 0)?), get_u32(&row, 1)?)))
        .transpose()
}

/// The patch from item `id`'s live content, if any, to `new` (sync.md
/// §3.1). Read after [`bump`], whose row lock orders writers.
fn patch_to(conn: &mut Conn, collection: u64, id: u64, new: &[u8]) -> Result<Option<StoredPatch>> {
    let row = conn.query_opt(
        "SELECT packed, content_modseq FROM items
         WHERE collection = $1 AND id = $2 AND packed IS NOT NULL",
        &[&to_sql(collection), &to_sql(id)],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let old: Vec<u8> = get(&row, 0)?;
    Ok(StoredPatch::between(&old, get_u64(&row, 1)?, new))
}

/// Writes item `id` live at `modseq`, content, flags and the patch from
/// its previous content.
fn write_live(
    conn: &mut Conn,
    collection: u64,
    id: u64,
    modseq: u64,
    packed: &[u8],
    flags: u32,
    patch: Option<&StoredPatch>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO items
           (collection, id, modseq, content_modseq, packed, flags, patch_base, patch)
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7)
         ON CONFLICT (collection, id) DO UPDATE SET
           modseq = excluded.modseq, content_modseq = excluded.modseq,
           packed = excluded.packed, flags = excluded.flags,
           patch_base = excluded.patch_base, patch = excluded.patch",
        &[
            &to_sql(collection),
            &to_sql(id),
            &to_sql(modseq),
            &packed,
            &i64::from(flags),
            &patch.map(|p| to_sql(p.base)),
            &patch.map(|p| &p.packed[..]),
        ],
    )
    .map(drop)
}

fn upsert(
    conn: &mut Conn,
    collection: u64,
    id: Option<u64>,
    packed: &[u8],
    flags: u32,
) -> Result<(u64, u64)> {
    conn.atomic(|conn| {
        let modseq = bump(conn, collection)?;
        let (id, patch) = match id {
            Some(id) => (id, patch_to(conn, collection, id, packed)?),
            None => (fresh_id(conn)?, None),
        };
        write_live(conn, collection, id, modseq, packed, flags, patch.as_ref())?;
        Ok((id, modseq))
    })
}

fn set_flags(conn: &mut Conn, collection: u64, id: u64, flags: u32) -> Result<u64> {
    conn.atomic(|conn| {
        let head = lock_head(conn, collection)?;
        let (_, old) = live_item(conn, collection, id)?.ok_or_else(no_item)?;
        if old == flags {
            return Ok(head.modseq);
        }
        let modseq = bump(conn, collection)?;
        // Flags only: the content (and its modseq) stays as it is.
        conn.execute(
            "UPDATE items SET modseq = $3, flags = $4 WHERE collection = $1 AND id = $2",
            &[
                &to_sql(collection),
                &to_sql(id),
                &to_sql(modseq),
                &i64::from(flags),
            ],
        )?;
        Ok(modseq)
    })
}

/// Writes item `id`'s tombstone; with `free`, its raw message goes too,
/// else the caller frees it later with [`free_messages`].
pub(crate) fn remove(conn: &mut Conn, collection: u64, id: u64, free: bool) -> Result<u64> {
    conn.atomic(|conn| {
        lock_head(conn, collection)?;
        live_item(conn, collection, id)?.ok_or_else(no_item)?;
        let modseq = bump(conn, collection)?;
        conn.execute(
            "UPDATE items SET modseq = $3, content_modseq = $3, packed = NULL, flags = 0,
               patch_base = NULL, patch = NULL
             WHERE collection = $1 AND id = $2",
            &[&to_sql(collection), &to_sql(id), &to_sql(modseq)],
        )?;
        if free {
            free_messages(conn, &[id])?;
        }
        Ok(modseq)
    })
}

/// Frees the raw messages of mails `ids` now that their items are gone,
/// except an id still live (a move upserted it elsewhere first, or its
/// removal was rolled back). A copy drops its `message_copies` row, and
/// its holder's bytes go once no live item reads them; a holder copies
/// still read is marked `kept` (its own id no longer reads them) and goes
/// with the last copy. Six statements, however many ids.
///
/// Each holder's row is locked before anything is looked at, in id order
/// (two frees never wait on each other in a cycle). Of two transactions
/// removing the last two readers of some bytes at once, the second to
/// lock therefore sees the first's removal committed, and frees them:
/// without the lock each saw the other's reader still there, and the
/// bytes stayed with nobody to free them.
pub(crate) fn free_messages(conn: &mut Conn, ids: &[u64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = ids.iter().map(|&id| to_sql(id)).collect();
    // A copy's holder never changes: read before the lock, it stays right.
    let copies = conn.query(
        "SELECT id, content FROM message_copies WHERE id = ANY($1)",
        &[&ids],
    )?;
    let mut holder_of = std::collections::HashMap::with_capacity(copies.len());
    for row in &copies {
        holder_of.insert(get::<i64>(row, 0)?, get::<i64>(row, 1)?);
    }
    let mut holders: Vec<i64> = ids
        .iter()
        .map(|id| holder_of.get(id).copied().unwrap_or(*id))
        .collect();
    holders.sort_unstable();
    holders.dedup();
    conn.query(
        "SELECT id FROM messages WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE",
        &[&holders],
    )?;
    let live: std::collections::HashSet<i64> = conn
        .query(
            "SELECT DISTINCT id FROM items WHERE id = ANY($1) AND packed IS NOT NULL",
            &[&ids],
        )?
        .iter()
        .map(|row| get::<i64>(row, 0))
        .collect::<Result<_>>()?;
    let gone: Vec<i64> = ids.into_iter().filter(|id| !live.contains(id)).collect();
    if gone.is_empty() {
        return Ok(());
    }
    let mut freed_holders: Vec<i64> = gone
        .iter()
        .map(|id| holder_of.get(id).copied().unwrap_or(*id))
        .collect();
    freed_holders.sort_unstable();
    freed_holders.dedup();
    conn.execute("DELETE FROM message_copies WHERE id = ANY($1)", &[&gone])?;
    conn.execute(
        "UPDATE messages SET kept = true WHERE id = ANY($1) AND NOT kept
         AND EXISTS (SELECT 1 FROM message_copies c WHERE c.content = messages.id)",
        &[&gone],
    )?;
    conn.execute(
        "DELETE FROM messages m WHERE m.id = ANY($1)
         AND NOT EXISTS (SELECT 1 FROM message_copies c WHERE c.content = m.id)
         AND NOT EXISTS (SELECT 1 FROM items i WHERE i.id = m.id AND i.packed IS NOT NULL)",
        &[&freed_holders],
    )
    .map(drop)
}

impl PostgresStore {
    /// Where `collection`'s change log stands.
    pub fn head(&self, collection: u64) -> Result<LogHead> {
        head(&mut self.conn(), collection)
    }

    /// The heads of every collection: what a server compares, after
    /// [`Notice::Reconnected`](crate::Notice::Reconnected), to catch up on
    /// changes it may not have been told of.
    pub fn heads(&self) -> Result<Vec<LogHead>> {
        let rows = self.conn().query(
            "SELECT id, epoch, modseq, floor FROM collections ORDER BY id",
            &[],
        )?;
        rows.iter()
            .map(|row| head_row(get_u64(row, 0)?, row, 1))
            .collect()
    }

    /// Delivers a raw RFC 5322 message into mail folder `collection`: the item
    /// (headers, a `preview_bytes` text preview, part metadata) is built and
    /// packed once; the raw bytes are kept for range fetches. Returns its id.
    pub fn add_message(
        &mut self,
        collection: u64,
        raw: &[u8],
        preview_bytes: usize,
    ) -> Result<u64> {
        let ids = self.add_message_copies(&[collection], raw, preview_bytes)?;
        ids.first()
            .copied()
            .ok_or_else(|| Error::new(ErrorKind::Storage, "no copy delivered"))
    }

    /// Delivers one copy of `raw` into each of `collections`, as
    /// [`Self::add_message`] would, in one transaction; the message is
    /// parsed once for every copy (a send to many local recipients), and
    /// its bytes are stored once, the other copies reading the first's.
    /// Returns the ids, in the order of `collections`.
    pub fn add_message_copies(
        &mut self,
        collections: &[u64],
        raw: &[u8],
        preview_bytes: usize,
    ) -> Result<Vec<u64>> {
        if collections.is_empty() {
            return Ok(Vec::new());
        }
        let mail = ParsedMail::parse(raw, preview_bytes)?;
        self.add_parsed_message_copies(collections, raw, &mail)
    }

    /// [`Self::add_message_copies`] of a mail read beforehand (`mail`, of
    /// `raw`): callers that hold a transaction read the mail before they
    /// open it, so that a costly mail does not keep others waiting.
    pub fn add_parsed_message_copies(
        &mut self,
        collections: &[u64],
        raw: &[u8],
        mail: &ParsedMail,
    ) -> Result<Vec<u64>> {
        // Each copy carries its id: the ids are drawn (from a sequence,
        // outside any transaction) and the copies packed before the
        // transaction locks the collections' heads, so deflating a
        // stranger's tens of megabytes of headers holds no lock.
        let mut ids = Vec::with_capacity(collections.len());
        for _ in collections {
            ids.push(fresh_id(&mut self.conn())?);
        }
        let packed: Vec<Bytes> = ids
            .iter()
            .zip(collections)
            .map(|(&id, &collection)| {
                let mut copy = mail.item.clone();
                (copy.id, copy.folder_id) = (id, collection);
                pack_item(tidings::proto::item::Kind::Mail(copy))
            })
            .collect();
        let parts = &mail.parts;
        self.conn().atomic(|conn| {
            let first = ids.first().copied();
            for ((&collection, &id), packed) in collections.iter().zip(&ids).zip(&packed) {
                let modseq = bump(conn, collection)?;
                match first.filter(|&holder| holder != id) {
                    None => {
                        conn.execute(
                            "INSERT INTO messages (id, raw) VALUES ($1, $2)",
                            &[&to_sql(id), &raw],
                        )?;
                        crate::parts::store(conn, id, parts)?;
                        1
                    }
                    Some(holder) => conn.execute(
                        "INSERT INTO message_copies (id, content) VALUES ($1, $2)",
                        &[&to_sql(id), &to_sql(holder)],
                    )?,
                };
                write_live(conn, collection, id, modseq, packed, 0, None)?;
            }
            Ok(())
        })?;
        Ok(ids)
    }

    /// The raw RFC 5322 bytes of mail `id`, if it was delivered as a message
    /// (a copy reads its holder's).
    pub fn raw_message(&self, id: u64) -> Result<Option<Bytes>> {
        let row = self.conn().query_opt(
            "SELECT raw FROM messages
             WHERE id = coalesce((SELECT content FROM message_copies WHERE id = $1), $1)
               AND NOT (id = $1 AND kept)",
            &[&to_sql(id)],
        )?;
        row.map(|row| get::<Vec<u8>>(&row, 0).map(Bytes::from))
            .transpose()
    }

    /// Deletes the raw messages no live item reads any more (an older
    /// build kept them after their items were removed; or the last two
    /// copies went at once under a build without
    /// `free_messages`' lock) among the next
    /// `window` ids above `after`: housekeeping sweeps the table this way,
    /// window by window, each its own transaction. Returns the id to go on
    /// from, or `None` at the end.
    pub fn free_removed_messages(&mut self, after: u64, window: usize) -> Result<Option<u64>> {
        let window = i64::try_from(window).unwrap_or(i64::MAX);
        let row = self.conn().query_opt(
            "WITH looked AS (
                 SELECT id FROM messages WHERE id > $1 ORDER BY id LIMIT $2
             ), freed AS (
                 DELETE FROM messages m USING looked
                 WHERE m.id = looked.id
                   AND NOT EXISTS (SELECT 1 FROM items WHERE id = m.id AND packed IS NOT NULL)
                   AND NOT EXISTS (SELECT 1 FROM message_copies WHERE content = m.id)
             )
             SELECT max(id) FROM looked",
            &[&to_sql(after), &window],
        )?;
        let last = row.map(|row| get::<Option<i64>>(&row, 0)).transpose()?;
        Ok(last.flatten().map(from_sql))
    }

    /// Forgets tombstones up to `up_to` (see [`tidings::sync::ChangeLog::compact`]).
    pub fn compact(&mut self, collection: u64, up_to: u64) -> Result<()> {
        self.conn().atomic(|conn| {
            let head = lock_head(conn, collection)?;
            let up_to = up_to.min(head.modseq);
            conn.execute(
                "DELETE FROM items WHERE collection = $1 AND modseq <= $2 AND packed IS NULL",
                &[&to_sql(collection), &to_sql(up_to)],
            )?;
            if up_to > head.floor {
                conn.execute(
                    "UPDATE collections SET floor = $2 WHERE id = $1",
                    &[&to_sql(collection), &to_sql(up_to)],
                )?;
            }
            Ok(())
        })
    }
}

impl ItemStore for PostgresStore {
    fn collection_state(&self, collection: u64) -> Result<(u64, u64)> {
        let head = self.head(collection)?;
        Ok((head.epoch, head.modseq))
    }

    fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Result<Delta> {
        // page_after reads at most max_items + 1 entries.
        let rows = limits.max_items.max(1).saturating_add(1);
        let limit = i64::try_from(rows).unwrap_or(i64::MAX);
        // One statement, so the head and the entries come from one snapshot:
        // a head read before a commit and entries read after it would make a
        // page claim a modseq its entries do not match.
        let rows = self.conn().query(
            "SELECT c.epoch, c.modseq, c.floor,
                    i.id, i.modseq, i.content_modseq, i.packed, i.flags,
                    i.patch_base, i.patch
             FROM collections c
             LEFT JOIN LATERAL (
                 SELECT id, modseq, content_modseq, packed, flags, patch_base, patch
                 FROM items
                 WHERE collection = c.id AND modseq > $2 ORDER BY modseq LIMIT $3
             ) i ON true
             WHERE c.id = $1
             ORDER BY i.modseq",
            &[
                &to_sql(cursor.collection_id),
                &to_sql(cursor.modseq),
                &limit,
            ],
        )?;
        delta_of(cursor, limits, &rows, 0)
    }

    fn deltas(&self, cursors: &[Cursor], limits: &PageLimits) -> Result<Vec<Delta>> {
        if cursors.len() < 2 {
            return cursors.iter().map(|c| self.delta(c, limits)).collect();
        }
        // Every reconnect reads one per followed collection: one round trip
        // for all, each collection's rows numbered by its place in `cursors`.
        // Each head is looked up by key (`OFFSET 0` keeps the subquery from
        // being merged into a join): the plan is made once for any number of
        // cursors, and a join would hash every collection to find a few.
        let rows = limits.max_items.max(1).saturating_add(1);
        let limit = i64::try_from(rows).unwrap_or(i64::MAX);
        let collections: Vec<i64> = cursors.iter().map(|c| to_sql(c.collection_id)).collect();
        let after: Vec<i64> = cursors.iter().map(|c| to_sql(c.modseq)).collect();
        let rows = self.conn().query(
            "SELECT q.ord, c.epoch, c.modseq, c.floor,
                    i.id, i.modseq, i.content_modseq, i.packed, i.flags,
                    i.patch_base, i.patch
             FROM unnest($1::BIGINT[], $2::BIGINT[]) WITH ORDINALITY AS q (collection, after, ord)
             CROSS JOIN LATERAL (
                 SELECT id, epoch, modseq, floor FROM collections
                 WHERE id = q.collection OFFSET 0
             ) c
             LEFT JOIN LATERAL (
                 SELECT id, modseq, content_modseq, packed, flags, patch_base, patch
                 FROM items
                 WHERE collection = c.id AND modseq > q.after ORDER BY modseq LIMIT $3
             ) i ON true
             ORDER BY q.ord, i.modseq",
            &[&collections, &after, &limit],
        )?;
        let mut deltas = Vec::with_capacity(cursors.len());
        let mut rest = &rows[..];
        for (place, cursor) in (1_i64..).zip(cursors) {
            let mine = rest
                .iter()
                .take_while(|row| get::<i64>(row, 0).is_ok_and(|ord| ord == place))
                .count();
            let (these, after) = rest.split_at(mine);
            deltas.push(delta_of(cursor, limits, these, 1)?);
            rest = after;
        }
        Ok(deltas)
    }

    fn item(&self, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>> {
        let row = self
            .conn()
            .query_opt(
                "SELECT i.packed, i.flags FROM collections c
                 LEFT JOIN items i ON i.collection = c.id AND i.id = $2
                 WHERE c.id = $1",
                &[&to_sql(collection), &to_sql(id)],
            )?
            .ok_or_else(no_collection)?;
        match get::<Option<Vec<u8>>>(&row, 0)? {
            Some(packed) => Ok(Some((Bytes::from(packed), get_u32(&row, 1)?))),
            None => Ok(None),
        }
    }

    fn items(&self, collection: u64) -> Result<Vec<(u64, Bytes, u32)>> {
        let mut conn = self.conn();
        head(&mut conn, collection)?;
        let rows = conn.query(
            "SELECT id, packed, flags FROM items
             WHERE collection = $1 AND packed IS NOT NULL ORDER BY id",
            &[&to_sql(collection)],
        )?;
        rows.iter()
            .map(|row| {
                Ok((
                    get_u64(row, 0)?,
                    Bytes::from(get::<Vec<u8>>(row, 1)?),
                    get_u32(row, 2)?,
                ))
            })
            .collect()
    }

    fn items_after(
        &self,
        collection: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes, u32)>> {
        let mut conn = self.conn();
        head(&mut conn, collection)?;
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let rows = conn.query(
            "SELECT id, packed, flags FROM items
             WHERE collection = $1 AND packed IS NOT NULL AND id > $2
             ORDER BY id LIMIT $3",
            &[&to_sql(collection), &to_sql(after), &limit],
        )?;
        rows.iter()
            .map(|row| {
                Ok((
                    get_u64(row, 0)?,
                    Bytes::from(get::<Vec<u8>>(row, 1)?),
                    get_u32(row, 2)?,
                ))
            })
            .collect()
    }

    fn mail_part(&self, collection: u64, id: u64, part_id: u32) -> Result<Option<Bytes>> {
        if self.item(collection, id)?.is_none() {
            return Ok(None);
        }
        let Some(raw) = self.raw_message(id)? else {
            return Ok(None);
        };
        match part_bytes(&raw, part_id) {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn mail_part_range(
        &self,
        collection: u64,
        id: u64,
        part_id: u32,
        offset: u64,
        length: usize,
    ) -> Result<Option<(u64, Bytes)>> {
        let live = self.conn().query_opt(
            "SELECT 1 FROM items WHERE collection = $1 AND id = $2 AND packed IS NOT NULL",
            &[&to_sql(collection), &to_sql(id)],
        )?;
        if live.is_none() {
            return Ok(None);
        }
        if let Some(range) = self.part_range(id, part_id, offset, length)? {
            return Ok(Some(range));
        }
        // Delivered before parts were kept apart: the whole part, the slow way.
        let Some(part) = self.mail_part(collection, id, part_id)? else {
            return Ok(None);
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(part.len());
        let end = start.saturating_add(length).min(part.len());
        Ok(Some((part.len() as u64, part.slice(start..end))))
    }

    fn allocate_id(&mut self) -> Result<u64> {
        fresh_id(&mut self.conn())
    }

    fn upsert(
        &mut self,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)> {
        upsert(&mut self.conn(), collection, id, &packed, flags)
    }

    fn set_flags(&mut self, collection: u64, id: u64, flags: u32) -> Result<u64> {
        set_flags(&mut self.conn(), collection, id, flags)
    }

    fn remove(&mut self, collection: u64, id: u64) -> Result<u64> {
        remove(&mut self.conn(), collection, id, true)
    }
}

#[cfg(test)]
#[path = "freeing_race_tests.rs"]
mod freeing_race_tests;
