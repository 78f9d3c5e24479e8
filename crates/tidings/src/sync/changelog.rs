//! A collection's change log on the server: every item's latest state,
//! indexed by the modseq of its latest change.
//!
//! Changes to one item coalesce: only its latest modseq is indexed, so a
//! delta from any cursor is a range scan, O(log n + k) for k changes in a
//! collection of n items, and the log never grows past one entry per item
//! (plus tombstones until they are compacted).

use super::page::{Delta, ItemState, LogEntry, LogHead, PageLimits, StoredPatch, page_after};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::Cursor;
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};

#[derive(Clone, Debug)]
struct Entry {
    modseq: u64,
    state: ItemState,
}

/// One collection's items and their change history, coalesced.
#[derive(Clone, Debug)]
pub struct ChangeLog {
    collection_id: u64,
    epoch: u64,
    modseq: u64,
    /// Cursors below this cannot be served: removals before it are forgotten.
    floor: u64,
    entries: HashMap<u64, Entry>,
    by_modseq: BTreeMap<u64, u64>,
}

impl ChangeLog {
    /// An empty log for `collection_id` at `epoch` (never 0: 0 means "unknown"
    /// in a fresh device's cursor).
    pub fn new(collection_id: u64, epoch: u64) -> Self {
        Self {
            collection_id,
            epoch: epoch.max(1),
            modseq: 0,
            floor: 0,
            entries: HashMap::new(),
            by_modseq: BTreeMap::new(),
        }
    }

    /// The collection this log belongs to.
    pub fn collection_id(&self) -> u64 {
        self.collection_id
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The modseq of the latest change.
    pub fn modseq(&self) -> u64 {
        self.modseq
    }

    /// The oldest cursor (other than 0) the log can still serve.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Number of live items.
    pub fn len(&self) -> usize {
        self.entries
            .values()
            .filter(|e| matches!(e.state, ItemState::Live { .. }))
            .count()
    }

    /// Whether the collection has no live items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An item's packed bytes and flags, if it is live.
    pub fn get(&self, id: u64) -> Option<(&Bytes, u32)> {
        match &self.entries.get(&id)?.state {
            ItemState::Live { packed, flags, .. } => Some((packed, *flags)),
            ItemState::Removed => None,
        }
    }

    /// Every live item as (id, packed, flags), in id order: the server's view.
    pub fn live_items(&self) -> Vec<(u64, Bytes, u32)> {
        let mut items: Vec<_> = self
            .entries
            .iter()
            .filter_map(|(id, e)| match &e.state {
                ItemState::Live { packed, flags, .. } => Some((*id, packed.clone(), *flags)),
                ItemState::Removed => None,
            })
            .collect();
        items.sort_unstable_by_key(|(id, _, _)| *id);
        items
    }

    /// Creates or replaces item `id` with new packed content and flags. A
    /// replaced item keeps the patch from its previous content, for devices
    /// that hold that content (sync.md §3.1).
    pub fn upsert(&mut self, id: u64, packed: Bytes, flags: u32) -> u64 {
        let patch = match self.entries.get(&id) {
            Some(Entry {
                state:
                    ItemState::Live {
                        packed: old,
                        content_modseq,
                        ..
                    },
                ..
            }) => StoredPatch::between(old, *content_modseq, &packed),
            _ => None,
        };
        let modseq = self.next_modseq();
        self.record(
            id,
            Entry {
                modseq,
                state: ItemState::Live {
                    packed,
                    flags,
                    content_modseq: modseq,
                    patch,
                },
            },
        );
        modseq
    }

    /// Changes only the flags of live item `id`; unchanged flags change nothing.
    pub fn set_flags(&mut self, id: u64, new_flags: u32) -> Result<u64> {
        let Some(Entry {
            state:
                ItemState::Live {
                    packed,
                    flags,
                    content_modseq,
                    patch,
                },
            ..
        }) = self.entries.get(&id)
        else {
            return Err(Error::new(
                ErrorKind::NotFound,
                "no such item in the collection",
            ));
        };
        if *flags == new_flags {
            return Ok(self.modseq);
        }
        let state = ItemState::Live {
            packed: packed.clone(),
            flags: new_flags,
            content_modseq: *content_modseq,
            patch: patch.clone(),
        };
        let modseq = self.next_modseq();
        self.record(id, Entry { modseq, state });
        Ok(modseq)
    }

    /// Removes live item `id`, leaving a tombstone until compaction.
    pub fn remove(&mut self, id: u64) -> Result<u64> {
        if self.get(id).is_none() {
            return Err(Error::new(
                ErrorKind::NotFound,
                "no such item in the collection",
            ));
        }
        let modseq = self.next_modseq();
        self.record(
            id,
            Entry {
                modseq,
                state: ItemState::Removed,
            },
        );
        Ok(modseq)
    }

    /// Forgets tombstones up to `up_to` (typically the oldest cursor any device
    /// has acknowledged). Cursors older than that, issued before this call,
    /// then get resync-required; cursors issued after it (a device catching up
    /// through old, unchanged items) carry the new floor and are still served.
    pub fn compact(&mut self, up_to: u64) {
        let up_to = up_to.min(self.modseq);
        let forgotten: Vec<(u64, u64)> = self
            .by_modseq
            .range(..=up_to)
            .filter(|(_, id)| {
                matches!(
                    self.entries.get(id),
                    Some(Entry {
                        state: ItemState::Removed,
                        ..
                    })
                )
            })
            .map(|(m, id)| (*m, *id))
            .collect();
        for (modseq, id) in forgotten {
            self.by_modseq.remove(&modseq);
            self.entries.remove(&id);
        }
        self.floor = self.floor.max(up_to);
    }

    /// Starts a new epoch with no items: the collection was recreated. Every
    /// existing cursor then gets resync-required.
    pub fn recreate(&mut self) {
        *self = ChangeLog::new(self.collection_id, self.epoch + 1);
    }

    /// Where the log stands: what a delta is computed against.
    pub fn head(&self) -> LogHead {
        LogHead {
            collection_id: self.collection_id,
            epoch: self.epoch,
            modseq: self.modseq,
            floor: self.floor,
        }
    }

    /// The changes after `cursor`, within `limits`, or resync-required.
    ///
    /// A cursor of modseq 0 (a device with nothing) is always served, from the
    /// current epoch; its page carries no removals.
    pub fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Delta {
        let head = self.head();
        if let Some(resync) = head.check(cursor) {
            return Delta::Resync(resync);
        }
        let entries = self
            .by_modseq
            .range(cursor.modseq.saturating_add(1)..)
            .filter_map(|(&modseq, &id)| {
                let entry = self.entries.get(&id)?;
                Some(LogEntry {
                    id,
                    modseq,
                    state: entry.state.clone(),
                })
            });
        Delta::Page(page_after(&head, cursor, limits, entries))
    }

    fn next_modseq(&mut self) -> u64 {
        self.modseq += 1;
        self.modseq
    }

    fn record(&mut self, id: u64, entry: Entry) {
        if let Some(old) = self.entries.get(&id) {
            self.by_modseq.remove(&old.modseq);
        }
        self.by_modseq.insert(entry.modseq, id);
        self.entries.insert(id, entry);
    }
}
