//! Server-side storage: the traits an integrator implements over their own
//! mail and calendar system, and [`MemoryStore`], an in-memory implementation.
//!
//! Three concerns, three traits: [`Directory`] (principals, collections,
//! delegations), [`ItemStore`] (items and their change logs) and
//! [`DeviceRegistry`] (enrolled devices, activation codes, cursors, applied
//! operations, policy, wipe and revocation). [`Store`] is all three, and adds
//! the rights-checked queries sessions use: a query for a device never
//! returns a collection its principal may not see.
//!
//! Per-device state is O(1) in the number of pending changes: a device has
//! cursors, never a queue. Deltas are computed from the cursor.

mod activation;
#[cfg(feature = "testing")]
pub mod contract;
#[cfg(feature = "testing")]
pub mod fixtures;
#[deny(clippy::arithmetic_side_effects)]
mod memory;

pub use activation::{ActivationCode, ActivationRecord};
pub use memory::{APPLIED_OPERATIONS_PER_DEVICE, MemoryStore};

use crate::error::Result;
use crate::proto::{CollectionInfo, CollectionKind, Cursor, ItemUpsert, OperationResult, Policy};
use crate::sync::{Delta, PageLimits, Rights};
use bytes::Bytes;

/// A user of the system: owns collections, may hold delegated rights on others'.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Principal id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Primary address.
    pub email: String,
}

/// A mail folder or calendar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    /// Collection id.
    pub id: u64,
    /// Mail or calendar.
    pub kind: CollectionKind,
    /// Display name.
    pub name: String,
    /// The owning principal.
    pub owner: u64,
}

/// Wipe state of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WipeState {
    /// No wipe ordered.
    #[default]
    None,
    /// A wipe was ordered and not yet acknowledged.
    Pending(u64),
    /// The device acknowledged the wipe.
    Done(u64),
}

/// An enrolled device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Device id.
    pub id: u64,
    /// The principal it belongs to.
    pub principal: u64,
    /// Its static X25519 public key.
    pub public_key: [u8; 32],
    /// The name the user gave it.
    pub name: String,
    /// Highest IK hello timestamp accepted (the replay guard).
    pub last_hello: Option<u64>,
    /// Revoked by an administrator: sessions end, reconnects are refused.
    pub revoked: bool,
    /// Remote wipe state.
    pub wipe: WipeState,
}

/// The name a device gives one of its uploads (`UploadPart.upload_id`).
pub type UploadId = [u8; 16];

/// Where an upload stands (`UploadPart`, `docs/spec/sync.md` §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UploadState {
    /// The whole file's size.
    pub total_size: u64,
    /// The bytes held so far, from the start.
    pub held: u64,
}

/// What [`DeviceRegistry::append_upload`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appended {
    /// Stored: the bytes now held.
    Stored(u64),
    /// Nothing stored: the part does not start at the bytes held (given;
    /// 0 when there is no such upload).
    NotAt(u64),
}

fn no_uploads() -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Unsupported,
        "this server keeps no uploads",
    )
}

/// Principals, collections and who may do what.
pub trait Directory {
    /// The principal `id` ([`NotFound`](crate::ErrorKind::NotFound) if none).
    fn principal(&self, id: u64) -> Result<Principal>;
    /// The collection `id` ([`NotFound`](crate::ErrorKind::NotFound) if none).
    fn collection(&self, id: u64) -> Result<Collection>;
    /// Every collection `principal` may read (owned or delegated), with rights.
    fn visible_collections(&self, principal: u64) -> Result<Vec<(Collection, Rights)>>;
    /// The rights `principal` holds on `collection` ([`Rights::NONE`] if none).
    fn rights(&self, principal: u64, collection: u64) -> Result<Rights>;
    /// The principal with primary address `email`, if any (case-insensitive).
    fn principal_by_email(&self, email: &str) -> Result<Option<Principal>>;
    /// [`Store::collection_infos`] in one read, for a store where each call
    /// is a round trip to a database server (every reconnect asks for it).
    /// The default, `None`, lets the core compose it from
    /// [`visible_collections`](Self::visible_collections),
    /// [`ItemStore::collection_state`] and [`principal`](Self::principal);
    /// a store that answers must give exactly what that composition gives.
    fn collection_infos_at_once(&self, principal: u64) -> Result<Option<Vec<CollectionInfo>>> {
        let _ = principal;
        Ok(None)
    }
}

/// Items and their change logs. No rights checks: see [`Store`].
pub trait ItemStore {
    /// Epoch and current modseq of `collection`.
    fn collection_state(&self, collection: u64) -> Result<(u64, u64)>;
    /// The changes after `cursor` within `limits`, or resync-required.
    fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Result<Delta>;
    /// [`delta`](Self::delta) for each of `cursors`, in order. Every reconnect reads one per followed
    /// collection: a store where each call is a round trip to a database
    /// server answers them in one. The default reads them one by one.
    fn deltas(&self, cursors: &[Cursor], limits: &PageLimits) -> Result<Vec<Delta>> {
        cursors.iter().map(|c| self.delta(c, limits)).collect()
    }
    /// An item's packed bytes and flags, if live.
    fn item(&self, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>>;
    /// Every live item of a collection as (id, packed, flags), for search and
    /// lookups by UID. An integrator with its own index may answer those
    /// queries more cleverly; this is the simple fallback.
    fn items(&self, collection: u64) -> Result<Vec<(u64, Bytes, u32)>>;
    /// [`items`](Self::items) a page at a time: the live items with ids
    /// above `after`, in id order, at most `limit` (at least one, when there
    /// are any). A caller going through a whole collection (search) then
    /// holds one page, not the collection: eight searches of a 520 MB
    /// mailbox took a server to 4.3 GB. The default reads every item and
    /// keeps the page; a store should answer it by a range of its index.
    fn items_after(
        &self,
        collection: u64,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes, u32)>> {
        let mut page = self.items(collection)?;
        page.retain(|(id, _, _)| *id > after);
        page.sort_unstable_by_key(|(id, _, _)| *id);
        page.truncate(limit.max(1));
        Ok(page)
    }
    /// The decoded bytes of one part (a body part or an attachment, by
    /// `part_id` as listed in the mail item) of mail `id`, for range fetches;
    /// `None` when the item or the part does not exist.
    fn mail_part(&self, collection: u64, id: u64, part_id: u32) -> Result<Option<Bytes>>;
    /// Bytes `offset..offset + length` of one part of mail `id` (fewer at
    /// the part's end, none from its end on) and the part's whole size;
    /// `None` when the item or the part does not exist. The default reads
    /// the whole part with [`mail_part`](Self::mail_part); a store that keeps
    /// parts in pieces answers in time proportional to `length`, so that
    /// downloading a part by ranges is not quadratic.
    fn mail_part_range(
        &self,
        collection: u64,
        id: u64,
        part_id: u32,
        offset: u64,
        length: usize,
    ) -> Result<Option<(u64, Bytes)>> {
        let Some(part) = self.mail_part(collection, id, part_id)? else {
            return Ok(None);
        };
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(part.len());
        let end = start.saturating_add(length).min(part.len());
        Ok(Some((part.len() as u64, part.slice(start..end))))
    }
    /// Called before an operation that reads and then writes (a version
    /// check, a flag change): a store whose reads may come from an older
    /// snapshot than its writes takes its write lock here, so that what the
    /// operation read still holds when it writes. Stores with one snapshot
    /// per transaction need nothing.
    fn prepare_write(&mut self) -> Result<()> {
        Ok(())
    }
    /// Called before costly work that writes nothing (composing and
    /// reading a mail a device sends): a store that holds a write lock
    /// from its first write until the end of a batch commits what the
    /// batch wrote so far and lets the lock go here, so that work holds
    /// up no other writer. What follows writes in a new transaction.
    /// Stores without such a lock need nothing.
    fn settle(&mut self) -> Result<()> {
        Ok(())
    }
    /// A fresh item id, for content that must name its own id before it is
    /// stored (a new event's `CalendarItem.id`).
    fn allocate_id(&mut self) -> Result<u64>;
    /// Creates (`id` = None) or replaces an item; returns its id and new modseq.
    fn upsert(
        &mut self,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)>;
    /// Replaces the event `id` with the owner's answer to its invitation
    /// (`RespondToInvitation`), `comment` being the device's note to the
    /// organizer, which has no place in the item: a store that sends the
    /// organizer an iTIP REPLY (a gateway's) carries it as its COMMENT.
    /// Others store the item as [`ItemStore::upsert`] does.
    fn answer_invitation(
        &mut self,
        collection: u64,
        id: u64,
        packed: Bytes,
        comment: &str,
    ) -> Result<(u64, u64)> {
        let _ = comment;
        self.upsert(collection, Some(id), packed, 0)
    }
    /// Sets an item's flags; returns the new modseq.
    fn set_flags(&mut self, collection: u64, id: u64, flags: u32) -> Result<u64>;
    /// Removes an item; returns the new modseq.
    fn remove(&mut self, collection: u64, id: u64) -> Result<u64>;
}

/// Enrolled devices and everything the server remembers per device.
pub trait DeviceRegistry {
    /// Registers a one-time activation code for `principal`, valid until
    /// `expires_at_ms` and for at most `max_attempts` wrong guesses. Refuses
    /// ([`ActivationRecord::id_in_use`]) a code whose public id belongs to
    /// a code not yet burned: draw another.
    fn create_activation(
        &mut self,
        principal: u64,
        code: &ActivationCode,
        expires_at_ms: u64,
        max_attempts: u32,
    ) -> Result<()>;
    /// Redeems `code` for a device with `public_key`: the code must exist, be
    /// unexpired, unused and not burned. A wrong secret counts an attempt; the
    /// last allowed wrong attempt burns the code. Success burns it too.
    fn redeem_activation(
        &mut self,
        code: &str,
        public_key: [u8; 32],
        name: &str,
        now_ms: u64,
    ) -> Result<DeviceRecord>;
    /// The device enrolled with `public_key`, if any.
    fn device_by_key(&self, public_key: &[u8; 32]) -> Result<Option<DeviceRecord>>;
    /// [`device_by_key`](Self::device_by_key) and that device's
    /// [`policy`](Self::policy) in one read, for a store where each call
    /// is a round trip to a database server (every reconnect needs both).
    /// The default reads one after the other; a store that answers at
    /// once must give exactly what they give.
    fn device_and_policy_by_key(
        &self,
        public_key: &[u8; 32],
    ) -> Result<Option<(DeviceRecord, Policy)>> {
        let Some(device) = self.device_by_key(public_key)? else {
            return Ok(None);
        };
        let policy = self.policy(device.id)?;
        Ok(Some((device, policy)))
    }
    /// The device `id` ([`NotFound`](crate::ErrorKind::NotFound) if none).
    fn device(&self, id: u64) -> Result<DeviceRecord>;
    /// Records an accepted IK hello timestamp; refuses one that does not
    /// increase ([`Replay`](crate::ErrorKind::Replay)).
    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()>;
    /// Stores the cursor a device acknowledged.
    fn save_cursor(&mut self, device: u64, cursor: Cursor) -> Result<()>;
    /// The cursors a device acknowledged.
    fn cursors(&self, device: u64) -> Result<Vec<Cursor>>;
    /// The result of an operation the device already had applied, if remembered.
    fn applied_operation(&self, device: u64, op_id: &[u8]) -> Result<Option<OperationResult>>;
    /// Remembers an applied operation's result (a bounded table per device).
    fn record_operation(&mut self, device: u64, result: OperationResult) -> Result<()>;
    /// The policy for a device.
    fn policy(&self, device: u64) -> Result<Policy>;
    /// Sets the policy for a device.
    fn set_policy(&mut self, device: u64, policy: Policy) -> Result<()>;
    /// Orders, or (with [`WipeState::Done`]) confirms, a remote wipe.
    fn set_wipe(&mut self, device: u64, wipe: WipeState) -> Result<()>;
    /// Revokes a device.
    fn revoke(&mut self, device: u64) -> Result<()>;
    /// The device's uploads, oldest first. The defaults of the upload
    /// methods keep none: a store without them refuses `UploadPart` with
    /// [`Unsupported`](crate::ErrorKind::Unsupported).
    fn uploads(&self, device: u64) -> Result<Vec<(UploadId, UploadState)>> {
        let _ = device;
        Ok(Vec::new())
    }
    /// Starts upload `id` of `total_size` bytes at `now_ms`, discarding
    /// what the device held under that id; it becomes the device's newest.
    fn start_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        total_size: u64,
        now_ms: u64,
    ) -> Result<()> {
        let _ = (device, id, total_size, now_ms);
        Err(no_uploads())
    }
    /// Appends `data` to upload `id` at `now_ms` if it holds exactly `at`
    /// bytes, checked under the same lock as the write: whatever sessions
    /// race, what is held is always a prefix of the file.
    fn append_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        at: u64,
        data: &[u8],
        now_ms: u64,
    ) -> Result<Appended> {
        let _ = (device, id, at, data, now_ms);
        Err(no_uploads())
    }
    /// Discards the uploads of `device` (of every device with `None`) last
    /// started or appended to before `before_ms`; returns how many.
    fn discard_stale_uploads(&mut self, device: Option<u64>, before_ms: u64) -> Result<u64> {
        let _ = (device, before_ms);
        Ok(0)
    }
    /// The bytes upload `id` holds, in order; `None` when there is none.
    fn upload_bytes(&self, device: u64, id: &UploadId) -> Result<Option<Vec<u8>>> {
        let _ = (device, id);
        Ok(None)
    }
    /// Discards upload `id` (nothing happens when there is none).
    fn remove_upload(&mut self, device: u64, id: &UploadId) -> Result<()> {
        let _ = (device, id);
        Ok(())
    }
}

/// Everything a server session needs, with rights enforced.
pub trait Store: Directory + ItemStore + DeviceRegistry {
    /// Refuses with [`PermissionDenied`](crate::ErrorKind::PermissionDenied)
    /// unless `principal` holds `needed` on `collection`. A collection that
    /// does not exist is refused the same way, so the answer never tells a
    /// device whether a collection it may not see exists.
    fn require(&self, principal: u64, collection: u64, needed: Rights) -> Result<()> {
        self.rights(principal, collection)
            .map_err(hide_missing)?
            .require(needed)
    }

    /// [`ItemStore::delta`] for `principal`, refused with
    /// [`PermissionDenied`](crate::ErrorKind::PermissionDenied) without read rights.
    fn delta_for(&self, principal: u64, cursor: &Cursor, limits: &PageLimits) -> Result<Delta> {
        self.require(principal, cursor.collection_id, Rights::READ)?;
        self.delta(cursor, limits)
    }

    /// The current versions of some items of a collection `principal` may
    /// read: upserts for live ones, ids of removed ones. Repairs single items
    /// without a resync.
    fn refetch_for(
        &self,
        principal: u64,
        collection: u64,
        ids: &[u64],
    ) -> Result<(Vec<ItemUpsert>, Vec<u64>)> {
        self.require(principal, collection, Rights::READ)?;
        let (mut live, mut gone) = (Vec::new(), Vec::new());
        for &id in ids {
            match self.item(collection, id)? {
                Some((packed, flags)) => live.push(ItemUpsert {
                    id,
                    packed: packed.to_vec(),
                    flags,
                }),
                None => gone.push(id),
            }
        }
        Ok((live, gone))
    }

    /// The collections `principal` may see, as the device is told of them.
    fn collection_infos(&self, principal: u64) -> Result<Vec<CollectionInfo>> {
        if let Some(infos) = self.collection_infos_at_once(principal)? {
            return Ok(infos);
        }
        let mut infos = Vec::new();
        // Most collections share a few owners: each is read once.
        let mut owners = std::collections::BTreeMap::<u64, Principal>::new();
        for (collection, rights) in self.visible_collections(principal)? {
            let (epoch, _) = self.collection_state(collection.id)?;
            let owner = match owners.get(&collection.owner) {
                Some(owner) => owner.clone(),
                None => {
                    let owner = self.principal(collection.owner)?;
                    owners.insert(collection.owner, owner.clone());
                    owner
                }
            };
            infos.push(CollectionInfo {
                id: collection.id,
                kind: collection.kind as i32,
                name: collection.name,
                owner_id: owner.id,
                owner_name: owner.name,
                rights: rights.bits(),
                epoch,
            });
        }
        Ok(infos)
    }
}

impl<T: Directory + ItemStore + DeviceRegistry> Store for T {}

/// A missing collection answers as a foreign one does: [`PermissionDenied`](crate::ErrorKind::PermissionDenied).
pub fn hide_missing(error: crate::Error) -> crate::Error {
    if error.kind() == crate::ErrorKind::NotFound {
        crate::Error::new(
            crate::ErrorKind::PermissionDenied,
            "no access to that collection",
        )
    } else {
        error
    }
}
