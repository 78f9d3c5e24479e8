//! Client state: made for enrollment, saved to bytes, restored from them.

use crate::error::Thrown;
use crate::events::policy;
use crate::js::fixed;
use crate::keys::Keypair;
use crate::replica;
use crate::types::{CollectionList, IdList, ItemJs, ItemList, PolicyJs};
use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// Everything a device keeps between runs: keys, cursors, the replica, the
/// outbox. Its replica can be read before connecting, to show the inbox at
/// once.
#[wasm_bindgen]
pub struct ClientState {
    pub(crate) inner: tidings::session::ClientState,
}

#[wasm_bindgen]
impl ClientState {
    /// A fresh state for enrollment: the device's key pair and the server's
    /// 32-byte public key (`parseActivation(uri).serverKey`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        keypair: &Keypair,
        #[wasm_bindgen(js_name = serverKey)] server_key: &Uint8Array,
    ) -> Result<ClientState, Thrown> {
        let server = fixed::<32>(server_key, "a server key is 32 bytes")?;
        Ok(ClientState {
            inner: tidings::session::ClientState::new(*keypair.secret, server),
        })
    }

    /// Restores a state from `save()` (of a state or a client). Throws a
    /// `TidingsError` (606, saved state corrupt) for bad bytes.
    pub fn restore(saved: &Uint8Array) -> Result<ClientState, Thrown> {
        // Copied into zeroed-on-drop memory: the bytes hold the private key.
        let bytes = Zeroizing::new(saved.to_vec());
        Ok(ClientState {
            inner: tidings::session::ClientState::from_bytes(&bytes)?,
        })
    }

    /// The state as bytes. They hold the device's private key: store them
    /// where the platform keeps secrets.
    pub fn save(&self) -> Uint8Array {
        Uint8Array::from(self.inner.to_bytes().as_slice())
    }

    /// Whether enrollment has completed.
    #[wasm_bindgen(getter)]
    pub fn enrolled(&self) -> bool {
        self.inner.is_enrolled()
    }

    /// The device's id (0n before enrollment).
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> u64 {
        self.inner.device_id()
    }

    /// The principal (user) the device belongs to (0n before enrollment): a
    /// collection with another `ownerId` is delegated to it.
    #[wasm_bindgen(getter, js_name = principalId)]
    pub fn principal_id(&self) -> u64 {
        self.inner.principal_id()
    }

    /// Operations not yet answered (sent again on the next resume).
    #[wasm_bindgen(getter, js_name = pendingOperations)]
    pub fn pending_operations(&self) -> usize {
        self.inner.outbox().len()
    }

    /// The policy the server last set.
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> PolicyJs {
        policy(self.inner.policy()).unchecked_into()
    }

    /// The collections held, in id order.
    pub fn collections(&self) -> CollectionList {
        replica::collections(self.inner.replica())
    }

    /// The ids of a collection's items, in order. Throws a `TidingsError`
    /// (502, not found) if the collection is not held.
    #[wasm_bindgen(js_name = itemIds)]
    pub fn item_ids(
        &self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
    ) -> Result<IdList, Thrown> {
        replica::item_ids(self.inner.replica(), collection_id)
    }

    /// A collection's items, in id order. Throws a `TidingsError` (502, not
    /// found) if the collection is not held.
    pub fn items(
        &self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
    ) -> Result<ItemList, Thrown> {
        replica::items(self.inner.replica(), collection_id)
    }

    /// One item, or `undefined` if it is not held.
    pub fn item(
        &self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
        #[wasm_bindgen(js_name = itemId)] item_id: u64,
    ) -> Option<ItemJs> {
        replica::one_item(self.inner.replica(), collection_id, item_id)
    }
}
