//! Pages from rows: the delta after a cursor, built by the core's rules
//! (`page_after`) from a collection's head and the items after the cursor
//! as one query returned them.

use crate::conn::{from_sql, get, get_u32, get_u64};
use crate::items::{head_row, no_collection};
use postgres::Row;
use tidings::Result;
use tidings::proto::Cursor;
use tidings::sync::{Delta, ItemState, LogEntry, PageLimits, StoredPatch, page_after};

/// The delta after `cursor` from the rows of one collection: its head in
/// columns `first..first + 3` of every row, then one item per row in the
/// columns after it (one row of NULLs when no item follows the cursor).
pub(crate) fn delta_of(
    cursor: &Cursor,
    limits: &PageLimits,
    rows: &[Row],
    first: usize,
) -> Result<Delta> {
    let head = rows.first().ok_or_else(no_collection)?;
    let head = head_row(cursor.collection_id, head, first)?;
    if let Some(resync) = head.check(cursor) {
        return Ok(Delta::Resync(resync));
    }
    let item = first + 3;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(id) = get::<Option<i64>>(row, item)? else {
            continue;
        };
        let patch = match (
            get::<Option<i64>>(row, item + 5)?,
            get::<Option<Vec<u8>>>(row, item + 6)?,
        ) {
            (Some(base), Some(packed)) => Some(StoredPatch {
                base: from_sql(base),
                packed: packed.into(),
            }),
            _ => None,
        };
        let state = match get::<Option<Vec<u8>>>(row, item + 3)? {
            Some(packed) => ItemState::Live {
                packed: packed.into(),
                flags: get_u32(row, item + 4)?,
                content_modseq: get_u64(row, item + 2)?,
                patch,
            },
            None => ItemState::Removed,
        };
        entries.push(LogEntry {
            id: from_sql(id),
            modseq: get_u64(row, item + 1)?,
            state,
        });
    }
    Ok(Delta::Page(page_after(&head, cursor, limits, entries)))
}
