//! A collection's change log on the server: every item's latest state,
//! indexed by the modseq of its latest change.
//!
//! Changes to one item coalesce: only its latest modseq is indexed, so a
//! delta from any cursor is a range scan, O(log n + k) for k changes in a
//! collection of n items, and the log never grows past one entry per item
//! (plus tombstones until they are compacted).

use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Cursor, DeltaPage, FlagChange, ItemUpsert, ResyncReason, ResyncRequired};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};

/// How much one delta page may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimits {
    /// Most changes (upserts, flag changes and removals) in one page; at least 1.
    pub max_items: usize,
    /// Most packed item bytes in one page; a page always carries at least one
    /// change, so one item larger than this still goes, alone.
    pub max_bytes: usize,
}

impl Default for PageLimits {
    /// 100 changes or 48 KiB of packed items: one page fits one frame.
    fn default() -> Self {
        Self {
            max_items: 100,
            max_bytes: 48 << 10,
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

#[derive(Clone, Debug)]
enum State {
    Live {
        packed: Bytes,
        flags: u32,
        /// Modseq of the last change to the content (not just the flags).
        content_modseq: u64,
    },
    Removed,
}

#[derive(Clone, Debug)]
struct Entry {
    modseq: u64,
    state: State,
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
            .filter(|e| matches!(e.state, State::Live { .. }))
            .count()
    }

    /// Whether the collection has no live items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An item's packed bytes and flags, if it is live.
    pub fn get(&self, id: u64) -> Option<(&Bytes, u32)> {
        match &self.entries.get(&id)?.state {
            State::Live { packed, flags, .. } => Some((packed, *flags)),
            State::Removed => None,
        }
    }

    /// Every live item as (id, packed, flags), in id order: the server's view.
    pub fn live_items(&self) -> Vec<(u64, Bytes, u32)> {
        let mut items: Vec<_> = self
            .entries
            .iter()
            .filter_map(|(id, e)| match &e.state {
                State::Live { packed, flags, .. } => Some((*id, packed.clone(), *flags)),
                State::Removed => None,
            })
            .collect();
        items.sort_unstable_by_key(|(id, _, _)| *id);
        items
    }

    /// Creates or replaces item `id` with new packed content and flags.
    pub fn upsert(&mut self, id: u64, packed: Bytes, flags: u32) -> u64 {
        let modseq = self.next_modseq();
        self.record(
            id,
            Entry {
                modseq,
                state: State::Live {
                    packed,
                    flags,
                    content_modseq: modseq,
                },
            },
        );
        modseq
    }

    /// Changes only the flags of live item `id`; unchanged flags change nothing.
    pub fn set_flags(&mut self, id: u64, new_flags: u32) -> Result<u64> {
        let Some(Entry {
            state:
                State::Live {
                    packed,
                    flags,
                    content_modseq,
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
        let state = State::Live {
            packed: packed.clone(),
            flags: new_flags,
            content_modseq: *content_modseq,
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
                state: State::Removed,
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
                        state: State::Removed,
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

    /// The changes after `cursor`, within `limits`, or resync-required.
    ///
    /// A cursor of modseq 0 (a device with nothing) is always served, from the
    /// current epoch; its page carries no removals.
    pub fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Delta {
        let fresh = cursor.modseq == 0;
        let reason = if cursor.collection_id != self.collection_id {
            Some(ResyncReason::Unspecified)
        } else if !fresh && cursor.epoch != self.epoch {
            Some(ResyncReason::Recreated)
        } else if cursor.modseq > self.modseq {
            Some(ResyncReason::CursorAhead)
        } else if !fresh && cursor.modseq < self.floor && cursor.floor < self.floor {
            // Removals above the cursor were forgotten after it was issued.
            Some(ResyncReason::LogCompacted)
        } else {
            None
        };
        if let Some(reason) = reason {
            return Delta::Resync(ResyncRequired {
                collection_id: self.collection_id,
                epoch: self.epoch,
                reason: reason as i32,
            });
        }
        Delta::Page(self.page_after(cursor, limits))
    }

    fn page_after(&self, cursor: &Cursor, limits: &PageLimits) -> DeltaPage {
        let from = cursor.modseq;
        // Only a device that was fully caught up at `from` holds every item
        // whose content is older than `from`: only it may get flag changes.
        let complete = from != 0 && !cursor.partial;
        let in_full = |content_modseq: u64| content_modseq > from || !complete;
        let mut page = DeltaPage {
            collection_id: self.collection_id,
            epoch: self.epoch,
            from_modseq: from,
            to_modseq: self.modseq,
            ..DeltaPage::default()
        };
        let (mut count, mut bytes) = (0usize, 0usize);
        for (&modseq, id) in self.by_modseq.range(from.saturating_add(1)..) {
            let Some(entry) = self.entries.get(id) else {
                continue;
            };
            let size = match &entry.state {
                State::Live {
                    packed,
                    content_modseq,
                    ..
                } if in_full(*content_modseq) => packed.len(),
                _ => 0,
            };
            if count > 0 && (count >= limits.max_items.max(1) || bytes + size > limits.max_bytes) {
                page.more = true;
                break;
            }
            match &entry.state {
                State::Live {
                    packed,
                    flags,
                    content_modseq,
                } if in_full(*content_modseq) => {
                    page.upserts.push(ItemUpsert {
                        id: *id,
                        packed: packed.to_vec(),
                        flags: *flags,
                    });
                }
                State::Live { flags, .. } => page.flag_changes.push(FlagChange {
                    id: *id,
                    flags: *flags,
                }),
                State::Removed if from == 0 => {}
                State::Removed => page.removals.push(*id),
            }
            count += 1;
            bytes += size;
            page.to_modseq = modseq;
        }
        if !page.more {
            page.to_modseq = self.modseq;
        }
        if page.to_modseq < self.floor {
            page.floor = self.floor;
        }
        page
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
