//! The client state a handset saves: keys, ids, cursors, items, outbox.

use crate::error::{Error, ErrorKind, Result};
use crate::proto::{self, Operation, Policy, SavedItem, operation};
use crate::sync::{CollectionReplica, Replica, ReplicaItem};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

const FORMAT_VERSION: u32 = 1;

/// Everything a device keeps between runs, so a restart needs no resync and
/// loses no queued operation. It holds the device's private key: store the
/// bytes of [`to_bytes`](Self::to_bytes) where the platform keeps secrets.
#[derive(Clone)]
pub struct ClientState {
    pub(crate) device_secret: Zeroizing<[u8; 32]>,
    pub(crate) server_public: [u8; 32],
    pub(crate) device_id: u64,
    pub(crate) principal_id: u64,
    pub(crate) next_hello_timestamp: u64,
    /// The next hello sends exactly `next_hello_timestamp`: the last was
    /// refused for a clock more than a day ahead of the server's.
    pub(crate) hello_floor_next: bool,
    pub(crate) replica: Replica,
    pub(crate) outbox: Vec<Operation>,
    pub(crate) policy: Policy,
}

impl core::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientState")
            .field("device_id", &self.device_id)
            .field("principal_id", &self.principal_id)
            .field("collections", &self.replica.cursors().len())
            .field("outbox", &self.outbox.len())
            .finish_non_exhaustive()
    }
}

impl ClientState {
    /// A device not yet enrolled: its freshly drawn private key (32 random
    /// bytes) and the server key it pins (from the activation payload).
    pub fn new(device_secret: [u8; 32], server_public: [u8; 32]) -> Self {
        Self {
            device_secret: Zeroizing::new(device_secret),
            server_public,
            device_id: 0,
            principal_id: 0,
            next_hello_timestamp: 1,
            hello_floor_next: false,
            replica: Replica::default(),
            outbox: Vec::new(),
            policy: Policy::default(),
        }
    }

    /// The device's pin of its server, with their static-static DH computed
    /// once: keep it for [`ClientSession::resume_pinned`](super::ClientSession::resume_pinned).
    /// Fails with [`LowOrderPoint`](crate::ErrorKind::LowOrderPoint) for a
    /// server key no handshake could use either.
    pub fn pin(&self) -> crate::Result<crate::crypto::PinnedServer> {
        let keys = crate::crypto::StaticKeypair::from_secret_bytes(*self.device_secret);
        crate::crypto::PinnedServer::new(&keys, self.server_public)
    }

    /// Whether enrollment has completed.
    pub fn is_enrolled(&self) -> bool {
        self.device_id != 0
    }

    /// The device id (0 before enrollment).
    pub fn device_id(&self) -> u64 {
        self.device_id
    }

    /// The principal (user) the device belongs to (0 before enrollment): a
    /// collection whose `owner_id` differs is delegated to it.
    pub fn principal_id(&self) -> u64 {
        self.principal_id
    }

    /// The collections and items held.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Operations not yet answered by the server, oldest first.
    pub fn outbox(&self) -> &[Operation] {
        &self.outbox
    }

    /// Queues an operation while offline; it is sent on the next resume.
    /// `op_id` must be 16 random bytes, the same on every retry. Save the
    /// state afterwards, or a crash loses the operation.
    pub fn queue(&mut self, op_id: [u8; 16], kind: operation::Kind) -> Operation {
        let op = Operation {
            op_id: op_id.to_vec(),
            kind: Some(kind),
        };
        self.outbox.push(op.clone());
        op
    }

    /// The smallest IK hello timestamp this device may send next (see
    /// [`ClientSession::resume`](super::ClientSession::resume)).
    pub fn next_hello_timestamp(&self) -> u64 {
        self.next_hello_timestamp
    }

    /// The timestamp of a hello sent at `now_ms`: `max(counter, now_ms)`,
    /// with the counter moved past it (saturating: a counter at `u64::MAX`
    /// is refused by the server, which answers with its floor).
    pub(crate) fn take_hello_timestamp(&mut self, now_ms: u64) -> u64 {
        let timestamp = match self.hello_floor_next {
            true => self.next_hello_timestamp,
            false => self.next_hello_timestamp.max(now_ms),
        };
        self.hello_floor_next = false;
        self.next_hello_timestamp = timestamp.saturating_add(1);
        timestamp
    }

    /// Adopts the floor a server sent, authenticated, with its refusal of a
    /// hello: the next hello is accepted whatever the counter was (a
    /// restored old state, or a counter pushed past the server's bound).
    /// A refused timestamp at or above the floor was not stale: the clock
    /// is more than a day ahead of the server's, and the next hello sends
    /// the floor itself rather than the clock again (handshake.md §4).
    pub(crate) fn adopt_hello_floor(&mut self, floor: u64) {
        let refused = self.next_hello_timestamp.saturating_sub(1);
        self.hello_floor_next = refused >= floor;
        self.next_hello_timestamp = floor;
    }

    /// The current policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Serializes the state (protobuf `tidings.v1.ClientState`).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut items = Vec::new();
        let mut collections = Vec::new();
        let mut cursors = Vec::new();
        for (info, replica) in self.replica.collections() {
            collections.push(info.clone());
            cursors.push(replica.cursor());
            for (&id, held) in replica.items() {
                let item = Some(held.item.clone());
                items.push(SavedItem {
                    collection_id: info.id,
                    id,
                    item,
                    flags: held.flags,
                });
            }
        }
        let saved = proto::ClientState {
            version: FORMAT_VERSION,
            device_secret: self.device_secret.to_vec(),
            server_public: self.server_public.to_vec(),
            device_id: self.device_id,
            principal_id: self.principal_id,
            next_hello_timestamp: self.next_hello_timestamp,
            hello_floor_next: self.hello_floor_next,
            collections,
            cursors,
            items,
            outbox: self.outbox.clone(),
            policy: Some(self.policy),
        };
        let bytes = Zeroizing::new(proto::encode(&saved));
        let mut secret = saved.device_secret;
        zeroize::Zeroize::zeroize(&mut secret);
        bytes
    }

    /// Restores a state saved by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let corrupt = |reason| Error::new(ErrorKind::StateCorrupt, reason);
        let mut saved: proto::ClientState =
            proto::decode(bytes).map_err(|_| corrupt("not a saved client state"))?;
        if saved.version != FORMAT_VERSION {
            return Err(corrupt("saved state has an unknown format version"));
        }
        let device_secret: [u8; 32] = saved
            .device_secret
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("bad key length"))?;
        zeroize::Zeroize::zeroize(&mut saved.device_secret);
        let server_public = saved
            .server_public
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("bad key length"))?;
        let mut items: BTreeMap<u64, BTreeMap<u64, ReplicaItem>> = BTreeMap::new();
        for saved_item in saved.items {
            let item = saved_item
                .item
                .ok_or_else(|| corrupt("saved item without content"))?;
            items.entry(saved_item.collection_id).or_default().insert(
                saved_item.id,
                ReplicaItem {
                    item,
                    flags: saved_item.flags,
                },
            );
        }
        let mut replica = Replica::default();
        for info in saved.collections {
            let cursor = saved
                .cursors
                .iter()
                .find(|c| c.collection_id == info.id)
                .copied()
                .unwrap_or_default();
            if cursor.collection_id != info.id {
                return Err(corrupt("collection without a cursor"));
            }
            let held = items.remove(&info.id).unwrap_or_default();
            replica.insert(info, CollectionReplica::restore(cursor, held));
        }
        if !items.is_empty() {
            return Err(corrupt("items of a collection not held"));
        }
        Ok(Self {
            device_secret: Zeroizing::new(device_secret),
            server_public,
            device_id: saved.device_id,
            principal_id: saved.principal_id,
            next_hello_timestamp: saved.next_hello_timestamp,
            hello_floor_next: saved.hello_floor_next,
            replica,
            outbox: saved.outbox,
            policy: saved.policy.unwrap_or_default(),
        })
    }
}
