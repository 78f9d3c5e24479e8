//! Fan-out: one delta, encoded and padded once, sealed for many devices.
//!
//! When a change reaches a collection that many devices follow (a shared
//! mailbox, a calendar delegated to a team, a mail to all staff in a shared
//! folder), every device that was caught up needs the same page. The server
//! prepares it once; each session only seals it.

use crate::compress::pad;
use crate::error::Result;
use crate::proto::{self, Cursor, Envelope, envelope::Body};
use crate::store::Store;
use crate::sync::{Delta, PageLimits};

/// A continuing delta page, encoded and padded once.
#[derive(Clone, Debug)]
pub struct PreparedPage {
    pub(crate) from: Cursor,
    pub(crate) to: Cursor,
    pub(crate) padded: Vec<u8>,
    /// Changes it carries: a device that asked for smaller pages
    /// (`Hello.page_items`) does not take a larger one.
    pub(crate) changes: usize,
    /// It carries patches: only for devices that apply them.
    pub(crate) patches: bool,
}

impl PreparedPage {
    /// The page that takes a device standing at `from` (caught up, in this
    /// session) to the store's present, or `None` when there is nothing new or
    /// the cursor needs a resync.
    pub fn new<S: Store>(store: &S, from: &Cursor, limits: &PageLimits) -> Result<Option<Self>> {
        let Delta::Page(mut page) = store.delta(from, limits)? else {
            return Ok(None);
        };
        if page.to_modseq == from.modseq {
            return Ok(None);
        }
        let to = Cursor {
            collection_id: from.collection_id,
            epoch: page.epoch,
            modseq: page.to_modseq,
            floor: page.floor,
            partial: page.more,
        };
        let changes =
            page.upserts.len() + page.removals.len() + page.flag_changes.len() + page.patches.len();
        let patches = !page.patches.is_empty();
        page.advance = page.to_modseq - page.from_modseq;
        page.from_modseq = 0;
        page.to_modseq = 0;
        page.epoch = 0;
        let mut padded = Vec::new();
        pad(
            &proto::encode(&Envelope {
                body: Some(Body::Delta(page)),
            }),
            &mut padded,
        );
        Ok(Some(Self {
            from: *from,
            to,
            padded,
            changes,
            patches,
        }))
    }

    /// The cursor a device must stand at to take this page.
    pub fn from(&self) -> Cursor {
        self.from
    }

    /// Bytes of padded plaintext each device is sent (before the 18 bytes of
    /// frame header and tag).
    pub fn padded_len(&self) -> usize {
        self.padded.len()
    }
}
