//! The server side of a session: one per connected device.

mod unstored;

pub use unstored::WithoutStore;

use super::channel::{Channel, Keepalives, Timers};
use super::dh_cache::SharedDhCache;
use super::fanout::PreparedPage;
use super::follow::{Follows, Next};
use super::ops::{self, MailTransport, Outgoing};
use super::pacing::CatchUpPacing;
use super::{HANDSHAKE_IK, HANDSHAKE_XK};
use crate::compress::{pad, unpad};
use crate::crypto::{IkResponder, RekeyPolicy, StaticKeypair, XkResponded, XkResponder};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, CollectionInfo, CollectionsChanged, Enroll, Enrolled, Envelope, ErrorInfo, Feature,
    Hello, Policy, Revoked, Welcome, Wipe, envelope::Body,
};
use crate::store::{Store, WipeState};
use crate::sync::{Delta, PageLimits, Rights};
use std::collections::VecDeque;
use std::sync::Arc;
use zeroize::Zeroizing;

/// How a server session behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Keepalive and idle timeout.
    pub timers: Timers,
    /// Size of one delta page.
    pub page_limits: PageLimits,
    /// Pages sent per collection before the device must acknowledge: bounds
    /// what one session buffers, whatever the backlog.
    pub max_unacked_pages: u32,
    /// The preview size this server packs mail items with; a device asking
    /// for less gets its previews cut (and repacked) for it alone.
    pub packed_preview_bytes: usize,
    /// When the server rekeys its sending direction (handshake.md §8):
    /// tighten it to see rekeys happen (`serve --rekey-after-messages`).
    pub rekey: RekeyPolicy,
    /// The `Hello.features` bits this server takes up (default
    /// [`SERVER_FEATURES`]): leave out `FEATURE_ONE_WAY_KEEPALIVE` where
    /// something between server and devices needs traffic from the devices
    /// (`serve --two-way-keepalives`).
    pub features: u32,
}

/// Every `Hello.features` bit this server takes up, echoed in
/// `Welcome.features`: `CaughtUp`, `CollectionsChanged`, one-way
/// keepalives (sync.md §5.4: it then never times the device out for
/// silence, so whoever runs the session must learn from the transport that
/// a device is gone; the reference server sets `TCP_USER_TIMEOUT`), and
/// item patches (§3.1, from a store that keeps them).
pub const SERVER_FEATURES: u32 = Feature::CaughtUp as u32
    | Feature::CollectionUpdates as u32
    | Feature::OneWayKeepalive as u32
    | Feature::ItemPatches as u32;

impl ServerConfig {
    /// The policy a device gets when none was set for it (sync.md §5.7):
    /// version 1, no passcode or lock rule, attachments allowed, this
    /// server's preview size and keepalive interval.
    pub fn default_policy(&self) -> Policy {
        let keepalive = (self.timers.keepalive_ms / 1000).max(1);
        Policy {
            version: 1,
            require_passcode: false,
            max_inactivity_seconds: 0,
            allow_attachments: true,
            max_preview_bytes: u32::try_from(self.packed_preview_bytes).unwrap_or(u32::MAX),
            keepalive_seconds: u32::try_from(keepalive).unwrap_or(u32::MAX),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            timers: Timers::default(),
            page_limits: PageLimits::default(),
            max_unacked_pages: 4,
            packed_preview_bytes: crate::sync::mail::DEFAULT_PREVIEW_BYTES,
            rekey: RekeyPolicy::DEFAULT,
            features: SERVER_FEATURES,
        }
    }
}

/// What happened, for the server application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A device enrolled (XK) and is now connected.
    Enrolled {
        /// The new device.
        device_id: u64,
        /// Its principal.
        principal_id: u64,
    },
    /// An enrolled device reconnected (IK).
    Connected {
        /// The device.
        device_id: u64,
        /// Its principal.
        principal_id: u64,
    },
    /// An operation changed a collection: call
    /// [`ServerSession::push_changes`] on every session that may see it.
    CollectionChanged {
        /// The collection.
        collection_id: u64,
    },
    /// The device asked to send mail, and was answered `Done`: deliver it
    /// (see [`Outgoing`]). Only from [`ServerSession::handle_bytes`]; with
    /// [`ServerSession::handle_bytes_sending`] the transport has it.
    Outgoing(Outgoing),
    /// The device confirmed a remote wipe.
    WipeAcknowledged {
        /// The device.
        device_id: u64,
        /// The order.
        wipe_id: u64,
    },
    /// A device's Welcome (its principal's whole collection list, one
    /// message) did not fit a message: the device cannot connect until the
    /// principal has fewer collections or shorter names. The session
    /// closes with [`ErrorKind::MessageTooLarge`].
    WelcomeTooLarge {
        /// The device.
        device_id: u64,
        /// Its principal.
        principal_id: u64,
        /// Collections in the list.
        collections: usize,
        /// Bytes of the encoded Welcome (a message carries at most 65,535).
        bytes: usize,
    },
    /// The session ended; `error` says why, if it was not a clean close.
    Closed {
        /// The reason, if any.
        error: Option<Error>,
    },
}

enum Phase {
    AwaitingHandshake(Zeroizing<[u8; 32]>),
    AwaitingFinal(Box<XkResponded>),
    /// Enrolled over XK; waiting for the device's first Hello.
    AwaitingHello {
        device: u64,
        principal: u64,
    },
    Established {
        device: u64,
        principal: u64,
    },
    Closed,
}

/// The server side of one device's session: sans-IO, deterministic.
///
/// Calling order as for [`ClientSession`](super::ClientSession), with the
/// store passed to each call that reads or changes it, and
/// [`push_changes`](Self::push_changes) whenever a collection the device may
/// see has changed (live push).
pub struct ServerSession {
    keys: Arc<StaticKeypair>,
    /// Static-static DH values of known devices, shared with other sessions.
    dh_cache: Option<SharedDhCache>,
    /// Whether a reconnecting device's first pages wait.
    pacing: Option<Arc<dyn CatchUpPacing>>,
    /// The first pages of this session wait for `push_changes`.
    catch_up_deferred: bool,
    /// The device's static key, once an IK hello proved it.
    device_key: Option<[u8; 32]>,
    channel: Channel,
    phase: Phase,
    follows: Follows,
    events: VecDeque<ServerEvent>,
    /// Packed bytes of one delta page: repair pages are cut to it too.
    follows_page_bytes: usize,
    /// The Closed event was emitted. Kept apart from the phase, which is
    /// taken out (left Closed) while a frame is handled.
    ended: bool,
    /// The features of this session: the device's `Hello.features` that
    /// this server takes up.
    features: u32,
    /// A digest of the collection list the device holds (from Welcome,
    /// then from `CollectionsChanged`): enough to tell that it changed, at
    /// 32 bytes where the list with its names is hundreds per session.
    collections: [u8; 32],
    /// What a device gets when no policy was set for it.
    default_policy: Policy,
    /// The features this server takes up (`ServerConfig::features`).
    offered_features: u32,
    /// Messages decrypted without a store that wait for one, in order
    /// (at most one read's worth: see `handle_bytes_without_store`).
    waiting: VecDeque<Body>,
    /// The device's wipe state in the record read to authenticate it.
    wipe_at_hello: WipeState,
    /// A wipe was ordered in this session.
    wipe_ordered: bool,
    /// Mail the device may still send ([`Outgoing::stored_bytes`]).
    outgoing_allowance: ops::Allowance,
}

impl ServerSession {
    /// A session for a new connection; `ephemeral` is 32 random bytes.
    pub fn new(
        config: ServerConfig,
        keys: Arc<StaticKeypair>,
        ephemeral: [u8; 32],
        now_ms: u64,
    ) -> Self {
        let mut channel = Channel::new(now_ms, config.timers);
        channel.set_rekey_policy(config.rekey);
        let default_policy = config.default_policy();
        Self {
            default_policy,
            offered_features: config.features & SERVER_FEATURES,
            keys,
            dh_cache: None,
            pacing: None,
            catch_up_deferred: false,
            device_key: None,
            channel,
            phase: Phase::AwaitingHandshake(Zeroizing::new(ephemeral)),
            follows: Follows::new(
                config.page_limits,
                config.max_unacked_pages,
                config.packed_preview_bytes,
            ),
            events: VecDeque::new(),
            follows_page_bytes: config.page_limits.max_bytes,
            ended: false,
            features: 0,
            collections: [0; 32],
            waiting: VecDeque::new(),
            wipe_at_hello: WipeState::None,
            wipe_ordered: false,
            outgoing_allowance: ops::Allowance::UNBOUNDED,
        }
    }

    /// Uses `cache` for reconnects: a device the store knows (and has not
    /// revoked) gets its static-static DH kept there, and its later IK
    /// handshakes skip that X25519 operation. Same messages, same checks.
    #[must_use]
    pub fn with_dh_cache(mut self, cache: SharedDhCache) -> Self {
        self.dh_cache = Some(cache);
        self
    }

    /// Asks `pacing`, once a reconnect's hello has authenticated the
    /// device, whether its first pages wait for a later
    /// [`push_changes`](Self::push_changes) ([`catch_up_deferred`](Self::catch_up_deferred)).
    #[must_use]
    pub fn with_catch_up_pacing(mut self, pacing: Arc<dyn CatchUpPacing>) -> Self {
        self.pacing = Some(pacing);
        self
    }

    /// Whether the device's first pages wait for
    /// [`push_changes`](Self::push_changes): its hello was answered with
    /// the `Welcome` alone ([`with_catch_up_pacing`](Self::with_catch_up_pacing)).
    pub fn catch_up_deferred(&self) -> bool {
        self.catch_up_deferred
    }

    fn has(&self, feature: Feature) -> bool {
        let bit = u32::try_from(feature as i32).unwrap_or(0);
        self.features & bit != 0
    }

    // ---- getters ----

    /// The connected device and its principal, once authenticated.
    pub fn device(&self) -> Option<(u64, u64)> {
        match self.phase {
            Phase::AwaitingHello { device, principal }
            | Phase::Established { device, principal } => Some((device, principal)),
            _ => None,
        }
    }

    /// The collections the device is followed in once its Hello is
    /// answered (the Welcome's list, kept up to date by
    /// [`refresh_collections`](Self::refresh_collections)): what a server
    /// routes change notices by, without asking its store again. `None`
    /// before the Hello.
    pub fn followed_collections(&self) -> Option<Vec<u64>> {
        matches!(self.phase, Phase::Established { .. }).then(|| self.follows.collections())
    }

    /// The device's wipe state as the store held it when this session
    /// authenticated the device (in the same store turn as its hello): a
    /// server orders a pending wipe again from it without reading the
    /// device once more. A wipe ordered later reaches the server as a
    /// change of its own. [`WipeState::None`] before authentication.
    pub fn wipe_at_hello(&self) -> WipeState {
        self.wipe_at_hello
    }

    /// Bounds the mail the device may send from now on to `bytes`, counted
    /// as [`Outgoing::stored_bytes`] (the copies sending may store): a send
    /// beyond it is answered `LimitExceeded` (608), not remembered, and may
    /// be tried again once the server allows more. With `whole` (the device
    /// has its whole budget) the first send goes whatever its size, so a
    /// mail larger than the budget is not refused for ever; the server
    /// carries the debt. Unbounded by default; a server sets it from the
    /// device's budget before each turn and charges
    /// [`take_outgoing_charged`](Self::take_outgoing_charged) after it.
    pub fn set_outgoing_allowance(&mut self, bytes: u64, whole: bool) {
        self.outgoing_allowance.bytes = bytes;
        self.outgoing_allowance.whole = whole;
    }

    /// The bytes of mail sent since the last call (see
    /// [`set_outgoing_allowance`](Self::set_outgoing_allowance)).
    pub fn take_outgoing_charged(&mut self) -> u64 {
        core::mem::take(&mut self.outgoing_allowance.charged)
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    // ---- inputs ----

    /// Feeds bytes received from the device. An error closes the session.
    /// Mail the device sends is answered `Done` and handed to the
    /// application as [`ServerEvent::Outgoing`];
    /// [`handle_bytes_sending`](Self::handle_bytes_sending) hands it to a
    /// transport first, so a mail that cannot be sent is refused.
    pub fn handle_bytes<S: Store>(
        &mut self,
        now_ms: u64,
        bytes: &[u8],
        store: &mut S,
    ) -> Result<()> {
        self.handle_bytes_with(now_ms, bytes, store, None)
    }

    /// As [`handle_bytes`](Self::handle_bytes), with mail the device sends
    /// handed to `transport` inside its operation, before the result is
    /// recorded: the answer says whether the transport took it.
    pub fn handle_bytes_sending<S: Store>(
        &mut self,
        now_ms: u64,
        bytes: &[u8],
        store: &mut S,
        transport: &mut dyn MailTransport<S>,
    ) -> Result<()> {
        self.handle_bytes_with(now_ms, bytes, store, Some(transport))
    }

    fn handle_bytes_with<S: Store>(
        &mut self,
        now_ms: u64,
        mut bytes: &[u8],
        store: &mut S,
        mut transport: Option<&mut dyn MailTransport<S>>,
    ) -> Result<()> {
        if self.is_closed() {
            return Err(ErrorKind::SessionClosed.into());
        }
        self.handle_waiting(now_ms, store, ops::reborrow(&mut transport))?;
        if self.is_closed() {
            return Ok(());
        }
        loop {
            let Some(frame) = self.next_frame(now_ms, &mut bytes)? else {
                return Ok(());
            };
            if let Err(e) = self.handle_frame(now_ms, &frame, store, ops::reborrow(&mut transport))
            {
                self.tell_device(now_ms, &e);
                return Err(self.fail(e));
            }
            if self.is_closed() {
                return Ok(());
            }
        }
    }

    /// The next whole frame of `bytes`, if any; a frame the channel refuses
    /// closes the session (an unknown version is answered first). Once the
    /// bytes hold no more whole frames, the receive key's schedule is freed
    /// until the next read: devices speak seldom (one-way keepalives, an
    /// acknowledgement per push), and it is a quarter of an idle session.
    fn next_frame(&mut self, now_ms: u64, bytes: &mut &[u8]) -> Result<Option<Vec<u8>>> {
        match self.channel.next_frame(now_ms, bytes) {
            Ok(Some(frame)) => Ok(Some(frame)),
            Ok(None) => {
                self.channel.rest_receiving();
                Ok(None)
            }
            Err(e) => {
                if matches!(e, Error::UnknownVersion(_)) {
                    let mut refusal = Vec::new();
                    crate::frame::encode_refusal(&mut refusal);
                    self.channel.queue_raw(refusal);
                }
                Err(self.fail(e))
            }
        }
    }

    /// Sends every change the device has not been sent yet, within the
    /// page window. Call after any change to a collection the device may see:
    /// an acknowledgement alone looks only at collections whose window held
    /// pages back, so a change nobody announces waits for the next call.
    /// A collection the principal may no longer read (a grant withdrawn
    /// since the session began) is sent nothing.
    pub fn push_changes<S: Store>(&mut self, now_ms: u64, store: &S) -> Result<()> {
        self.catch_up_deferred = false;
        let all = self.follows.collections();
        self.push_in(now_ms, store, all)
    }

    /// Whether a wipe is pending for the device: it is then sent no data
    /// and none of its operations is applied, so a lost handset whose app
    /// ignores the order gets nothing more (sync.md §5.8).
    fn withholding(&self) -> bool {
        self.wipe_ordered || matches!(self.wipe_at_hello, WipeState::Pending(_))
    }

    /// Sends what `collections` owe the device, within the page window.
    fn push_in<S: Store>(&mut self, now_ms: u64, store: &S, collections: Vec<u64>) -> Result<()> {
        let Phase::Established { principal, .. } = self.phase else {
            return Ok(());
        };
        if self.withholding() {
            return Ok(());
        }
        for collection in collections {
            if self.may_read(store, principal, collection)? {
                self.push_readable(now_ms, store, collection, None)?;
            }
        }
        Ok(())
    }

    /// Sends what `collection`, which the principal may read, owes the
    /// device, within the page window, starting from `read` if its first
    /// delta was read already (from the cursor `Follows::wants` gave).
    fn push_readable<S: Store>(
        &mut self,
        now_ms: u64,
        store: &S,
        collection: u64,
        mut read: Option<Delta>,
    ) -> Result<()> {
        loop {
            let next = match read.take() {
                Some(delta) => self.follows.take(collection, delta),
                None => self.follows.next(store, collection),
            };
            let body = match next.map_err(|e| self.fail(e))? {
                Next::Send(body) => *body,
                // Nothing more below: told once, and not looked at again.
                Next::UpToDate(Some(caught_up)) if self.has(Feature::CaughtUp) => {
                    let envelope = Envelope {
                        body: Some(Body::CaughtUp(caught_up)),
                    };
                    return self
                        .channel
                        .send(now_ms, &envelope)
                        .map_err(|e| self.fail(e));
                }
                Next::UpToDate(_) | Next::Window => return Ok(()),
            };
            let envelope = Envelope { body: Some(body) };
            self.channel
                .send(now_ms, &envelope)
                .map_err(|e| self.fail(e))?;
        }
    }

    /// Brings the device's collection list up to date: call it when the
    /// collections its principal may see may have changed (one created,
    /// renamed, deleted or recreated; a delegation changed). When the list
    /// differs from the one the device holds, a device that understands it
    /// (`FEATURE_COLLECTION_UPDATES`) is sent `CollectionsChanged`, follows
    /// the new list from now on (a new collection from the start) and is sent
    /// what it lacks. An older device keeps what it followed and learns the
    /// new list when it reconnects; it is still sent nothing it may no longer
    /// read. Returns whether the list changed.
    pub fn refresh_collections<S: Store>(&mut self, now_ms: u64, store: &S) -> Result<bool> {
        let Phase::Established { principal, .. } = self.phase else {
            return Ok(false);
        };
        let now = store
            .collection_infos(principal)
            .map_err(|e| self.fail(e))?;
        let digest = collections_digest(&now);
        if digest == self.collections {
            return Ok(false);
        }
        if self.has(Feature::CollectionUpdates) {
            let ids: Vec<u64> = now.iter().map(|c| c.id).collect();
            self.follows.retain_exactly(&ids);
            let message = CollectionsChanged {
                collections: now.clone(),
            };
            self.channel
                .send(
                    now_ms,
                    &Envelope {
                        body: Some(Body::CollectionsChanged(message)),
                    },
                )
                .map_err(|e| self.fail(e))?;
        }
        self.collections = digest;
        self.push_changes(now_ms, store)?;
        Ok(true)
    }

    /// Sends a prepared page if this session stands exactly where it starts
    /// (see [`PreparedPage`]) and its principal may still read the
    /// collection; returns whether it did. When it did not, call
    /// [`push_changes`](Self::push_changes), which computes the session's own.
    pub fn push_prepared<S: Store>(
        &mut self,
        now_ms: u64,
        store: &S,
        page: &PreparedPage,
    ) -> Result<bool> {
        let Phase::Established { principal, .. } = self.phase else {
            return Ok(false);
        };
        if !self.may_read(store, principal, page.from.collection_id)? {
            return Ok(false);
        }
        self.send_prepared(now_ms, page)
    }

    /// [`push_prepared`](Self::push_prepared) with the principal's rights
    /// on the page's collection given by the caller, read once for every
    /// device (in the same snapshot as the page, or later) rather than
    /// asked of a store per device: a fan-out to many devices then needs
    /// no store at all. Returns whether it sent the page; when it did not,
    /// call [`push_changes`](Self::push_changes).
    pub fn push_prepared_with_rights(
        &mut self,
        now_ms: u64,
        rights: Rights,
        page: &PreparedPage,
    ) -> Result<bool> {
        if !matches!(self.phase, Phase::Established { .. }) || !rights.contains(Rights::READ) {
            return Ok(false);
        }
        self.send_prepared(now_ms, page)
    }

    /// Sends `page` if this session stands where it starts.
    fn send_prepared(&mut self, now_ms: u64, page: &PreparedPage) -> Result<bool> {
        if self.withholding() || !self.follows.take_prepared(page) {
            return Ok(false);
        }
        self.channel
            .send_padded(now_ms, &page.padded)
            .map_err(|e| self.fail(e))?;
        Ok(true)
    }

    /// Whether `principal` may read `collection` now: checked on every path
    /// that sends a collection's data, since grants change during a session.
    fn may_read<S: Store>(&mut self, store: &S, principal: u64, collection: u64) -> Result<bool> {
        match store.rights(principal, collection) {
            Ok(rights) => Ok(rights.contains(Rights::READ)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Sends a new policy (and stores it).
    pub fn send_policy<S: Store>(
        &mut self,
        now_ms: u64,
        store: &mut S,
        policy: Policy,
    ) -> Result<()> {
        let (device, _) = self.device().ok_or(ErrorKind::InvalidState)?;
        store.set_policy(device, policy)?;
        self.channel.send(
            now_ms,
            &Envelope {
                body: Some(Body::Policy(policy)),
            },
        )
    }

    /// Sends the device's stored policy again, as it now is: an
    /// administrator changed it while the device was connected (sync.md
    /// §5.7). Nothing is written.
    pub fn send_stored_policy<S: Store>(&mut self, now_ms: u64, store: &S) -> Result<()> {
        let (device, _) = self.device().ok_or(ErrorKind::InvalidState)?;
        let policy = self.effective_policy(store.policy(device)?);
        self.channel.send(
            now_ms,
            &Envelope {
                body: Some(Body::Policy(policy)),
            },
        )
    }

    /// What a device is told of `stored`: the server's own policy when none
    /// was set (a version 0 is never sent), else the stored one with the
    /// server's keepalive interval and preview size where it leaves them 0.
    fn effective_policy(&self, stored: Policy) -> Policy {
        if stored.version == 0 {
            return self.default_policy;
        }
        let or_default = |value: u32, default: u32| if value == 0 { default } else { value };
        Policy {
            keepalive_seconds: or_default(
                stored.keepalive_seconds,
                self.default_policy.keepalive_seconds,
            ),
            max_preview_bytes: or_default(
                stored.max_preview_bytes,
                self.default_policy.max_preview_bytes,
            ),
            ..stored
        }
    }

    /// Orders a remote wipe (and stores the order). From then on the
    /// session sends the device no data and applies none of its
    /// operations (sync.md §5.8). An order another session of the device
    /// has already seen acknowledged is not given again: stored as
    /// pending anew, a wipe done would look undone, for good.
    pub fn order_wipe<S: Store>(&mut self, now_ms: u64, store: &mut S, wipe_id: u64) -> Result<()> {
        let (device, _) = self.device().ok_or(ErrorKind::InvalidState)?;
        match store.device(device)?.wipe {
            WipeState::Done(done) if done == wipe_id => return Ok(()),
            WipeState::Pending(pending) if pending == wipe_id => {}
            _ => store.set_wipe(device, WipeState::Pending(wipe_id))?,
        }
        self.wipe_ordered = true;
        self.channel.send(
            now_ms,
            &Envelope {
                body: Some(Body::Wipe(Wipe { wipe_id })),
            },
        )
    }

    /// Revokes the device: stores it, tells the device, closes the session.
    pub fn revoke<S: Store>(&mut self, now_ms: u64, store: &mut S) -> Result<()> {
        let (device, _) = self.device().ok_or(ErrorKind::InvalidState)?;
        store.revoke(device)?;
        if let (Some(cache), Some(key)) = (&self.dh_cache, &self.device_key) {
            cache.forget(key);
        }
        self.channel.send(
            now_ms,
            &Envelope {
                body: Some(Body::Revoked(Revoked {})),
            },
        )?;
        self.finish(Some(ErrorKind::DeviceRevoked.into()));
        Ok(())
    }

    /// Closes cleanly, telling an established device so (a server shutting
    /// down): the device resumes later from its acknowledged cursors.
    pub fn close(&mut self, now_ms: u64) -> Result<()> {
        if matches!(self.phase, Phase::Established { .. }) {
            self.channel.send(
                now_ms,
                &Envelope {
                    body: Some(Body::Close(proto::Close::default())),
                },
            )?;
        }
        self.finish(None);
        Ok(())
    }

    /// Sends a keepalive when due; closes on silence, unless the device
    /// only listens (one-way keepalives, sync.md §5.4).
    pub fn handle_timeout(&mut self, now_ms: u64) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        match self.channel.handle_timeout(now_ms) {
            Ok(()) => Ok(()),
            Err(e) => {
                // An idle close is typed for the device (605), like any
                // session-level error, in case it is still listening.
                self.tell_device(now_ms, &e);
                Err(self.fail(e))
            }
        }
    }

    /// Records the padded envelopes this session seals from now on, for
    /// [`take_sent_envelopes_for_testing_only`](Self::take_sent_envelopes_for_testing_only).
    /// Test builds only.
    #[cfg(feature = "testing")]
    pub fn record_sent_envelopes_for_testing_only(&mut self) {
        self.channel.record_sent_for_testing_only();
    }

    /// The padded envelopes recorded so far, in order, taken: what the
    /// vectors in `docs/test-vectors/` are made of. Test builds only.
    #[cfg(feature = "testing")]
    pub fn take_sent_envelopes_for_testing_only(&mut self) -> Vec<Vec<u8>> {
        self.channel.take_sent_for_testing_only()
    }

    /// Whether the receive key's schedule is expanded now: it is freed
    /// after every read. Test builds only.
    #[cfg(feature = "testing")]
    pub fn is_receive_key_expanded_for_testing_only(&self) -> bool {
        self.channel.is_receiving_expanded()
    }

    /// Whether the send key's schedule is expanded now: it is freed once
    /// [`poll_transmit`](Self::poll_transmit) has drained every frame.
    /// Test builds only.
    #[cfg(feature = "testing")]
    pub fn is_send_key_expanded_for_testing_only(&self) -> bool {
        self.channel.is_sending_expanded()
    }

    /// Sends arbitrary plaintext through the encrypted channel, bypassing
    /// padding and encoding: lets fuzzers and tests reach the peer's message
    /// handling with any bytes. Test builds only.
    #[cfg(feature = "testing")]
    pub fn send_plaintext_for_testing_only(&mut self, now_ms: u64, plaintext: &[u8]) -> Result<()> {
        self.channel
            .send_plaintext_for_testing_only(now_ms, plaintext)
    }

    // ---- outputs ----

    /// The next bytes to send to the device.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.channel.poll_transmit()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        let next = self.events.pop_front();
        if next.is_none() && self.events.capacity() > 0 {
            // Drained: an idle session holds no event buffer (events are
            // large, and a turn's burst would otherwise stay allocated).
            self.events = VecDeque::new();
        }
        next
    }

    /// When to call [`handle_timeout`](Self::handle_timeout), if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        (!self.is_closed()).then(|| self.channel.next_timeout())
    }

    // ---- internals ----

    fn handle_frame<S: Store>(
        &mut self,
        now_ms: u64,
        frame: &[u8],
        store: &mut S,
        transport: Option<&mut dyn MailTransport<S>>,
    ) -> Result<()> {
        match core::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::AwaitingHandshake(ephemeral) => match frame.split_first() {
                Some((&HANDSHAKE_IK, hello)) => self.accept_ik(now_ms, *ephemeral, hello, store),
                Some((&HANDSHAKE_XK, first)) => {
                    let mut reply = Vec::new();
                    let responded =
                        XkResponder::new(&self.keys, *ephemeral).respond(first, &mut reply)?;
                    self.channel.send_frame(now_ms, &reply)?;
                    self.phase = Phase::AwaitingFinal(Box::new(responded));
                    Ok(())
                }
                _ => Err(Error::new(
                    ErrorKind::HandshakeMalformed,
                    "unknown handshake kind",
                )),
            },
            Phase::AwaitingFinal(responded) => self.accept_xk(now_ms, *responded, frame, store),
            phase @ (Phase::AwaitingHello { .. } | Phase::Established { .. }) => {
                self.phase = phase;
                match self.channel.open(frame)? {
                    Some(Envelope { body: Some(body) }) => {
                        self.handle_body(now_ms, body, store, transport)
                    }
                    _ => Ok(()), // keepalive or rekey marker
                }
            }
            Phase::Closed => Err(ErrorKind::SessionClosed.into()),
        }
    }

    fn accept_ik<S: Store>(
        &mut self,
        now_ms: u64,
        ephemeral: [u8; 32],
        msg: &[u8],
        store: &mut S,
    ) -> Result<()> {
        // The device's cached `ss`, copied out of the shared cache.
        let mut cached = None;
        let (slot, cache) = (&mut cached, self.dh_cache.as_ref());
        let hello = IkResponder::new(&self.keys, ephemeral).read_hello_with(msg, move |key| {
            *slot = cache.and_then(|c| c.get(key));
            let slot: &Option<_> = slot;
            slot.as_ref()
        })?;
        // The early payload may only be a Hello: read-only and idempotent.
        // Anything else is refused before it is acted on, told to the
        // device in message 2 as an unknown key is (the hello proved the
        // sender holds the key it names, and nothing is stored).
        let early = unpad(hello.early_payload()).and_then(proto::decode::<Envelope>);
        let request = match early.map(|envelope| envelope.body) {
            Ok(Some(Body::Hello(request))) => request,
            Ok(_) => return self.refuse_ik(now_ms, hello, ErrorKind::EarlyDataNotAllowed, 0),
            Err(e) => return self.refuse_ik(now_ms, hello, e.kind(), 0),
        };
        let Some((device, policy)) = store.device_and_policy_by_key(&hello.device_key())? else {
            // IK proved the key is the device's: answering costs nothing and
            // tells it to enroll again rather than leaving it to time out.
            return self.refuse_ik(now_ms, hello, ErrorKind::UnknownPeer, 0);
        };
        let timestamp = hello.timestamp();
        if let Some(floor) = stale_hello(device.last_hello, timestamp, now_ms) {
            // Answered, encrypted to the device alone: it adopts the floor
            // and its next hello gets through, with nothing stored here.
            return self.refuse_ik(now_ms, hello, ErrorKind::Replay, floor);
        }
        if request.cursors.len() > MAX_HELLO_CURSORS {
            return self.refuse_ik(now_ms, hello, ErrorKind::LimitExceeded, 0);
        }
        if let Some(cache) = &self.dh_cache {
            // Only devices the store vouches for enter: strangers' hellos
            // cannot push them out. A revoked device's value is dropped.
            match (device.revoked, cached.is_some()) {
                (true, _) => cache.forget(&hello.device_key()),
                // The handshake's own `ss`: no second X25519 to fill it.
                (false, false) => {
                    if let Some(computed) = hello.static_static() {
                        cache.keep(computed);
                    }
                }
                (false, true) => {}
            }
        }
        self.device_key = Some(hello.device_key());
        self.wipe_at_hello = device.wipe;
        let welcome = match device.revoked {
            true => None,
            false => Some(self.welcome(store, device.principal, &request, policy)?),
        };
        let reply = match &welcome {
            None => Body::Revoked(Revoked {}),
            Some(welcome) => Body::Welcome(welcome.clone()),
        };
        let mut payload = Vec::new();
        pad(
            &proto::encode(&Envelope { body: Some(reply) }),
            &mut payload,
        );
        let mut response = Vec::new();
        let accepted = hello.accept(device.last_hello, &payload, &mut response);
        let transport = accepted.map_err(|e| match &welcome {
            Some(w) => self.welcome_refused(e, (device.id, device.principal), w, payload.len()),
            None => e,
        })?;
        store.record_hello(device.id, timestamp)?;
        super::uploads::discard_idle_uploads(store, Some(device.id), now_ms)?;
        self.channel.send_frame(now_ms, &response)?;
        self.channel.establish(transport);
        let Some(welcome) = welcome else {
            self.finish(Some(ErrorKind::DeviceRevoked.into()));
            return Ok(());
        };
        self.phase = Phase::Established {
            device: device.id,
            principal: device.principal,
        };
        self.events.push_back(ServerEvent::Connected {
            device_id: device.id,
            principal_id: device.principal,
        });
        // The first pages may be costly to build (items abridged one by
        // one): the replay guard written above does not hold the write
        // lock meanwhile, or every other device's hello and write waited.
        store.settle()?;
        self.catch_up_deferred = self
            .pacing
            .as_ref()
            .is_some_and(|pacing| pacing.defer_first_pages(device.id));
        self.start_following(now_ms, store, &welcome, &request)
    }

    /// Answers a hello with an encrypted [`ErrorInfo`] (the IK response
    /// authenticates it to the device) and ends the session with `kind`.
    fn refuse_ik(
        &mut self,
        now_ms: u64,
        hello: crate::crypto::IkHello,
        kind: ErrorKind,
        hello_floor: u64,
    ) -> Result<()> {
        let refusal = Envelope {
            body: Some(Body::Error(ErrorInfo {
                code: kind.code().into(),
                hello_floor,
            })),
        };
        let mut payload = Vec::new();
        pad(&proto::encode(&refusal), &mut payload);
        let mut response = Vec::new();
        hello.accept(None, &payload, &mut response)?;
        self.channel.send_frame(now_ms, &response)?;
        Err(Error::new(kind, "hello refused"))
    }

    fn accept_xk<S: Store>(
        &mut self,
        now_ms: u64,
        responded: XkResponded,
        msg: &[u8],
        store: &mut S,
    ) -> Result<()> {
        let enrollment = responded.read_enrollment(msg)?;
        let mut request: Enroll = proto::decode(enrollment.activation_code())?;
        // Checked whole, before the code is taken out of it.
        let checked = super::enroll::check(&request);
        let code = Zeroizing::new(core::mem::take(&mut request.activation_code));
        let device_key = enrollment.device_key();
        // Completing the handshake lets a refusal travel encrypted and typed.
        let transport = enrollment.accept()?;
        self.channel.establish(transport);
        let redeemed = checked.and_then(|()| {
            store.redeem_activation(&code, device_key, &request.device_name, now_ms)
        });
        match redeemed {
            Ok(device) => {
                self.wipe_at_hello = device.wipe;
                let enrolled = Enrolled {
                    device_id: device.id,
                    principal_id: device.principal,
                };
                self.channel.send(
                    now_ms,
                    &Envelope {
                        body: Some(Body::Enrolled(enrolled)),
                    },
                )?;
                self.phase = Phase::AwaitingHello {
                    device: device.id,
                    principal: device.principal,
                };
                self.events.push_back(ServerEvent::Enrolled {
                    device_id: device.id,
                    principal_id: device.principal,
                });
                Ok(())
            }
            Err(e) => {
                self.channel.send(
                    now_ms,
                    &Envelope {
                        body: Some(Body::Error(ErrorInfo {
                            code: e.code().into(),
                            hello_floor: 0,
                        })),
                    },
                )?;
                Err(e)
            }
        }
    }

    fn handle_body<S: Store>(
        &mut self,
        now_ms: u64,
        body: Body,
        store: &mut S,
        transport: Option<&mut dyn MailTransport<S>>,
    ) -> Result<()> {
        let (device, principal) = self.device().ok_or(ErrorKind::InvalidState)?;
        match body {
            Body::Hello(_) if matches!(self.phase, Phase::Established { .. }) => Err(Error::new(
                ErrorKind::UnexpectedMessage,
                "one Hello per session",
            )),
            Body::Hello(hello) => {
                if hello.cursors.len() > MAX_HELLO_CURSORS {
                    return Err(Error::new(ErrorKind::LimitExceeded, "too many cursors"));
                }
                let policy = store.policy(device)?;
                let welcome = self.welcome(store, principal, &hello, policy)?;
                let envelope = Envelope {
                    body: Some(Body::Welcome(welcome.clone())),
                };
                self.channel.send(now_ms, &envelope).map_err(|e| {
                    let bytes = proto::encode(&envelope).len();
                    self.welcome_refused(e, (device, principal), &welcome, bytes)
                })?;
                self.phase = Phase::Established { device, principal };
                store.settle()?;
                self.start_following(now_ms, store, &welcome, &hello)
            }
            // A device may end the session before its Hello: no error.
            Body::Close(_) if matches!(self.phase, Phase::AwaitingHello { .. }) => {
                self.finish(None);
                Ok(())
            }
            // A message the device sends, but not before its Hello
            // (sync.md §5.4).
            _ if matches!(self.phase, Phase::AwaitingHello { .. }) => Err(Error::new(
                ErrorKind::UnexpectedMessage,
                "Hello must come first",
            )),
            Body::Ack(ack) => {
                for cursor in ack.cursors {
                    if self.follows.acked(&cursor) {
                        store.save_cursor(device, cursor)?;
                    }
                }
                // Only what the window held back: a collection that has
                // been sent everything learns of new changes from the
                // application (`push_changes`), so a caught-up device's
                // acknowledgement costs no read.
                let waiting = self.follows.unsettled();
                self.push_in(now_ms, store, waiting)
            }
            // Ordered wiped: answered, not applied nor remembered.
            Body::Operation(op) if self.withholding() => self.channel.send(
                now_ms,
                &Envelope {
                    body: Some(Body::Result(proto::OperationResult {
                        op_id: op.op_id,
                        outcome: Some(proto::operation_result::Outcome::Error(ErrorInfo {
                            code: ErrorKind::PermissionDenied.code().into(),
                            hello_floor: 0,
                        })),
                    })),
                },
            ),
            Body::Refetch(_) if self.withholding() => Ok(()),
            Body::Operation(op) => {
                let allowance = &mut self.outgoing_allowance;
                let applied = ops::apply(
                    store,
                    (device, principal),
                    &op,
                    allowance,
                    transport,
                    now_ms,
                );
                let (result, effects) = match applied {
                    Err(e) if e.kind() == ErrorKind::DeviceRevoked => {
                        return self.revoke(now_ms, store);
                    }
                    applied => applied?,
                };
                self.channel.send(
                    now_ms,
                    &Envelope {
                        body: Some(Body::Result(result)),
                    },
                )?;
                for collection_id in effects.changed {
                    self.events
                        .push_back(ServerEvent::CollectionChanged { collection_id });
                }
                for outgoing in effects.outgoing {
                    self.events.push_back(ServerEvent::Outgoing(outgoing));
                }
                self.push_changes(now_ms, store)
            }
            Body::Refetch(refetch) => {
                let ids = ops::distinct(&refetch.item_ids, MAX_REFETCH_IDS)?;
                let (upserts, removals) =
                    store.refetch_for(principal, refetch.collection_id, &ids)?;
                // Several repair pages, each within one page's bytes, rather
                // than one message as large as everything asked for.
                let budget = self.follows_page_bytes;
                let mut pages = vec![(Vec::new(), removals, 0usize)];
                for upsert in upserts {
                    let size = upsert.packed.len();
                    let full = pages.last().is_some_and(|(u, _, bytes)| {
                        !u.is_empty() && bytes.saturating_add(size) > budget
                    });
                    if full {
                        pages.push((Vec::new(), Vec::new(), 0));
                    }
                    if let Some((u, _, bytes)) = pages.last_mut() {
                        *bytes = bytes.saturating_add(size);
                        u.push(upsert);
                    }
                }
                for (upserts, removals, _) in pages {
                    let page = self
                        .follows
                        .repair_page(refetch.collection_id, upserts, removals);
                    self.channel.send(
                        now_ms,
                        &Envelope {
                            body: Some(Body::Delta(page)),
                        },
                    )?;
                }
                Ok(())
            }
            Body::WipeAck(ack) => {
                // Only the wipe ordered, and only once: anything else is
                // ignored, so a device cannot mark itself wiped.
                if store.device(device)?.wipe != WipeState::Pending(ack.wipe_id) {
                    return Ok(());
                }
                store.set_wipe(device, WipeState::Done(ack.wipe_id))?;
                self.events.push_back(ServerEvent::WipeAcknowledged {
                    device_id: device,
                    wipe_id: ack.wipe_id,
                });
                // A wiped device holds no data and no key worth keeping:
                // it is revoked, so its key is refused from now on.
                self.revoke(now_ms, store)
            }
            Body::Close(_) => {
                self.finish(None);
                Ok(())
            }
            // The device ends the session with an error of its own (a
            // silent server, §5.4): not answered, since it is not ours.
            Body::Error(info) => {
                let kind = u16::try_from(info.code)
                    .ok()
                    .and_then(ErrorKind::from_code)
                    .unwrap_or(ErrorKind::ProtoInvalidValue);
                self.finish(Some(Error::new(kind, "the device ended the session")));
                Ok(())
            }
            _ => Err(Error::new(
                ErrorKind::ProtoInvalidValue,
                "message a device does not send",
            )),
        }
    }

    /// The Welcome for `hello`, with the device's stored `policy`;
    /// remembers the list it gives and the features the device announced.
    fn welcome<S: Store>(
        &mut self,
        store: &S,
        principal: u64,
        hello: &Hello,
        policy: Policy,
    ) -> Result<Welcome> {
        let collections = store.collection_infos(principal)?;
        self.collections = collections_digest(&collections);
        self.features = hello.features & self.offered_features;
        if self.has(Feature::OneWayKeepalive) {
            self.channel.set_keepalives(Keepalives::SendOnly);
        }
        let policy = self.effective_policy(policy);
        Ok(Welcome {
            collections,
            policy: Some(policy),
            server_time: 0,
            features: self.features,
            max_unacked_pages: self.follows.window(),
        })
    }

    /// Follows the collections `welcome` listed and sends what they owe
    /// the device. The list was read in this turn with each collection's
    /// rights: they are not read again.
    fn start_following<S: Store>(
        &mut self,
        now_ms: u64,
        store: &S,
        welcome: &Welcome,
        hello: &Hello,
    ) -> Result<()> {
        let patches = self.has(Feature::ItemPatches);
        let ids: Vec<u64> = welcome.collections.iter().map(|c| c.id).collect();
        self.follows.start(&ids, hello, patches);
        if self.withholding() || self.catch_up_deferred {
            return Ok(());
        }
        // Every readable collection's first delta in one read.
        let mut wanted = Vec::new();
        for info in &welcome.collections {
            if Rights::from_bits(info.rights).is_ok_and(|r| r.contains(Rights::READ)) {
                if let Ok(from) = self.follows.wants(info.id) {
                    wanted.push(from);
                }
            }
        }
        let limits = *self.follows.limits();
        let read = match store.deltas(&wanted, &limits) {
            Ok(read) if read.len() == wanted.len() => read,
            Ok(_) => {
                let e = Error::new(
                    ErrorKind::Storage,
                    "the store answered a different number of deltas",
                );
                return Err(self.fail(e));
            }
            // A collection deleted since the list was read (a database
            // reads each statement at its own commit): each collection on
            // its own, rights first, as any push does, so that one is
            // skipped rather than the reconnect failing.
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let ids = wanted.iter().map(|c| c.collection_id).collect();
                return self.push_in(now_ms, store, ids);
            }
            Err(e) => return Err(self.fail(e)),
        };
        for (from, delta) in wanted.iter().zip(read) {
            self.push_readable(now_ms, store, from.collection_id, Some(delta))?;
        }
        Ok(())
    }

    /// Sends the session-level [`ErrorInfo`] that ends an established
    /// session, so the device learns the typed reason (a broken limit, an
    /// unknown message). Not after a failed decrypt: that transport is dead.
    fn tell_device(&mut self, now_ms: u64, error: &Error) {
        let established = matches!(
            self.phase,
            Phase::Established { .. } | Phase::AwaitingHello { .. }
        );
        if established && error.code() >= 300 {
            let info = Envelope {
                body: Some(Body::Error(ErrorInfo {
                    code: error.code().into(),
                    hello_floor: 0,
                })),
            };
            // Best effort: the session ends whether or not this is queued.
            let _ = self.channel.send(now_ms, &info);
        }
    }

    /// A Welcome of `bytes` that did not fit a message becomes an event
    /// naming the device, its principal and the list's size (the one thing
    /// an operator can act on), and an error that says so; any other
    /// error passes unchanged.
    fn welcome_refused(
        &mut self,
        error: Error,
        (device_id, principal_id): (u64, u64),
        welcome: &Welcome,
        bytes: usize,
    ) -> Error {
        if error.kind() != ErrorKind::MessageTooLarge {
            return error;
        }
        self.events.push_back(ServerEvent::WelcomeTooLarge {
            device_id,
            principal_id,
            collections: welcome.collections.len(),
            bytes,
        });
        Error::new(
            ErrorKind::MessageTooLarge,
            "the Welcome (the principal's collection list) does not fit one message",
        )
    }

    fn fail(&mut self, error: Error) -> Error {
        self.finish(Some(error.clone()));
        error
    }

    fn finish(&mut self, error: Option<Error>) {
        self.phase = Phase::Closed;
        if !self.ended {
            self.ended = true;
            self.events.push_back(ServerEvent::Closed { error });
        }
    }
}

/// Most item ids one `Refetch` may name (`docs/spec/sync.md` §7); repeats
/// count, then each item is sent once.
pub const MAX_REFETCH_IDS: usize = 256;

/// Most cursors one Hello may carry (`docs/spec/sync.md` §7): more than any
/// principal's visible collections, few enough that following them is cheap.
pub const MAX_HELLO_CURSORS: usize = 4096;

/// How far ahead of the server's clock an IK hello timestamp may be: a day
/// covers any handset's clock error, and a timestamp such as `u64::MAX`
/// is refused instead of being stored where it would lock the device out.
pub const MAX_HELLO_AHEAD_MS: u64 = 24 * 60 * 60 * 1000;

/// `Some(floor)` when a hello's timestamp must be refused: not above the last
/// one accepted (a replay, or a device restored from an old state), or more
/// than [`MAX_HELLO_AHEAD_MS`] ahead of `now_ms`. The floor is the smallest
/// timestamp accepted next.
fn stale_hello(last: Option<u64>, timestamp: u64, now_ms: u64) -> Option<u64> {
    let replayed = last.is_some_and(|last| timestamp <= last);
    let ahead = timestamp > now_ms.saturating_add(MAX_HELLO_AHEAD_MS);
    (replayed || ahead).then(|| last.map_or(1, |last| last.saturating_add(1)))
}

/// SHA-256 of the list's encoding (prost encodes deterministically): equal
/// lists, equal digests, and a different list a different one.
fn collections_digest(collections: &[CollectionInfo]) -> [u8; 32] {
    use prost::Message;
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for info in collections {
        hash.update(info.encode_length_delimited_to_vec());
    }
    hash.finalize().into()
}
