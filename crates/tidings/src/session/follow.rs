//! What a server session follows: for each visible collection, how far it has
//! sent the device and how many pages await an acknowledgement. This is all
//! the per-device sync state there is (cursors, never queues), and the
//! paging rules live here.

use super::preview;
use crate::error::{ErrorKind, Result};
use crate::proto::{Cursor, DeltaPage, Hello, ItemUpsert, envelope::Body};
use crate::store::Store;
use crate::sync::abridge::abridge;
use crate::sync::{Delta, MAX_PACKED_ITEM, PageLimits};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, Default)]
struct Follow {
    /// Where the last page sent in this session ended.
    sent: Cursor,
    /// A page was sent in this session: the next may use the continuing form.
    continuing: bool,
    unacked: u32,
}

/// The collections one session follows.
#[derive(Debug)]
pub(crate) struct Follows {
    map: BTreeMap<u64, Follow>,
    /// The preview size items are packed with on this server.
    packed_preview: usize,
    /// The smaller preview this device asked for, if it did.
    trim_to: Option<usize>,
    limits: PageLimits,
    max_unacked: u32,
}

impl Follows {
    pub(crate) fn new(limits: PageLimits, max_unacked: u32, packed_preview: usize) -> Self {
        Self {
            map: BTreeMap::new(),
            packed_preview,
            trim_to: None,
            limits,
            max_unacked: max_unacked.max(1),
        }
    }

    /// Follows every collection `principal` may see, from the device's cursor
    /// in `hello` or from the start.
    pub(crate) fn start<S: Store>(
        &mut self,
        store: &S,
        principal: u64,
        hello: &Hello,
    ) -> Result<()> {
        self.map.clear();
        let wanted = usize::try_from(hello.preview_bytes).unwrap_or(usize::MAX);
        self.trim_to = (wanted != 0 && wanted < self.packed_preview).then_some(wanted);
        for info in store.collection_infos(principal)? {
            let fresh = Cursor {
                collection_id: info.id,
                ..Cursor::default()
            };
            let sent = hello
                .cursors
                .iter()
                .find(|c| c.collection_id == info.id)
                .copied()
                .unwrap_or(fresh);
            self.map.insert(
                info.id,
                Follow {
                    sent,
                    continuing: false,
                    unacked: 0,
                },
            );
        }
        Ok(())
    }

    pub(crate) fn collections(&self) -> Vec<u64> {
        self.map.keys().copied().collect()
    }

    /// The next message for `collection`: a page, or resync-required; `None`
    /// when the device has everything or the window is full.
    pub(crate) fn next<S: Store>(
        &mut self,
        store: &S,
        principal: u64,
        collection: u64,
    ) -> Result<Option<Body>> {
        let Some(follow) = self.map.get_mut(&collection) else {
            return Ok(None);
        };
        if follow.unacked >= self.max_unacked {
            return Ok(None);
        }
        match store.delta_for(principal, &follow.sent, &self.limits)? {
            Delta::Resync(resync) => {
                follow.sent = Cursor {
                    collection_id: collection,
                    epoch: resync.epoch,
                    ..Cursor::default()
                };
                follow.continuing = false;
                // Pages in flight are moot now; their acks will be stale.
                follow.unacked = 0;
                Ok(Some(Body::ResyncRequired(resync)))
            }
            Delta::Page(mut page) => {
                let empty = page.upserts.is_empty()
                    && page.removals.is_empty()
                    && page.flag_changes.is_empty();
                if empty && page.epoch == follow.sent.epoch && page.to_modseq == follow.sent.modseq
                {
                    return Ok(None);
                }
                follow.sent = Cursor {
                    collection_id: collection,
                    epoch: page.epoch,
                    modseq: page.to_modseq,
                    floor: page.floor,
                    partial: page.more,
                };
                if follow.continuing && page.from_modseq < page.to_modseq {
                    // Continuing form: epoch, from and to are implied by the
                    // previous page (an epoch change is always a resync first).
                    page.advance = page.to_modseq - page.from_modseq;
                    page.from_modseq = 0;
                    page.to_modseq = 0;
                    page.epoch = 0;
                }
                follow.continuing = true;
                follow.unacked += 1;
                if let Some(limit) = self.trim_to {
                    preview::trim(&mut page, limit)?;
                }
                Ok(Some(Body::Delta(page)))
            }
        }
    }

    /// Takes a prepared page if `collection` stands exactly at `from` in this
    /// session with the window open; the page then ends at `to`.
    pub(crate) fn take_prepared(&mut self, from: &Cursor, to: &Cursor) -> bool {
        if self.trim_to.is_some() {
            return false; // this device's pages are cut to its preview size
        }
        let Some(follow) = self.map.get_mut(&from.collection_id) else {
            return false;
        };
        let at = follow.sent.epoch == from.epoch
            && follow.sent.modseq == from.modseq
            && !follow.sent.partial;
        if !at || !follow.continuing || follow.unacked >= self.max_unacked {
            return false;
        }
        follow.sent = *to;
        follow.unacked += 1;
        true
    }

    /// Records an acknowledgement; returns whether it is current (and so
    /// worth storing). An ack from before a resync (another epoch, or a
    /// modseq past what has been sent since) is stale, not hostile: it is
    /// ignored. An ack for a collection not followed is refused.
    pub(crate) fn acked(&mut self, cursor: &Cursor) -> Result<bool> {
        let follow = self
            .map
            .get_mut(&cursor.collection_id)
            .ok_or(ErrorKind::InvalidCursor)?;
        if cursor.epoch != follow.sent.epoch || cursor.modseq > follow.sent.modseq {
            return Ok(false);
        }
        follow.unacked = follow.unacked.saturating_sub(1);
        Ok(true)
    }

    /// A repair page for `collection`: current versions at the cursor already
    /// sent, so it moves nothing. Items too large for a page go abridged, as
    /// in any page.
    pub(crate) fn repair_page(
        &self,
        collection: u64,
        mut upserts: Vec<ItemUpsert>,
        removals: Vec<u64>,
    ) -> DeltaPage {
        for upsert in &mut upserts {
            if upsert.packed.len() > MAX_PACKED_ITEM {
                upsert.packed = abridge(&upsert.packed);
            }
        }
        let sent = self
            .map
            .get(&collection)
            .map(|f| f.sent)
            .unwrap_or_default();
        DeltaPage {
            collection_id: collection,
            epoch: sent.epoch,
            from_modseq: sent.modseq,
            to_modseq: sent.modseq,
            upserts,
            removals,
            ..DeltaPage::default()
        }
    }
}
