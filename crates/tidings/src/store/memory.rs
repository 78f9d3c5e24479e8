//! [`MemoryStore`]: every store trait, in memory. For tests, examples, small
//! deployments, and as the reference an integrator's store must behave like.

use super::{
    ActivationCode, ActivationRecord, Appended, Collection, DeviceRecord, DeviceRegistry,
    Directory, ItemStore, Principal, UploadId, UploadState, WipeState,
};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Cursor, OperationResult, Policy};
use crate::sync::{ChangeLog, Delta, PageLimits, Rights};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Applied operation ids remembered per device; older ones are forgotten
/// first. A retry older than this many operations would be applied again, so
/// clients must not keep an operation in their outbox that long.
pub const APPLIED_OPERATIONS_PER_DEVICE: usize = 1024;

#[derive(Clone, Debug, Default)]
struct DeviceState {
    cursors: BTreeMap<u64, Cursor>,
    applied: VecDeque<OperationResult>,
    policy: Policy,
    /// Uploads, oldest first.
    uploads: Vec<Upload>,
}

/// An upload held: its id, total size, bytes held, and when it was last
/// started or appended to.
#[derive(Clone, Debug)]
struct Upload {
    id: UploadId,
    total_size: u64,
    held: Vec<u8>,
    touched_ms: u64,
}

/// Every store trait, in memory.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    principals: BTreeMap<u64, Principal>,
    collections: BTreeMap<u64, (Collection, ChangeLog)>,
    grants: HashMap<(u64, u64), Rights>,
    activations: HashMap<String, ActivationRecord>,
    devices: BTreeMap<u64, (DeviceRecord, DeviceState)>,
    /// Raw RFC 5322 messages by item id, for range fetches.
    messages: HashMap<u64, Bytes>,
    next_id: u64,
}

fn not_found(what: &'static str) -> Error {
    Error::new(ErrorKind::NotFound, what)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn fresh_id(&mut self) -> u64 {
        // 2^64 ids are never allocated; saturating keeps the arithmetic total.
        self.next_id = self.next_id.saturating_add(1);
        self.next_id
    }

    /// Adds a principal; returns its id.
    pub fn add_principal(&mut self, name: &str, email: &str) -> u64 {
        let id = self.fresh_id();
        self.principals.insert(
            id,
            Principal {
                id,
                name: name.into(),
                email: email.into(),
            },
        );
        id
    }

    /// Adds a collection owned by `owner`; returns its id.
    pub fn add_collection(
        &mut self,
        owner: u64,
        kind: crate::proto::CollectionKind,
        name: &str,
    ) -> Result<u64> {
        self.principal(owner)?;
        let id = self.fresh_id();
        self.collections.insert(
            id,
            (
                Collection {
                    id,
                    kind,
                    name: name.into(),
                    owner,
                },
                ChangeLog::new(id, 1),
            ),
        );
        Ok(id)
    }

    /// Renames `collection` (its items and cursors stay).
    pub fn rename_collection(&mut self, collection: u64, name: &str) -> Result<()> {
        let (info, _) = self
            .collections
            .get_mut(&collection)
            .ok_or_else(|| not_found("collection"))?;
        info.name = name.into();
        Ok(())
    }

    /// Delegates `rights` on `collection` to `principal` ([`Rights::NONE`] revokes).
    pub fn grant(&mut self, collection: u64, principal: u64, rights: Rights) -> Result<()> {
        self.collection(collection)?;
        self.principal(principal)?;
        self.grants.insert((principal, collection), rights);
        Ok(())
    }

    /// Delivers a raw RFC 5322 message into mail folder `collection`: the item
    /// (headers, a `preview_bytes` text preview, part metadata) is built and
    /// packed once; the raw bytes are kept for range fetches. Returns its id.
    pub fn add_message(
        &mut self,
        collection: u64,
        raw: &[u8],
        preview_bytes: usize,
    ) -> Result<u64> {
        self.log(collection)?;
        let id = self.fresh_id();
        let options = crate::sync::mail::MailItemOptions {
            id,
            folder_id: collection,
            preview_bytes,
        };
        let mail = crate::sync::mail::mail_item_from_message(raw, &options)?;
        let packed = crate::sync::pack_item(crate::proto::item::Kind::Mail(mail));
        self.change_log_mut(collection)?.upsert(id, packed, 0);
        self.messages.insert(id, Bytes::copy_from_slice(raw));
        Ok(id)
    }

    /// The change log of `collection`, for compaction and inspection.
    pub fn change_log_mut(&mut self, collection: u64) -> Result<&mut ChangeLog> {
        self.collections
            .get_mut(&collection)
            .map(|(_, log)| log)
            .ok_or_else(|| not_found("no such collection"))
    }

    fn log(&self, collection: u64) -> Result<&ChangeLog> {
        self.collections
            .get(&collection)
            .map(|(_, log)| log)
            .ok_or_else(|| not_found("no such collection"))
    }

    fn device_mut(&mut self, id: u64) -> Result<&mut (DeviceRecord, DeviceState)> {
        self.devices
            .get_mut(&id)
            .ok_or_else(|| not_found("no such device"))
    }
}

impl Directory for MemoryStore {
    fn principal(&self, id: u64) -> Result<Principal> {
        self.principals
            .get(&id)
            .cloned()
            .ok_or_else(|| not_found("no such principal"))
    }

    fn collection(&self, id: u64) -> Result<Collection> {
        self.collections
            .get(&id)
            .map(|(c, _)| c.clone())
            .ok_or_else(|| not_found("no such collection"))
    }

    fn visible_collections(&self, principal: u64) -> Result<Vec<(Collection, Rights)>> {
        let mut visible = Vec::new();
        for (collection, _) in self.collections.values() {
            let rights = self.rights(principal, collection.id)?;
            if rights.contains(Rights::READ) {
                visible.push((collection.clone(), rights));
            }
        }
        Ok(visible)
    }

    fn principal_by_email(&self, email: &str) -> Result<Option<Principal>> {
        Ok(self
            .principals
            .values()
            .find(|p| p.email.eq_ignore_ascii_case(email))
            .cloned())
    }

    fn rights(&self, principal: u64, collection: u64) -> Result<Rights> {
        let owner = self.collection(collection)?.owner;
        if owner == principal {
            return Ok(Rights::OWNER);
        }
        Ok(self
            .grants
            .get(&(principal, collection))
            .copied()
            .unwrap_or(Rights::NONE))
    }
}

impl ItemStore for MemoryStore {
    fn collection_state(&self, collection: u64) -> Result<(u64, u64)> {
        let log = self.log(collection)?;
        Ok((log.epoch(), log.modseq()))
    }

    fn delta(&self, cursor: &Cursor, limits: &PageLimits) -> Result<Delta> {
        Ok(self.log(cursor.collection_id)?.delta(cursor, limits))
    }

    fn item(&self, collection: u64, id: u64) -> Result<Option<(Bytes, u32)>> {
        Ok(self
            .log(collection)?
            .get(id)
            .map(|(packed, flags)| (packed.clone(), flags)))
    }

    fn items(&self, collection: u64) -> Result<Vec<(u64, Bytes, u32)>> {
        Ok(self.log(collection)?.live_items())
    }

    fn allocate_id(&mut self) -> Result<u64> {
        Ok(self.fresh_id())
    }

    fn mail_part(&self, collection: u64, id: u64, part_id: u32) -> Result<Option<Bytes>> {
        if self.log(collection)?.get(id).is_none() {
            return Ok(None);
        }
        let Some(raw) = self.messages.get(&id) else {
            return Ok(None);
        };
        match crate::sync::mail::part_bytes(raw, part_id) {
            Ok(bytes) => Ok(Some(bytes.into())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn upsert(
        &mut self,
        collection: u64,
        id: Option<u64>,
        packed: Bytes,
        flags: u32,
    ) -> Result<(u64, u64)> {
        self.log(collection)?;
        let id = match id {
            Some(id) => id,
            None => self.fresh_id(),
        };
        let modseq = self.change_log_mut(collection)?.upsert(id, packed, flags);
        Ok((id, modseq))
    }

    fn set_flags(&mut self, collection: u64, id: u64, flags: u32) -> Result<u64> {
        self.change_log_mut(collection)?.set_flags(id, flags)
    }

    fn remove(&mut self, collection: u64, id: u64) -> Result<u64> {
        self.change_log_mut(collection)?.remove(id)
    }
}

impl DeviceRegistry for MemoryStore {
    fn create_activation(
        &mut self,
        principal: u64,
        code: &ActivationCode,
        expires_at_ms: u64,
        max_attempts: u32,
    ) -> Result<()> {
        self.principal(principal)?;
        if self.activations.get(code.id()).is_some_and(|a| !a.burned) {
            return Err(ActivationRecord::id_in_use());
        }
        let activation = ActivationRecord::new(principal, code, expires_at_ms, max_attempts);
        self.activations.insert(code.id().to_string(), activation);
        Ok(())
    }

    fn redeem_activation(
        &mut self,
        code: &str,
        public_key: [u8; 32],
        name: &str,
        now_ms: u64,
    ) -> Result<DeviceRecord> {
        let rejected = |reason| Error::new(ErrorKind::ActivationRejected, reason);
        let code = ActivationCode::parse(code)?;
        if self.device_by_key(&public_key)?.is_some() {
            return Err(rejected("device key already enrolled"));
        }
        let activation = self
            .activations
            .get_mut(code.id())
            .ok_or_else(|| rejected("no such activation"))?;
        let principal = activation.redeem(&code, now_ms)?;
        let id = self.fresh_id();
        let record = DeviceRecord {
            id,
            principal,
            public_key,
            name: name.into(),
            last_hello: None,
            revoked: false,
            wipe: WipeState::None,
        };
        self.devices
            .insert(id, (record.clone(), DeviceState::default()));
        Ok(record)
    }

    fn device_by_key(&self, public_key: &[u8; 32]) -> Result<Option<DeviceRecord>> {
        Ok(self
            .devices
            .values()
            .find(|(d, _)| &d.public_key == public_key)
            .map(|(d, _)| d.clone()))
    }

    fn device(&self, id: u64) -> Result<DeviceRecord> {
        self.devices
            .get(&id)
            .map(|(d, _)| d.clone())
            .ok_or_else(|| not_found("no such device"))
    }

    fn record_hello(&mut self, device: u64, timestamp: u64) -> Result<()> {
        let (record, _) = self.device_mut(device)?;
        if record.last_hello.is_some_and(|last| timestamp <= last) {
            return Err(Error::new(
                ErrorKind::Replay,
                "hello timestamp did not increase",
            ));
        }
        record.last_hello = Some(timestamp);
        Ok(())
    }

    fn save_cursor(&mut self, device: u64, cursor: Cursor) -> Result<()> {
        self.device_mut(device)?
            .1
            .cursors
            .insert(cursor.collection_id, cursor);
        Ok(())
    }

    fn cursors(&self, device: u64) -> Result<Vec<Cursor>> {
        let (_, state) = self
            .devices
            .get(&device)
            .ok_or_else(|| not_found("no such device"))?;
        Ok(state.cursors.values().copied().collect())
    }

    fn applied_operation(&self, device: u64, op_id: &[u8]) -> Result<Option<OperationResult>> {
        let (_, state) = self
            .devices
            .get(&device)
            .ok_or_else(|| not_found("no such device"))?;
        Ok(state.applied.iter().find(|r| r.op_id == op_id).cloned())
    }

    fn record_operation(&mut self, device: u64, result: OperationResult) -> Result<()> {
        let applied = &mut self.device_mut(device)?.1.applied;
        if applied.len() == APPLIED_OPERATIONS_PER_DEVICE {
            applied.pop_front();
        }
        applied.push_back(result);
        Ok(())
    }

    fn policy(&self, device: u64) -> Result<Policy> {
        let (_, state) = self
            .devices
            .get(&device)
            .ok_or_else(|| not_found("no such device"))?;
        Ok(state.policy)
    }

    fn set_policy(&mut self, device: u64, policy: Policy) -> Result<()> {
        self.device_mut(device)?.1.policy = policy;
        Ok(())
    }

    fn set_wipe(&mut self, device: u64, wipe: WipeState) -> Result<()> {
        self.device_mut(device)?.0.wipe = wipe;
        Ok(())
    }

    fn revoke(&mut self, device: u64) -> Result<()> {
        let (record, state) = self.device_mut(device)?;
        record.revoked = true;
        state.uploads.clear();
        Ok(())
    }

    fn uploads(&self, device: u64) -> Result<Vec<(UploadId, UploadState)>> {
        let (_, state) = self
            .devices
            .get(&device)
            .ok_or_else(|| not_found("no such device"))?;
        Ok(state
            .uploads
            .iter()
            .map(|u| {
                let held = u.held.len() as u64;
                let total_size = u.total_size;
                (u.id, UploadState { total_size, held })
            })
            .collect())
    }

    fn start_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        total_size: u64,
        now_ms: u64,
    ) -> Result<()> {
        let uploads = &mut self.device_mut(device)?.1.uploads;
        uploads.retain(|u| u.id != *id);
        uploads.push(Upload {
            id: *id,
            total_size,
            held: Vec::new(),
            touched_ms: now_ms,
        });
        Ok(())
    }

    fn append_upload(
        &mut self,
        device: u64,
        id: &UploadId,
        at: u64,
        data: &[u8],
        now_ms: u64,
    ) -> Result<Appended> {
        let uploads = &mut self.device_mut(device)?.1.uploads;
        let Some(upload) = uploads.iter_mut().find(|u| u.id == *id) else {
            return Ok(Appended::NotAt(0));
        };
        if upload.held.len() as u64 != at {
            return Ok(Appended::NotAt(upload.held.len() as u64));
        }
        upload.held.extend_from_slice(data);
        upload.touched_ms = now_ms;
        Ok(Appended::Stored(upload.held.len() as u64))
    }

    fn discard_stale_uploads(&mut self, device: Option<u64>, before_ms: u64) -> Result<u64> {
        let mut discarded = 0u64;
        for (id, (_, state)) in &mut self.devices {
            if device.is_none_or(|d| d == *id) {
                let before = state.uploads.len();
                state.uploads.retain(|u| u.touched_ms >= before_ms);
                discarded =
                    discarded.saturating_add(before.saturating_sub(state.uploads.len()) as u64);
            }
        }
        Ok(discarded)
    }

    fn upload_bytes(&self, device: u64, id: &UploadId) -> Result<Option<Vec<u8>>> {
        let (_, state) = self
            .devices
            .get(&device)
            .ok_or_else(|| not_found("no such device"))?;
        Ok(state
            .uploads
            .iter()
            .find(|u| u.id == *id)
            .map(|u| u.held.clone()))
    }

    fn remove_upload(&mut self, device: u64, id: &UploadId) -> Result<()> {
        self.device_mut(device)?.1.uploads.retain(|u| u.id != *id);
        Ok(())
    }
}
