//! Items and their change logs: one row per item, indexed by the modseq of
//! its latest change, with the collection's head (epoch, modseq, floor) in
//! its own row.

use super::{SqliteStore, from_sql, storage, to_sql};
use bytes::Bytes;
use rusqlite::{OptionalExtension, params};
use tidings::proto::Cursor;
use tidings::store::ItemStore;
use tidings::sync::mail::{ParsedMail, part_bytes};
use tidings::sync::{
    Delta, ItemState, LogEntry, LogHead, MAX_PACKED_ITEM, PageLimits, StoredPatch, pack_item,
    page_after,
};
use tidings::{Error, ErrorKind, Result};

/// The delta query: a collection's changes after a modseq, in order.
pub(crate) const DELTA_SQL: &str =
    "SELECT id, modseq, content_modseq, packed, flags, patch_base, patch FROM items
     WHERE collection = ?1 AND modseq > ?2 ORDER BY modseq";

fn no_item() -> Error {
    Error::new(ErrorKind::NotFound, "no such item in the collection")
}

impl SqliteStore {
    /// Where `collection`'s change log stands.
    pub fn head(&self, collection: u64) -> Result<LogHead> {
        self.conn
            .prepare_cached("SELECT epoch, modseq, floor FROM collections WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row([to_sql(collection)], |row| {
                    Ok(LogHead {
                        collection_id: collection,
                        epoch: from_sql(row.get(0)?),
                        modseq: from_sql(row.get(1)?),
                        floor: from_sql(row.get(2)?),
                    })
                })
                .optional()
            })
            .map_err(storage)?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such collection"))
    }

    /// The heads of every collection: what the server compares to notice
    /// changes made by other processes.
    pub fn heads(&self) -> Result<Vec<LogHead>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, epoch, modseq, floor FROM collections ORDER BY id")
            .map_err(storage)?;
        let rows = stmt
            .query_map([], |row| {
                Ok(LogHead {
                    collection_id: from_sql(row.get(0)?),
                    epoch: from_sql(row.get(1)?),
                    modseq: from_sql(row.get(2)?),
                    floor: from_sql(row.get(3)?),
                })
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    /// Delivers a raw RFC 5322 message into mail folder `collection`: the item
    /// (headers, a `preview_bytes` text preview, part metadata) is built and
    /// packed once; the raw bytes are kept for replies and forwards, and the
    /// decoded parts apart, in pieces, for range fetches. Returns its id.
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
    /// parsed and its parts decoded once for every copy (a send to many
    /// local recipients). Returns the ids, in the order of `collections`.
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
    /// open it, so that a costly mail does not keep the write lock.
    pub fn add_parsed_message_copies(
        &mut self,
        collections: &[u64],
        raw: &[u8],
        mail: &ParsedMail,
    ) -> Result<Vec<u64>> {
        if collections.is_empty() {
            return Ok(Vec::new());
        }
        // Each copy carries its id, so the ids are drawn first, in a write
        // of their own; the copies are packed (deflating what may be tens
        // of megabytes of headers: a stranger's 40 MB subject held every
        // writer 0.9 s) before the write that stores them takes the lock.
        let ids = self.atomic(|store| store.fresh_ids(collections.len()))?;
        let packed: Vec<Bytes> = ids
            .iter()
            .zip(collections)
            .map(|(&id, &collection)| {
                let mut copy = mail.item.clone();
                (copy.id, copy.folder_id) = (id, collection);
                pack_item(tidings::proto::item::Kind::Mail(copy))
            })
            .collect();
        self.atomic(|store| {
            let first = ids.first().copied();
            for ((&collection, &id), packed) in collections.iter().zip(&ids).zip(packed) {
                let holder = first.filter(|&holder| holder != id);
                store.add_copy(collection, id, raw, &mail.parts, holder, packed)?;
            }
            Ok(())
        })?;
        Ok(ids)
    }

    /// Copy `id` of a message, packed as `packed`, with decoded `parts`;
    /// it shares the bytes of the copy `holder` when there is one.
    fn add_copy(
        &mut self,
        collection: u64,
        id: u64,
        raw: &[u8],
        parts: &[(u32, Vec<u8>)],
        holder: Option<u64>,
        packed: Bytes,
    ) -> Result<()> {
        self.head(collection)?;
        if let Some(holder) = holder {
            super::shared::add_copy(&self.conn, id, holder)?;
        } else {
            self.conn
                .execute(
                    "INSERT INTO messages (id, raw) VALUES (?1, ?2)",
                    params![to_sql(id), raw],
                )
                .map_err(storage)?;
            // Parts apart, once: range fetches then read only what they return.
            super::parts::store(&self.conn, id, parts)?;
        }
        self.write_item(collection, id, Some(packed), 0, true)?;
        Ok(())
    }

    /// The raw RFC 5322 bytes of mail `id`, if it was delivered as a message.
    pub fn raw_message(&self, id: u64) -> Result<Option<Bytes>> {
        if super::shared::is_kept(&self.conn, id)? {
            return Ok(None);
        }
        let holder = super::shared::holder(&self.conn, id)?;
        self.conn
            .prepare_cached("SELECT raw FROM messages WHERE id = ?1")
            .and_then(|mut s| {
                s.query_row([to_sql(holder)], |row| row.get::<_, Vec<u8>>(0))
                    .optional()
            })
            .map(|raw| raw.map(Bytes::from))
            .map_err(storage)
    }

    /// Until [`Self::free_deferred`], removals keep their mails' bytes: an
    /// application that composes the mails a turn sent after applying all
    /// its operations (`ServerEvent::Outgoing`) reads a forward's or
    /// reply's original then, even when an operation after it removed the
    /// original.
    pub fn defer_frees(&mut self) {
        self.deferred_frees.get_or_insert_with(Vec::new);
    }

    /// Frees the bytes of the mails removed since [`Self::defer_frees`]
    /// (each unless its id is live again: a move, or a rolled-back
    /// removal), inside the open transaction, and frees at once from then
    /// on.
    pub fn free_deferred(&mut self) -> Result<()> {
        for id in self.deferred_frees.take().unwrap_or_default() {
            super::shared::release(&self.conn, id, None)?;
        }
        Ok(())
    }

    /// Frees the stored messages no live item reads any more (an older
    /// build kept them after their items were removed) among the next
    /// `window` ids above `after`, in one transaction: housekeeping sweeps
    /// the file this way, window by window. Returns the id to go on from,
    /// or `None` at the end.
    pub fn free_removed_messages(&mut self, after: u64, window: usize) -> Result<Option<u64>> {
        self.atomic(|store| super::shared::free_orphans(&store.conn, after, window))
    }

    /// Forgets tombstones up to `up_to` (see [`tidings::sync::ChangeLog::compact`]).
    pub fn compact(&mut self, collection: u64, up_to: u64) -> Result<()> {
        self.atomic(|store| store.compact_now(collection, up_to))
    }

    fn compact_now(&mut self, collection: u64, up_to: u64) -> Result<()> {
        let head = self.head(collection)?;
        let up_to = up_to.min(head.modseq);
        self.conn
            .execute(
                "DELETE FROM items WHERE collection = ?1 AND modseq <= ?2 AND packed IS NULL",
                params![to_sql(collection), to_sql(up_to)],
            )
            .map_err(storage)?;
        self.conn
            .execute(
                "UPDATE collections SET floor = max(floor, ?2) WHERE id = ?1",
                params![to_sql(collection), to_sql(up_to)],
            )
            .map(drop)
            .map_err(storage)
    }

    /// Item `id`'s packed content and its content modseq, if live.
    fn live_content(&self, collection: u64, id: u64) -> Result<Option<(Vec<u8>, u64)>> {
        self.conn
            .prepare_cached(
                "SELECT packed, content_modseq FROM items
                 WHERE collection = ?1 AND id = ?2 AND packed IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_row(params![to_sql(collection), to_sql(id)], |row| {
                    Ok((row.get(0)?, from_sql(row.get(1)?)))
                })
                .optional()
            })
            .map_err(storage)
    }

    /// Bumps the collection's modseq and writes item `id`'s new state at it.
    /// `content` says whether the content changed (not just the flags).
    fn write_item(
        &mut self,
        collection: u64,
        id: u64,
        packed: Option<Bytes>,
        flags: u32,
        content: bool,
    ) -> Result<u64> {
        self.atomic(|store| store.write_item_now(collection, id, packed, flags, content))
    }

    fn write_item_now(
        &mut self,
        collection: u64,
        id: u64,
        packed: Option<Bytes>,
        flags: u32,
        content: bool,
    ) -> Result<u64> {
        if let Some(packed) = packed.as_ref().filter(|p| p.len() > MAX_PACKED_ITEM) {
            // Named so an operator can find it: devices get it abridged.
            tracing::warn!(
                collection,
                item = id,
                packed_bytes = packed.len(),
                "item larger than one delta page: devices receive it abridged"
            );
        }
        let modseq: u64 = self
            .conn
            .prepare_cached(
                "UPDATE collections SET modseq = modseq + 1 WHERE id = ?1 RETURNING modseq",
            )
            .and_then(|mut s| s.query_row([to_sql(collection)], |row| row.get::<_, i64>(0)))
            .map(from_sql)
            .map_err(storage)?;
        // New content keeps the patch from the content it replaces (sync.md
        // §3.1); a flag change keeps the patch it had.
        let patch = match (&packed, content) {
            (Some(new), true) => self
                .live_content(collection, id)?
                .and_then(|(old, base)| StoredPatch::between(&old, base, new)),
            _ => None,
        };
        self.conn
            .prepare_cached(
                "INSERT INTO items
                   (collection, id, modseq, content_modseq, packed, flags, patch_base, patch)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?7, ?8)
                 ON CONFLICT (collection, id) DO UPDATE SET
                   modseq = excluded.modseq,
                   content_modseq = CASE WHEN ?6 THEN excluded.modseq ELSE content_modseq END,
                   packed = excluded.packed,
                   flags = excluded.flags,
                   patch_base = CASE WHEN ?6 THEN excluded.patch_base ELSE patch_base END,
                   patch = CASE WHEN ?6 THEN excluded.patch ELSE patch END",
            )
            .and_then(|mut s| {
                s.execute(params![
                    to_sql(collection),
                    to_sql(id),
                    to_sql(modseq),
                    packed.as_deref(),
                    flags,
                    content,
                    patch.as_ref().map(|p| to_sql(p.base)),
                    patch.as_ref().map(|p| &p.packed[..]),
                ])
            })
            .map_err(storage)?;
        Ok(modseq)
    }
}

impl ItemStore for SqliteStore {
    fn collection_state(&self, collection: u64) -> Result<(u64, u64)> {
        let head = self.head(collection)?;
        Ok((head.epoch, head.modseq))
    }

    fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Result<Delta> {
        let head = self.head(cursor.collection_id)?;
        if let Some(resync) = head.check(cursor) {
            return Ok(Delta::Resync(resync));
        }
        // page_after reads at most max_items + 1 entries. They are taken
        // from the row iterator rather than by a bound `LIMIT ?`: SQLite
        // throws a statement's plan away and prepares it again whenever a
        // parameter its LIMIT uses is bound anew, on every call. The index
        // on (collection, modseq) yields rows in order, so stepping stops
        // where the taking does.
        let rows = limits.max_items.max(1).saturating_add(1);
        let mut stmt = self.conn.prepare_cached(DELTA_SQL).map_err(storage)?;
        let entries = stmt
            .query_map(
                params![to_sql(cursor.collection_id), to_sql(cursor.modseq)],
                |row| {
                    let packed: Option<Vec<u8>> = row.get(3)?;
                    let patch = match (
                        row.get::<_, Option<i64>>(5)?,
                        row.get::<_, Option<Vec<u8>>>(6)?,
                    ) {
                        (Some(base), Some(packed)) => Some(StoredPatch {
                            base: from_sql(base),
                            packed: Bytes::from(packed),
                        }),
                        _ => None,
                    };
                    let state = match packed {
                        Some(packed) => ItemState::Live {
                            packed: packed.into(),
                            flags: row.get(4)?,
                            content_modseq: from_sql(row.get(2)?),
                            patch,
                        },
                        None => ItemState::Removed,
                    };
                    Ok(LogEntry {
                        id: from_sql(row.get(0)?),
                        modseq: from_sql(row.get(1)?),
                        state,
                    })
                },
            )
            .map_err(storage)?
            .take(rows)
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(storage)?;
        Ok(Delta::Page(page_after(&head, cursor, limits, entries)))
    }

    fn item(&self, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>> {
        self.head(collection)?;
        self.conn
            .prepare_cached(
                "SELECT packed, flags FROM items
                 WHERE collection = ?1 AND id = ?2 AND packed IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_row(params![to_sql(collection), to_sql(id)], |row| {
                    Ok((Bytes::from(row.get::<_, Vec<u8>>(0)?), row.get(1)?))
                })
                .optional()
            })
            .map_err(storage)
    }

    fn items(&self, collection: u64) -> Result<Vec<(u64, Bytes, u32)>> {
        self.head(collection)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, packed, flags FROM items
                 WHERE collection = ?1 AND packed IS NOT NULL ORDER BY id",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map([to_sql(collection)], |row| {
                Ok((
                    from_sql(row.get(0)?),
                    Bytes::from(row.get::<_, Vec<u8>>(1)?),
                    row.get(2)?,
                ))
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
    }

    fn items_after(
        &self,
        collection: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes, u32)>> {
        self.head(collection)?;
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, packed, flags FROM items
                 WHERE collection = ?1 AND packed IS NOT NULL AND id > ?2
                 ORDER BY id LIMIT ?3",
            )
            .map_err(storage)?;
        let rows = stmt
            .query_map(params![to_sql(collection), to_sql(after), limit], |row| {
                Ok((
                    from_sql(row.get(0)?),
                    Bytes::from(row.get::<_, Vec<u8>>(1)?),
                    row.get(2)?,
                ))
            })
            .map_err(storage)?;
        rows.collect::<rusqlite::Result<_>>().map_err(storage)
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
        let live: Option<i64> = self
            .conn
            .prepare_cached(
                "SELECT 1 FROM items WHERE collection = ?1 AND id = ?2 AND packed IS NOT NULL",
            )
            .and_then(|mut s| {
                s.query_row(params![to_sql(collection), to_sql(id)], |row| row.get(0))
                    .optional()
            })
            .map_err(storage)?;
        if live.is_none() {
            return Ok(None);
        }
        if let Some(range) = self.part_range(id, part_id, offset, length)? {
            return Ok(Some(range));
        }
        // Not stored apart (a message no parser could read at the upgrade):
        // the whole part, the slow way.
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
        self.fresh_id()
    }

    fn upsert(
        &mut self,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)> {
        self.head(collection)?;
        let id = match id {
            Some(id) => id,
            None => self.fresh_id()?,
        };
        let modseq = self.write_item(collection, id, Some(packed), flags, true)?;
        Ok((id, modseq))
    }

    fn set_flags(&mut self, collection: u64, id: u64, flags: u32) -> Result<u64> {
        let (packed, old) = self.item(collection, id)?.ok_or_else(no_item)?;
        if old == flags {
            return Ok(self.head(collection)?.modseq);
        }
        self.write_item(collection, id, Some(packed), flags, false)
    }

    fn remove(&mut self, collection: u64, id: u64) -> Result<u64> {
        self.item(collection, id)?.ok_or_else(no_item)?;
        // The tombstone and the freeing of the mail's bytes commit together.
        self.atomic(|store| {
            let modseq = store.write_item_now(collection, id, None, 0, true)?;
            match store.deferred_frees.as_mut() {
                Some(removed) => removed.push(id),
                None => super::shared::release(&store.conn, id, None)?,
            }
            Ok(modseq)
        })
    }
}
