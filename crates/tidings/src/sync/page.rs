//! The paging rules, apart from any one storage: given where a collection's
//! log stands ([`LogHead`]) and its entries after a cursor in modseq order
//! ([`LogEntry`]), what the device is sent. [`ChangeLog`](super::ChangeLog)
//! runs them over memory; a database-backed store runs them over rows, so
//! every store serves byte-identical deltas.

use super::abridge::{deliverable_whole, fit_packed};
use crate::proto::{
    Cursor, DeltaPage, FlagChange, ItemPatch, ItemUpsert, ResyncReason, ResyncRequired,
};
use bytes::Bytes;

/// Most items one delta page carries abridged (sync.md §3 rule 9): each is
/// unpacked, cut and packed again whenever it is sent, so a page of a
/// hundred large mails cost a hundred times one; the rest follow in the
/// next pages, as acknowledgements free the window.
pub const MAX_ABRIDGED_PER_PAGE: usize = 4;

/// How much one delta page may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimits {
    /// Most changes (upserts, flag changes and removals) in one page; at least 1.
    pub max_items: usize,
    /// Most packed item bytes in one page; a page always carries at least one
    /// change, so one item larger than this still goes, alone. No item is
    /// larger than [`MAX_PACKED_ITEM`](super::MAX_PACKED_ITEM): a larger one goes abridged.
    pub max_bytes: usize,
    /// Whether the device applies patches (`FEATURE_ITEM_PATCHES`): a
    /// changed item it holds whole then travels as an [`ItemPatch`] when the
    /// store kept one (sync.md §3.1).
    pub patches: bool,
}

impl Default for PageLimits {
    /// 100 changes or 48 KiB of packed items: one page fits one frame. No
    /// patches: a device that applies them says so.
    fn default() -> Self {
        Self {
            max_items: 100,
            max_bytes: 48 << 10,
            patches: false,
        }
    }
}

/// The answer to "what changed since this cursor".
#[derive(Clone, Debug, PartialEq)]
pub enum Delta {
    /// Changes from the cursor to `page.to_modseq`.
    Page(DeltaPage),
    /// The cursor cannot be served: the device must sync the collection afresh.
    Resync(ResyncRequired),
}

/// An item's latest state in a change log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemState {
    /// The item exists.
    Live {
        /// Its packed bytes.
        packed: Bytes,
        /// Its flags.
        flags: u32,
        /// Modseq of the last change to the content (not just the flags).
        content_modseq: u64,
        /// The edits from the content before that change to this one, when
        /// the store kept them.
        patch: Option<StoredPatch>,
    },
    /// The item was removed (a tombstone until compaction).
    Removed,
}

/// What turns an item's previous content into its current one: the packed
/// `MessagePatch` of an [`ItemPatch`], made by
/// [`item_patch`](super::patch::item_patch) when the content was replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPatch {
    /// The content modseq of the version the patch starts from.
    pub base: u64,
    /// The packed patch.
    pub packed: Bytes,
}

impl StoredPatch {
    /// The patch from the live content `old` (stored at `base`) to `new`,
    /// when one is smaller than `new`.
    pub fn between(old: &[u8], base: u64, new: &[u8]) -> Option<Self> {
        let packed = super::patch::item_patch(old, new)?;
        Some(Self { base, packed })
    }
}

/// One item's latest change, as a store reads it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// The item.
    pub id: u64,
    /// The modseq of its latest change.
    pub modseq: u64,
    /// Its state after that change.
    pub state: ItemState,
}

/// Where a collection's change log stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogHead {
    /// The collection.
    pub collection_id: u64,
    /// Its epoch (never 0).
    pub epoch: u64,
    /// The modseq of its latest change.
    pub modseq: u64,
    /// Cursors below this cannot be served: removals before it are forgotten.
    pub floor: u64,
}

impl LogHead {
    /// Why `cursor` cannot be served from this log, if it cannot. A cursor of
    /// modseq 0 (a device with nothing) is always served.
    pub fn check(&self, cursor: &Cursor) -> Option<ResyncRequired> {
        let fresh = cursor.modseq == 0;
        let reason = if cursor.collection_id != self.collection_id {
            ResyncReason::Unspecified
        } else if !fresh && cursor.epoch != self.epoch {
            ResyncReason::Recreated
        } else if cursor.modseq > self.modseq {
            ResyncReason::CursorAhead
        } else if !fresh && cursor.modseq < self.floor && cursor.floor < self.floor {
            // Removals above the cursor were forgotten after it was issued.
            ResyncReason::LogCompacted
        } else {
            return None;
        };
        Some(ResyncRequired {
            collection_id: self.collection_id,
            epoch: self.epoch,
            reason: reason as i32,
        })
    }
}

/// The page after `cursor` (which [`LogHead::check`] accepted), from
/// `entries`: the log's entries with modseq above the cursor, in modseq
/// order. At most `limits.max_items + 1` entries are read.
pub fn page_after(
    head: &LogHead,
    cursor: &Cursor,
    limits: &PageLimits,
    entries: impl IntoIterator<Item = LogEntry>,
) -> DeltaPage {
    let from = cursor.modseq;
    // Only a device that was fully caught up at `from` holds every item
    // whose content is older than `from`: only it may get flag changes.
    let complete = from != 0 && !cursor.partial;
    let in_full = |content_modseq: u64| content_modseq > from || !complete;
    // A device that was complete at `from` holds the content the patch
    // starts from when that content is no newer than `from`.
    let patches = limits.patches && complete;
    let mut page = DeltaPage {
        collection_id: head.collection_id,
        epoch: head.epoch,
        from_modseq: from,
        to_modseq: head.modseq,
        ..DeltaPage::default()
    };
    let (mut count, mut bytes, mut abridged) = (0usize, 0usize, 0usize);
    for entry in entries {
        let send = match &entry.state {
            ItemState::Live {
                patch: Some(patch),
                content_modseq,
                ..
            } if patches && *content_modseq > from && patch.base <= from => {
                Send::Patch(patch.packed.clone())
            }
            // An item too large for one page goes abridged (§3 rule 9).
            ItemState::Live {
                packed,
                content_modseq,
                ..
            } if in_full(*content_modseq) => {
                // Each item abridged is read and cut again: a page holds
                // a few, so no page costs more than a few items' work.
                if !deliverable_whole(packed) {
                    if count > 0 && abridged >= MAX_ABRIDGED_PER_PAGE {
                        page.more = true;
                        break;
                    }
                    abridged += 1;
                }
                Send::Whole(fit_packed(packed))
            }
            ItemState::Live { .. } => Send::Flags,
            ItemState::Removed => Send::Removal,
        };
        let size = match &send {
            Send::Patch(packed) | Send::Whole(packed) => packed.len(),
            Send::Flags | Send::Removal => 0,
        };
        if count > 0 && (count >= limits.max_items.max(1) || bytes + size > limits.max_bytes) {
            page.more = true;
            break;
        }
        let flags = match entry.state {
            ItemState::Live { flags, .. } => flags,
            ItemState::Removed => 0,
        };
        match send {
            Send::Whole(packed) => page.upserts.push(ItemUpsert {
                id: entry.id,
                packed: packed.to_vec(),
                flags,
            }),
            Send::Patch(packed) => page.patches.push(ItemPatch {
                id: entry.id,
                packed: packed.to_vec(),
                flags,
            }),
            Send::Flags => page.flag_changes.push(FlagChange {
                id: entry.id,
                flags,
            }),
            Send::Removal if from == 0 => {}
            Send::Removal => page.removals.push(entry.id),
        }
        count += 1;
        bytes += size;
        page.to_modseq = entry.modseq;
    }
    if !page.more {
        page.to_modseq = head.modseq;
    }
    if page.to_modseq < head.floor {
        page.floor = head.floor;
    }
    page
}

/// How one entry travels.
enum Send {
    Whole(Bytes),
    Patch(Bytes),
    Flags,
    Removal,
}
