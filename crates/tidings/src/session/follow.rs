//! What a server session follows: for each visible collection, how far it has
//! sent the device and how many pages await an acknowledgement. This is all
//! the per-device sync state there is (cursors, never queues), and the
//! paging rules live here.

use super::fanout::PreparedPage;
use super::id_map::IdMap;
use super::preview;
use crate::error::Result;
use crate::proto::{CaughtUp, Cursor, DeltaPage, Hello, ItemUpsert, envelope::Body};
use crate::store::ItemStore;
use crate::sync::abridge::abridge;
use crate::sync::{Delta, PageLimits, deliverable_whole};

#[derive(Clone, Debug, Default)]
struct Follow {
    /// Where the last page sent in this session ended.
    sent: Cursor,
    /// A page was sent in this session: the next may use the continuing form.
    continuing: bool,
    /// Pages in flight: sent, not yet acknowledged.
    unacked: u32,
    /// Where each page in flight but the last ends ([`position`]), oldest
    /// first (the last ends at `sent`): an acknowledgement frees every
    /// page it covers, however many (one cumulative cursor for four pages
    /// frees four slots, a repeated one frees none). `None`, no
    /// allocation and one word, while at most one page is in flight, as
    /// it is for a device that keeps up.
    #[expect(
        clippy::box_collection,
        reason = "one word per followed collection while idle, not a Vec's three"
    )]
    earlier: Option<Box<Vec<u64>>>,
    /// `CaughtUp` was due and given for the catch-up under way: set once the
    /// device has been sent everything, cleared by a resync.
    caught_up: bool,
    /// The last look found nothing more to send, and nothing has been sent
    /// since that could leave more behind: an acknowledgement needs no look
    /// at the store (news of a change comes from the application).
    settled: bool,
}

/// What [`Follows::next`] found for one collection.
#[derive(Debug)]
pub(crate) enum Next {
    /// A page or a resync-required to send (boxed: a body is large, and
    /// the other answers are a few bytes).
    Send(Box<Body>),
    /// The window is full: wait for an acknowledgement.
    Window,
    /// The device has been sent everything; `Some` the first time since the
    /// catch-up began (the `CaughtUp` to send), `None` after.
    UpToDate(Option<CaughtUp>),
}

/// The collections one session follows.
#[derive(Debug)]
pub(crate) struct Follows {
    map: IdMap<Follow>,
    /// The preview size items are packed with on this server.
    packed_preview: usize,
    /// The smaller preview this device asked for, if it did.
    trim_to: Option<usize>,
    limits: PageLimits,
    /// The server's most changes per page: the default and the ceiling of
    /// what a device may ask for.
    server_items: usize,
    max_unacked: u32,
}

impl Follow {
    /// Whether a window of `max_unacked` pages is in flight.
    fn window_full(&self, max_unacked: u32) -> bool {
        self.unacked >= max_unacked
    }

    /// Records a page sent, ending at `to`.
    fn sent_page(&mut self, to: Cursor) {
        if self.unacked > 0 {
            // The page that ended at `sent` is still in flight.
            let earlier = self.earlier.get_or_insert_with(Box::default);
            earlier.push(position(&self.sent));
        }
        self.sent = to;
        self.unacked = self.unacked.saturating_add(1);
    }

    /// Frees every page in flight that ends at or before `cursor`.
    fn acknowledged(&mut self, cursor: &Cursor) {
        let at = position(cursor);
        if at >= position(&self.sent) {
            (self.unacked, self.earlier) = (0, None);
            return;
        }
        if let Some(earlier) = self.earlier.as_mut() {
            let covered = earlier.partition_point(|&end| end <= at);
            earlier.drain(..covered);
            let covered = u32::try_from(covered).unwrap_or(u32::MAX);
            self.unacked = self.unacked.saturating_sub(covered);
            if earlier.is_empty() {
                self.earlier = None;
            }
        }
    }
}

/// Where a cursor stands, as a number that orders pages: its modseq, and
/// within it a page cut there (`partial`) before the complete one.
fn position(cursor: &Cursor) -> u64 {
    cursor.modseq.saturating_mul(2) | u64::from(!cursor.partial)
}

fn fresh(collection_id: u64) -> Cursor {
    Cursor {
        collection_id,
        ..Cursor::default()
    }
}

impl From<Cursor> for Follow {
    fn from(sent: Cursor) -> Self {
        Self {
            sent,
            continuing: false,
            unacked: 0,
            earlier: None,
            caught_up: false,
            settled: false,
        }
    }
}

impl Follows {
    pub(crate) fn new(limits: PageLimits, max_unacked: u32, packed_preview: usize) -> Self {
        Self {
            map: IdMap::default(),
            packed_preview,
            trim_to: None,
            limits,
            server_items: limits.max_items.max(1),
            max_unacked: max_unacked.max(1),
        }
    }

    /// Pages in flight per collection before an acknowledgement is needed
    /// (`Welcome.max_unacked_pages`).
    pub(crate) fn window(&self) -> u32 {
        self.max_unacked
    }

    /// Follows every collection of `visible` (the list the Welcome gave),
    /// from the device's cursor in `hello` or from the start.
    pub(crate) fn start(&mut self, visible: &[u64], hello: &Hello, patches: bool) {
        self.map.clear();
        let wanted = usize::try_from(hello.preview_bytes).unwrap_or(usize::MAX);
        self.trim_to = (wanted != 0 && wanted < self.packed_preview).then_some(wanted);
        // A device with cut previews holds versions patches do not start
        // from: it gets changed items whole.
        self.limits.patches = patches && self.trim_to.is_none();
        // The device's page size, within the server's (sync.md §3 rule 3).
        let items = usize::try_from(hello.page_items).unwrap_or(usize::MAX);
        self.limits.max_items = match items {
            0 => self.server_items,
            n => n.min(self.server_items),
        };
        for &id in visible {
            let sent = hello
                .cursors
                .iter()
                .find(|c| c.collection_id == id)
                .copied()
                .unwrap_or_else(|| fresh(id));
            self.map.insert(id, Follow::from(sent));
        }
        self.map.shrink();
    }

    /// Follows exactly `visible` from now on: a collection that became
    /// visible is followed from the start, one that is gone is dropped.
    pub(crate) fn retain_exactly(&mut self, visible: &[u64]) {
        self.map.retain(|id, _| visible.contains(&id));
        for &id in visible {
            self.map.insert_if_absent(id, || Follow::from(fresh(id)));
        }
        self.map.shrink();
    }

    pub(crate) fn collections(&self) -> Vec<u64> {
        self.map.iter().map(|(id, _)| id).collect()
    }

    /// Whether no collection owes the device a page without a new change.
    pub(crate) fn all_settled(&self) -> bool {
        self.map.iter().all(|(_, f)| f.settled)
    }

    /// The collections that may owe the device a page without any new
    /// change: a full window, a partial page, or not looked at yet.
    pub(crate) fn unsettled(&self) -> Vec<u64> {
        self.map
            .iter()
            .filter(|(_, f)| !f.settled)
            .map(|(id, _)| id)
            .collect()
    }

    /// The next message for `collection`: a page or resync-required to
    /// send, a full window, or nothing left to send. The caller has checked
    /// that the device's principal may read `collection`.
    pub(crate) fn next<S: ItemStore>(&mut self, store: &S, collection: u64) -> Result<Next> {
        match self.wants(collection) {
            Ok(from) => self.take(collection, store.delta(&from, &self.limits)?),
            Err(next) => Ok(next),
        }
    }

    /// The cursor `collection`'s next delta is read from, or what to do
    /// without reading one (not followed; a full window). Follow it with
    /// [`take`](Self::take) of the delta read from that cursor.
    pub(crate) fn wants(&mut self, collection: u64) -> core::result::Result<Cursor, Next> {
        let Some(follow) = self.map.get_mut(collection) else {
            return Err(Next::UpToDate(None));
        };
        // Settled only by finding nothing more below.
        follow.settled = false;
        if follow.window_full(self.max_unacked) {
            return Err(Next::Window);
        }
        Ok(follow.sent)
    }

    /// The page limits deltas are read with.
    pub(crate) fn limits(&self) -> &PageLimits {
        &self.limits
    }

    /// The next message for `collection` from `delta`, read from the cursor
    /// [`wants`](Self::wants) gave.
    pub(crate) fn take(&mut self, collection: u64, delta: Delta) -> Result<Next> {
        let Some(follow) = self.map.get_mut(collection) else {
            return Ok(Next::UpToDate(None));
        };
        match delta {
            Delta::Resync(resync) => {
                follow.sent = Cursor {
                    collection_id: collection,
                    epoch: resync.epoch,
                    ..Cursor::default()
                };
                follow.continuing = false;
                follow.caught_up = false;
                // Pages in flight are moot now; their acks will be stale.
                (follow.unacked, follow.earlier) = (0, None);
                Ok(Next::Send(Box::new(Body::ResyncRequired(resync))))
            }
            Delta::Page(mut page) => {
                let empty = page.upserts.is_empty()
                    && page.removals.is_empty()
                    && page.flag_changes.is_empty()
                    && page.patches.is_empty();
                // An empty page moves nothing: never sent (a device with
                // nothing in an empty collection keeps its cursor at 0).
                let fresh_and_empty = follow.sent.modseq == 0 && page.to_modseq == 0;
                let same_epoch = page.epoch == follow.sent.epoch;
                if empty
                    && (fresh_and_empty || (same_epoch && page.to_modseq == follow.sent.modseq))
                {
                    let due = !follow.caught_up;
                    follow.caught_up = true;
                    follow.settled = true;
                    return Ok(Next::UpToDate(due.then_some(CaughtUp {
                        collection_id: collection,
                        epoch: page.epoch,
                        modseq: page.to_modseq,
                    })));
                }
                follow.sent_page(Cursor {
                    collection_id: collection,
                    epoch: page.epoch,
                    modseq: page.to_modseq,
                    floor: page.floor,
                    partial: page.more,
                });
                if follow.continuing && page.from_modseq < page.to_modseq {
                    // Continuing form: epoch, from and to are implied by the
                    // previous page (an epoch change is always a resync first).
                    page.advance = page.to_modseq - page.from_modseq;
                    page.from_modseq = 0;
                    page.to_modseq = 0;
                    page.epoch = 0;
                }
                follow.continuing = true;
                if let Some(limit) = self.trim_to {
                    preview::trim(&mut page, limit)?;
                }
                Ok(Next::Send(Box::new(Body::Delta(page))))
            }
        }
    }

    /// Takes a prepared page if `collection` stands exactly at `from` in this
    /// session with the window open; the page then ends at `to`.
    pub(crate) fn take_prepared(&mut self, page: &PreparedPage) -> bool {
        let (from, to) = (&page.from, &page.to);
        if self.trim_to.is_some()
            || page.changes > self.limits.max_items
            || (page.patches && !self.limits.patches)
        {
            // This device's pages are cut to its preview size, or smaller,
            // or it does not apply patches.
            return false;
        }
        let Some(follow) = self.map.get_mut(from.collection_id) else {
            return false;
        };
        let at = follow.sent.epoch == from.epoch
            && follow.sent.modseq == from.modseq
            && !follow.sent.partial;
        if !at || !follow.continuing || follow.window_full(self.max_unacked) {
            return false;
        }
        follow.sent_page(*to);
        // The page reached the head as it was prepared, unless it was cut.
        follow.settled = !to.partial;
        true
    }

    /// Records an acknowledgement; returns whether it is current (and so
    /// worth storing). An ack from before a resync (another epoch, or a
    /// modseq past what has been sent since) is stale, not hostile: it is
    /// ignored. So is one for a collection not followed: the device may
    /// have sent it as the collection was withdrawn (a delegation ended),
    /// and the server accepts an acknowledgement at any time (sync.md §3
    /// rule 8).
    pub(crate) fn acked(&mut self, cursor: &Cursor) -> bool {
        let Some(follow) = self.map.get_mut(cursor.collection_id) else {
            return false;
        };
        if cursor.epoch != follow.sent.epoch || cursor.modseq > follow.sent.modseq {
            return false;
        }
        // Cursors are cumulative: every page ending at or before this one
        // is acknowledged by it.
        follow.acknowledged(cursor);
        true
    }

    /// A repair page for `collection`: current versions at the cursor already
    /// sent, so it moves nothing. Items too large for a page (or for a
    /// default device to inflate) go abridged, as
    /// in any page.
    pub(crate) fn repair_page(
        &self,
        collection: u64,
        mut upserts: Vec<ItemUpsert>,
        removals: Vec<u64>,
    ) -> DeltaPage {
        for upsert in &mut upserts {
            if !deliverable_whole(&upsert.packed) {
                upsert.packed = abridge(&upsert.packed);
            }
        }
        let sent = self.map.get(collection).map(|f| f.sent).unwrap_or_default();
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

#[cfg(test)]
mod tests;
