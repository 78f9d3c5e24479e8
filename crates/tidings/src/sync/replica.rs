//! A device's copy of one collection, kept up to date by applying delta pages.
//!
//! One item never stands in the way of the others: an upsert the device
//! cannot unpack or decode within its limits is held as a placeholder with
//! its reason (sync.md §3 rule 9), and the page applies. Memory stays bounded
//! by the inflate limits per item, whatever the server sends.

use super::abridge::{abridged, skeleton};
use super::patch::apply_item_patch;
use crate::compress::{InflateLimits, unpack};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, Abridged, AbridgedReason, CalendarItem, CollectionInfo, CollectionKind, Cursor,
    DeltaPage, Item, MailItem, item,
};
use std::collections::BTreeMap;

/// An item as the device holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaItem {
    /// The item's content.
    pub item: Item,
    /// Its current MailFlag bits.
    pub flags: u32,
}

/// What applying a page did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The replica moved from one modseq to another.
    Advanced {
        /// Modseq before.
        from: u64,
        /// Modseq after.
        to: u64,
        /// Flag changes named items the replica does not hold, or patches
        /// did not apply to the copy it holds: ask the server to send them
        /// again (a `Refetch`) rather than resync everything.
        refetch: Vec<u64>,
    },
    /// The page was already applied: nothing changed.
    Duplicate,
}

/// A device's copy of one collection and its cursor.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CollectionReplica {
    cursor: Cursor,
    items: BTreeMap<u64, ReplicaItem>,
    /// What the collection holds, so a placeholder has the right kind
    /// (`Unspecified` until the server's `CollectionInfo` is adopted).
    kind: CollectionKind,
}

impl CollectionReplica {
    /// An empty replica of `collection_id`, at modseq 0.
    pub fn new(collection_id: u64) -> Self {
        Self {
            cursor: Cursor {
                collection_id,
                ..Cursor::default()
            },
            items: BTreeMap::new(),
            kind: CollectionKind::Unspecified,
        }
    }

    /// An empty replica of a collection of `kind`, at modseq 0.
    pub fn with_kind(collection_id: u64, kind: CollectionKind) -> Self {
        Self {
            kind,
            ..Self::new(collection_id)
        }
    }

    /// Where the replica stands: what the device sends in `Hello` and `Ack`.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// The items, by id.
    pub fn items(&self) -> &BTreeMap<u64, ReplicaItem> {
        &self.items
    }

    /// Drops everything: the server said resync-required. The next page must
    /// start from modseq 0 of `epoch`.
    pub fn reset(&mut self, epoch: u64) {
        self.items.clear();
        self.cursor = Cursor {
            collection_id: self.cursor.collection_id,
            epoch,
            ..Cursor::default()
        };
    }

    /// Applies `page` if it continues from (or overlaps) the cursor.
    ///
    /// A page that ends at or before the cursor is a duplicate and changes
    /// nothing, except a repair page (from and to both at the cursor), which
    /// updates items without moving the cursor. A page that starts after the cursor would leave a gap and is
    /// refused ([`ErrorKind::InvalidCursor`]). Every item is unpacked before
    /// anything changes. An item that does not unpack or decode within
    /// `limits` (or that the server could only send as a placeholder) is held
    /// as a placeholder marked [`AbridgedReason::RefusedByDevice`] (or
    /// [`AbridgedReason::Unreadable`]), so one item never blocks the page.
    pub fn apply(&mut self, page: &DeltaPage, limits: &InflateLimits) -> Result<Applied> {
        if page.collection_id != self.cursor.collection_id {
            return Err(Error::new(
                ErrorKind::InvalidCursor,
                "page is for another collection",
            ));
        }
        let same_epoch = page.epoch == self.cursor.epoch;
        if !same_epoch && self.cursor.modseq != 0 {
            return Err(Error::new(
                ErrorKind::ResyncRequired,
                "page is from another epoch",
            ));
        }
        // A repair page (the answer to a Refetch) carries current versions at
        // the cursor itself: apply it, moving nothing. Regular pages always
        // move forward, so one that does not is a duplicate.
        let repair = same_epoch
            && page.from_modseq == self.cursor.modseq
            && page.to_modseq == self.cursor.modseq;
        if same_epoch && page.to_modseq <= self.cursor.modseq && !repair {
            return Ok(Applied::Duplicate);
        }
        if page.from_modseq > self.cursor.modseq || page.to_modseq < page.from_modseq {
            return Err(Error::new(
                ErrorKind::InvalidCursor,
                "page starts after the cursor",
            ));
        }
        let mut upserts = Vec::with_capacity(page.upserts.len());
        for upsert in &page.upserts {
            let item = self.held_form(upsert.id, &upsert.packed, limits);
            upserts.push((
                upsert.id,
                ReplicaItem {
                    item,
                    flags: upsert.flags,
                },
            ));
        }
        // A patch edits the version the device holds, which is the version
        // it starts from only when the page starts at the cursor (an
        // overlapping page may carry a change already applied). A patch
        // that cannot apply leaves the held copy for a refetch to replace.
        let mut refetch = Vec::new();
        let at_cursor = same_epoch && page.from_modseq == self.cursor.modseq;
        for patch in &page.patches {
            let held = self.items.get(&patch.id).filter(|_| at_cursor);
            match held.map(|held| apply_item_patch(&held.item, &patch.packed, limits)) {
                Some(Ok(item)) => upserts.push((
                    patch.id,
                    ReplicaItem {
                        item,
                        flags: patch.flags,
                    },
                )),
                _ => refetch.push(patch.id),
            }
        }
        let from = self.cursor.modseq;
        self.items.extend(upserts);
        for id in &page.removals {
            self.items.remove(id);
        }
        for change in &page.flag_changes {
            match self.items.get_mut(&change.id) {
                Some(held) => held.flags = change.flags,
                None => refetch.push(change.id),
            }
        }
        if !repair {
            self.cursor.epoch = page.epoch;
            self.cursor.modseq = page.to_modseq;
            self.cursor.floor = page.floor;
            self.cursor.partial = page.more;
        }
        Ok(Applied::Advanced {
            from,
            to: page.to_modseq,
            refetch,
        })
    }
}

impl CollectionReplica {
    /// A replica restored from saved state.
    pub fn restore(cursor: Cursor, items: BTreeMap<u64, ReplicaItem>) -> Self {
        Self {
            cursor,
            items,
            kind: CollectionKind::Unspecified,
        }
    }

    /// Replaces abridged item `id` with its whole form, `packed` as
    /// `FetchRange { packed_item: true }` returned it (all ranges joined).
    /// Its flags stay. The whole item is unpacked within `limits`; when it
    /// does not fit them, or is not the same item, nothing changes and the
    /// abridged form stays.
    pub fn complete(&mut self, id: u64, packed: &[u8], limits: &InflateLimits) -> Result<()> {
        let held = self
            .items
            .get_mut(&id)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such item in the replica"))?;
        let item = proto::decode::<Item>(&unpack(packed, limits)?)?;
        let same = match (&item.kind, &held.item.kind) {
            (Some(item::Kind::Mail(new)), Some(item::Kind::Mail(old))) => new.id == old.id,
            (Some(item::Kind::Calendar(new)), Some(item::Kind::Calendar(old))) => new.id == old.id,
            _ => false,
        };
        if !same || abridged(&item).is_some() {
            return Err(Error::new(
                ErrorKind::InvalidData,
                "fetched bytes are not the whole item",
            ));
        }
        held.item = item;
        Ok(())
    }

    /// How the replica holds `packed`: the item, or a placeholder with the
    /// reason it is not the item.
    fn held_form(&self, id: u64, packed: &[u8], limits: &InflateLimits) -> Item {
        let (reason, size) = match unpack(packed, limits).and_then(|b| proto::decode::<Item>(&b)) {
            Ok(item) if item.kind.is_some() => return item,
            // The server could not read its own copy.
            Ok(_) => (AbridgedReason::Unreadable, 0),
            Err(_) => (
                AbridgedReason::RefusedByDevice,
                u64::try_from(packed.len()).unwrap_or(u64::MAX),
            ),
        };
        let mark = Abridged {
            reason: reason as i32,
            packed_size: size,
            ..Abridged::default()
        };
        let collection = self.cursor.collection_id;
        let kind = match self.kind {
            CollectionKind::Calendar => Some(item::Kind::Calendar(CalendarItem {
                id,
                calendar_id: collection,
                ..CalendarItem::default()
            })),
            CollectionKind::Mail => Some(item::Kind::Mail(MailItem {
                id,
                folder_id: collection,
                ..MailItem::default()
            })),
            CollectionKind::Unspecified => None,
        };
        Item {
            kind: kind.map(|k| skeleton(&k, mark)),
        }
    }
}

/// A device's copy of every collection it may see: what a client keeps, what
/// tests compare with the server's view, and enough for a small app.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Replica {
    collections: BTreeMap<u64, (CollectionInfo, CollectionReplica)>,
}

impl Replica {
    /// The collections held, with what the server said of them.
    pub fn collections(&self) -> impl Iterator<Item = (&CollectionInfo, &CollectionReplica)> {
        self.collections
            .values()
            .map(|(info, replica)| (info, replica))
    }

    /// One collection's replica.
    pub fn collection(&self, id: u64) -> Option<&CollectionReplica> {
        self.collections.get(&id).map(|(_, replica)| replica)
    }

    /// Adopts the server's list of visible collections: new ones start empty,
    /// ones no longer visible are dropped with their items.
    pub fn set_collections(&mut self, infos: Vec<CollectionInfo>) {
        let mut next = BTreeMap::new();
        for info in infos {
            let mut replica = match self.collections.remove(&info.id) {
                Some((_, replica)) => replica,
                None => CollectionReplica::new(info.id),
            };
            replica.kind = info.kind();
            next.insert(info.id, (info, replica));
        }
        self.collections = next;
    }

    /// Adds a restored collection.
    pub fn insert(&mut self, info: CollectionInfo, mut replica: CollectionReplica) {
        replica.kind = info.kind();
        self.collections.insert(info.id, (info, replica));
    }

    /// Every cursor: what the device sends in `Hello`.
    pub fn cursors(&self) -> Vec<Cursor> {
        self.collections
            .values()
            .map(|(_, replica)| replica.cursor())
            .collect()
    }

    /// Applies a page to its collection (see [`CollectionReplica::apply`]).
    pub fn apply(&mut self, page: &DeltaPage, limits: &InflateLimits) -> Result<Applied> {
        self.replica_mut(page.collection_id)?.apply(page, limits)
    }

    /// Replaces an abridged item with its whole form (see
    /// [`CollectionReplica::complete`]).
    pub fn complete(
        &mut self,
        collection_id: u64,
        id: u64,
        packed: &[u8],
        limits: &InflateLimits,
    ) -> Result<()> {
        self.replica_mut(collection_id)?
            .complete(id, packed, limits)
    }

    /// Empties a collection after resync-required.
    pub fn reset(&mut self, collection_id: u64, epoch: u64) -> Result<()> {
        self.replica_mut(collection_id)?.reset(epoch);
        Ok(())
    }

    /// Forgets everything (a remote wipe).
    pub fn clear(&mut self) {
        self.collections.clear();
    }

    fn replica_mut(&mut self, id: u64) -> Result<&mut CollectionReplica> {
        self.collections
            .get_mut(&id)
            .map(|(_, replica)| replica)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::PermissionDenied,
                    "page for a collection not subscribed",
                )
            })
    }
}
