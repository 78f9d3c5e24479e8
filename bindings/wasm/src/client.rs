//! The client session: enrollment, reconnect, and the sans-IO loop.
//!
//! Calling order, as in the core: create with `Client.enroll` or
//! `Client.resume`; send everything `pollTransmit()` gives; feed received
//! bytes to `handleBytes`; drain `pollEvent()`; call `handleTimeout` once the
//! time from `pollTimeout()` has passed.

use crate::error::Thrown;
use crate::events::{event, policy};
use crate::js::millis;
use crate::random::random;
use crate::replica;
use crate::state::ClientState;
use crate::types::{ClientEventJs, CollectionList, IdList, ItemJs, ItemList, PolicyJs};
use js_sys::Uint8Array;
use tidings::session::{ClientConfig, ClientSession};
use wasm_bindgen::prelude::*;

/// One connection of a device to its server: bytes in, events and bytes out.
/// It owns no socket (see `connect` for WebSockets) and no clock: every
/// call that needs the time takes `nowMs`, milliseconds on any monotonic
/// clock (`performance.now()`).
#[wasm_bindgen]
pub struct Client {
    pub(crate) session: ClientSession,
}

#[wasm_bindgen]
impl Client {
    /// Starts enrollment (Noise XK) with a fresh `state` (copied, not
    /// consumed), the activation code as the user typed it, and a name for
    /// the device. A wrong code is refused by the server: a `closed` event
    /// with error 601 follows.
    pub fn enroll(
        state: &ClientState,
        #[wasm_bindgen(js_name = activationCode)] activation_code: &str,
        #[wasm_bindgen(js_name = deviceName)] device_name: &str,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
    ) -> Result<Client, Thrown> {
        let now = millis(now_ms)?;
        let session = ClientSession::enroll(
            ClientConfig::default(),
            state.inner.clone(),
            activation_code,
            device_name,
            *random::<32>()?,
            now,
        )?;
        Ok(Client { session })
    }

    /// Reconnects (Noise IK, one round trip) with an enrolled `state` (copied,
    /// not consumed): every collection resumes from its cursor and the outbox
    /// is sent again. The hello counter has already advanced: store `save()`,
    /// then call `confirmStateSaved()`; until then `pollTransmit()` gives
    /// nothing, so a crash or a lost answer never repeats a hello timestamp.
    pub fn resume(
        state: &ClientState,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
    ) -> Result<Client, Thrown> {
        let now = millis(now_ms)?;
        let session = ClientSession::resume(
            ClientConfig::default(),
            state.inner.clone(),
            *random::<32>()?,
            now,
        )?;
        Ok(Client { session })
    }

    /// Releases the hello of `resume` once its state is stored.
    #[wasm_bindgen(js_name = confirmStateSaved)]
    pub fn confirm_state_saved(&mut self) {
        self.session.confirm_state_saved();
    }

    /// Feeds bytes received from the server, in order, in chunks of any
    /// size. An error closes the session (and a `closed` event follows).
    #[wasm_bindgen(js_name = handleBytes)]
    pub fn handle_bytes(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        bytes: &[u8],
    ) -> Result<(), Thrown> {
        Ok(self.session.handle_bytes(millis(now_ms)?, bytes)?)
    }

    /// The next bytes to send to the server, or `undefined`.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.session.poll_transmit()
    }

    /// The next event, or `undefined`.
    #[wasm_bindgen(js_name = pollEvent)]
    pub fn poll_event(&mut self) -> Option<ClientEventJs> {
        let next = self.session.poll_event()?;
        Some(event(&next, &ClientConfig::default().inflate).unchecked_into())
    }

    /// When (in ms, on the clock of `nowMs`) to call `handleTimeout`, or
    /// `undefined` once the session has ended.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.session.poll_timeout().map(|at| at as f64)
    }

    /// Tells the session the time has come: sends a keepalive (when they go
    /// both ways; one way, the device only listens), or closes with error
    /// 605 (timeout) when the server has been silent too long.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
    ) -> Result<(), Thrown> {
        Ok(self.session.handle_timeout(millis(now_ms)?)?)
    }

    /// Closes cleanly (bytes to send follow).
    pub fn close(&mut self, #[wasm_bindgen(js_name = nowMs)] now_ms: f64) -> Result<(), Thrown> {
        Ok(self.session.close(millis(now_ms)?)?)
    }

    /// Confirms a wipe order after erasing the device's data; the replica
    /// and outbox are cleared here too.
    #[wasm_bindgen(js_name = acknowledgeWipe)]
    pub fn acknowledge_wipe(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        #[wasm_bindgen(js_name = wipeId)] wipe_id: u64,
    ) -> Result<(), Thrown> {
        Ok(self.session.acknowledge_wipe(millis(now_ms)?, wipe_id)?)
    }

    /// The session's state as bytes, for `ClientState.restore`: save it after
    /// `enrolled`, `changed` and `operationResult` events, or on pause. The
    /// bytes hold the private key.
    pub fn save(&self) -> Uint8Array {
        Uint8Array::from(self.session.state().to_bytes().as_slice())
    }

    /// A copy of the session's state, e.g. to `Client.resume` after the
    /// connection dropped.
    pub fn state(&self) -> ClientState {
        ClientState {
            inner: self.session.state().clone(),
        }
    }

    /// Whether the handshake has completed and the session is open.
    #[wasm_bindgen(getter)]
    pub fn established(&self) -> bool {
        self.session.is_established()
    }

    /// Whether every visible collection is caught up in this session (a
    /// `caughtUp` event came for each): the initial sync is done, and what
    /// follows is live push. False before the welcome.
    #[wasm_bindgen(getter, js_name = caughtUp)]
    pub fn caught_up(&self) -> bool {
        self.session.is_caught_up()
    }

    /// Whether the session has ended.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.session.is_closed()
    }

    /// The device's id (0n before enrollment completes).
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> u64 {
        self.session.state().device_id()
    }

    /// The principal (user) the device belongs to (0n before enrollment): a
    /// collection with another `ownerId` is delegated to it.
    #[wasm_bindgen(getter, js_name = principalId)]
    pub fn principal_id(&self) -> u64 {
        self.session.state().principal_id()
    }

    /// Operations not yet answered.
    #[wasm_bindgen(getter, js_name = pendingOperations)]
    pub fn pending_operations(&self) -> usize {
        self.session.state().outbox().len()
    }

    /// The policy the server last set.
    #[wasm_bindgen(getter)]
    pub fn policy(&self) -> PolicyJs {
        policy(self.session.state().policy()).unchecked_into()
    }

    /// Replaces the replica's abridged copy of an item with the whole item:
    /// `packed` is the `data` of every `range` outcome of `fetchItem`,
    /// joined in order. Throws a `TidingsError` and keeps the abridged copy
    /// when the collection or item is not held (502), the bytes do not
    /// unpack within the device's inflate limits (300, 301) or decode (400),
    /// or they are another item or still abridged (505). Save the state
    /// afterwards to keep it.
    #[wasm_bindgen(js_name = completeItem)]
    pub fn complete_item(
        &mut self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
        #[wasm_bindgen(js_name = itemId)] item_id: u64,
        packed: &[u8],
    ) -> Result<(), Thrown> {
        Ok(self.session.complete_item(collection_id, item_id, packed)?)
    }

    /// The collections held, in id order.
    pub fn collections(&self) -> CollectionList {
        replica::collections(self.session.state().replica())
    }

    /// The ids of a collection's items, in order. Throws a `TidingsError`
    /// (502, not found) if the collection is not held.
    #[wasm_bindgen(js_name = itemIds)]
    pub fn item_ids(
        &self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
    ) -> Result<IdList, Thrown> {
        replica::item_ids(self.session.state().replica(), collection_id)
    }

    /// A collection's items, in id order. Throws a `TidingsError` (502, not
    /// found) if the collection is not held.
    pub fn items(
        &self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
    ) -> Result<ItemList, Thrown> {
        replica::items(self.session.state().replica(), collection_id)
    }

    /// One item, or `undefined` if it is not held.
    pub fn item(
        &self,
        #[wasm_bindgen(js_name = collectionId)] collection_id: u64,
        #[wasm_bindgen(js_name = itemId)] item_id: u64,
    ) -> Option<ItemJs> {
        replica::one_item(self.session.state().replica(), collection_id, item_id)
    }
}
