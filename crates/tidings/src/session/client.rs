//! The device side of a session.

use super::acks::PendingAcks;
use super::channel::{Channel, Keepalives, Timers};
use super::enroll::{MAX_DEVICE_NAME_BYTES, MAX_ENROLL_CODE_BYTES};
use super::{HANDSHAKE_IK, HANDSHAKE_XK, state::ClientState};
use crate::compress::{InflateLimits, pad, unpad};
use crate::crypto::{
    IkHelloSent, IkInitiator, MAX_MESSAGE_LEN, PinnedServer, StaticKeypair, TAG_LEN, XkInitiator,
    XkStarted,
};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{
    self, Ack, CollectionInfo, Cursor, Enroll, Envelope, Feature, Hello, Operation,
    OperationResult, Policy, WipeAck, envelope::Body, operation,
};
use crate::sync::Applied;
use std::collections::{BTreeSet, HashMap, VecDeque};
use zeroize::{Zeroize, Zeroizing};

/// How a client behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Keepalive and idle timeout.
    pub timers: Timers,
    /// Bytes of text preview wanted with each new mail (0: server default).
    pub preview_bytes: u32,
    /// Most items wanted per delta page (0: server default).
    pub page_items: u32,
    /// Limits on inflating items.
    pub inflate: InflateLimits,
    /// `Hello.features`: the optional messages to ask for (`Feature` bits;
    /// default [`FEATURES`], everything this client understands). A device
    /// that leaves out `FEATURE_CAUGHT_UP` is never [caught
    /// up](ClientSession::is_caught_up).
    pub features: u32,
    /// How long a caught-up collection's acknowledgement may wait for
    /// others to go with it (0: at once). The server's window never waits
    /// on it: two pages of one collection are acknowledged at once.
    pub ack_delay_ms: u32,
}

/// Every feature this client asks for (`Hello.features`): `CaughtUp`,
/// `CollectionsChanged`, one-way keepalives (it sends none of its own
/// when the server takes that up) and item patches.
pub const FEATURES: u32 = Feature::CaughtUp as u32
    | Feature::CollectionUpdates as u32
    | Feature::OneWayKeepalive as u32
    | Feature::ItemPatches as u32;

/// The default [`ClientConfig::ack_delay_ms`]: longer than a push to
/// 10,000 devices takes a server (≈ 150 ms on two cores), so their
/// acknowledgements come after it rather than in its way; TCP's own
/// delayed acknowledgement waits up to 200 ms too.
pub const DEFAULT_ACK_DELAY_MS: u32 = 200;

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timers: Timers::default(),
            preview_bytes: 2048,
            page_items: 0,
            inflate: InflateLimits::default(),
            features: FEATURES,
            ack_delay_ms: DEFAULT_ACK_DELAY_MS,
        }
    }
}

/// What happened, for the app to show.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// Enrollment succeeded; save the state now.
    Enrolled {
        /// The device's id.
        device_id: u64,
    },
    /// The session is up; these are the collections the device may see.
    Connected {
        /// Visible collections with rights.
        collections: Vec<CollectionInfo>,
    },
    /// A collection changed: its replica has the new state.
    Changed {
        /// The collection.
        collection_id: u64,
        /// The modseq it now stands at.
        modseq: u64,
    },
    /// The collection's initial sync in this session is complete: the
    /// replica holds everything the server had when it was sent (after a
    /// resume, at once for a collection that did not change). Sent once per
    /// collection and session, and again after a [`Resync`](Self::Resync).
    /// [`ClientSession::is_caught_up`] says when every collection is.
    CaughtUp {
        /// The collection.
        collection_id: u64,
        /// The modseq it stands at (0: empty).
        modseq: u64,
    },
    /// The collections the device may see changed during the session (one
    /// was created, renamed or deleted, or a delegation changed): the
    /// replica's list is the new one, and a new collection is being synced.
    CollectionsChanged {
        /// Visible collections with rights.
        collections: Vec<CollectionInfo>,
    },
    /// The server could not serve a cursor; the collection was emptied and
    /// is being synced afresh.
    Resync {
        /// The collection.
        collection_id: u64,
    },
    /// An operation was answered (and left the outbox).
    OperationResult(OperationResult),
    /// The server sent a new policy.
    Policy(Policy),
    /// The server ordered a wipe: erase data, then call
    /// [`ClientSession::acknowledge_wipe`].
    WipeRequested {
        /// The order's id.
        wipe_id: u64,
    },
    /// The device was revoked; the session is closed. Do not reconnect.
    Revoked,
    /// The session ended; `error` says why, if it was not a clean close.
    /// Save the state now: a refused hello ([`ErrorKind::Replay`]) has set
    /// its counter to the server's floor, so the next resume gets through.
    Closed {
        /// The reason, if any.
        error: Option<Error>,
    },
}

enum Phase {
    Enrolling {
        started: XkStarted,
        enroll: Zeroizing<Vec<u8>>,
    },
    Resuming(IkHelloSent),
    Established,
    Closed,
}

/// The device side of a session: sans-IO, deterministic.
///
/// Calling order: after [`enroll`](Self::enroll) or [`resume`](Self::resume),
/// loop: send everything [`poll_transmit`](Self::poll_transmit) returns; feed
/// received bytes to [`handle_bytes`](Self::handle_bytes); drain
/// [`poll_event`](Self::poll_event); wait until
/// [`poll_timeout`](Self::poll_timeout) or new bytes, calling
/// [`handle_timeout`](Self::handle_timeout) when the deadline passes.
pub struct ClientSession {
    config: ClientConfig,
    state: ClientState,
    channel: Channel,
    phase: Phase,
    /// Where each collection's previous page of this session ended: a page
    /// with `from_modseq` 0 continues from there, in the same epoch.
    continuing: HashMap<u64, Cursor>,
    events: VecDeque<ClientEvent>,
    /// The Closed event was emitted. Kept apart from the phase, which is
    /// taken out (left Closed) while a frame is handled.
    ended: bool,
    /// A resumed session's hello waits until the caller has saved the state.
    awaiting_save: bool,
    /// Collections whose `CaughtUp` came in this session (since their last
    /// resync).
    caught_up: BTreeSet<u64>,
    /// The Welcome of this session came.
    welcomed: bool,
    /// Live pushes applied, their acknowledgements not yet sent.
    acks: PendingAcks,
}

impl ClientSession {
    /// Starts enrollment (Noise XK): `state` from [`ClientState::new`], the
    /// activation code as typed, 32 random bytes for the ephemeral key.
    pub fn enroll(
        config: ClientConfig,
        state: ClientState,
        activation_code: &str,
        device_name: &str,
        ephemeral: [u8; 32],
        now_ms: u64,
    ) -> Result<Self> {
        let keys = StaticKeypair::from_secret_bytes(*state.device_secret);
        let mut first = vec![HANDSHAKE_XK];
        let started = XkInitiator::new(&keys, state.server_public, ephemeral).start(&mut first)?;
        let mut request = Enroll {
            activation_code: cut(activation_code, MAX_ENROLL_CODE_BYTES).into(),
            device_name: cut(device_name, MAX_DEVICE_NAME_BYTES).into(),
            platform: String::new(),
        };
        // The code is a secret until it is burned: no copy outlives its use.
        let enroll = Zeroizing::new(proto::encode(&request));
        request.activation_code.zeroize();
        let mut session = Self::new(config, state, Phase::Enrolling { started, enroll }, now_ms);
        session.channel.send_frame(now_ms, &first)?;
        Ok(session)
    }

    /// Reconnects (Noise IK) with saved state: one round trip, resuming every
    /// collection from its cursor and resending the outbox.
    ///
    /// The hello's replay guard is `max(saved counter, now_ms)` (`now_ms` may
    /// be 0 on a device without a clock); the counter in
    /// [`state`](Self::state) has already moved past it. **Save that state,
    /// then call [`confirm_state_saved`](Self::confirm_state_saved):** until
    /// then [`poll_transmit`](Self::poll_transmit) holds the hello back, so a
    /// crash or a lost answer can never make the device reuse a timestamp the
    /// server has seen.
    ///
    /// ```
    /// # use tidings::session::{ClientConfig, ClientSession, ClientState};
    /// # fn save(_: &[u8]) {}
    /// # fn run(state: ClientState) -> tidings::Result<()> {
    /// let mut client = ClientSession::resume(ClientConfig::default(), state, [7; 32], 1_000)?;
    /// assert!(client.poll_transmit().is_none()); // held until the state is saved
    /// save(&client.state().to_bytes());
    /// client.confirm_state_saved();
    /// assert!(client.poll_transmit().is_some()); // the hello
    /// # Ok(()) }
    /// ```
    pub fn resume(
        config: ClientConfig,
        state: ClientState,
        ephemeral: [u8; 32],
        now_ms: u64,
    ) -> Result<Self> {
        Self::resume_with(config, state, None, ephemeral, now_ms)
    }

    /// [`resume`](Self::resume) for a device that keeps its pin between
    /// reconnects ([`ClientState::pin`], made once): its static public key
    /// and static-static DH are reused, saving two X25519 operations per
    /// reconnect. Same hello bytes; a pin made for other keys is ignored.
    pub fn resume_pinned(
        config: ClientConfig,
        state: ClientState,
        pin: &PinnedServer,
        ephemeral: [u8; 32],
        now_ms: u64,
    ) -> Result<Self> {
        Self::resume_with(config, state, Some(pin), ephemeral, now_ms)
    }

    fn resume_with(
        config: ClientConfig,
        mut state: ClientState,
        pin: Option<&PinnedServer>,
        ephemeral: [u8; 32],
        now_ms: u64,
    ) -> Result<Self> {
        if !state.is_enrolled() {
            return Err(Error::new(
                ErrorKind::InvalidState,
                "resume needs an enrolled state",
            ));
        }
        let timestamp = state.take_hello_timestamp(now_ms);
        let hello = Envelope {
            body: Some(Body::Hello(hello(&config, &state))),
        };
        let mut early = Vec::new();
        pad(&proto::encode(&hello), &mut early);
        let mut first = vec![HANDSHAKE_IK];
        let initiator = match pin.filter(|p| p.is_for(&state.device_secret, &state.server_public)) {
            Some(pin) => IkInitiator::pinned(pin, ephemeral, timestamp),
            None => {
                let keys = StaticKeypair::from_secret_bytes(*state.device_secret);
                IkInitiator::new(&keys, state.server_public, ephemeral, timestamp)
            }
        };
        let sent = initiator.write_hello(&early, &mut first)?;
        let mut session = Self::new(config, state, Phase::Resuming(sent), now_ms);
        session.channel.send_frame(now_ms, &first)?;
        session.awaiting_save = true;
        Ok(session)
    }

    /// Releases the hello of [`resume`](Self::resume): call it once the
    /// state (with its advanced hello counter) is stored durably.
    pub fn confirm_state_saved(&mut self) {
        self.awaiting_save = false;
    }

    fn new(config: ClientConfig, state: ClientState, phase: Phase, now_ms: u64) -> Self {
        let channel = Channel::new(now_ms, config.timers);
        Self {
            config,
            state,
            channel,
            phase,
            continuing: HashMap::new(),
            events: VecDeque::new(),
            ended: false,
            awaiting_save: false,
            caught_up: BTreeSet::new(),
            welcomed: false,
            acks: PendingAcks::default(),
        }
    }

    // ---- getters ----

    /// The state to save (after every event that changes it, or on pause).
    pub fn state(&self) -> &ClientState {
        &self.state
    }

    /// Whether the handshake has completed and the session is open.
    pub fn is_established(&self) -> bool {
        matches!(self.phase, Phase::Established)
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Whether every visible collection is caught up in this session (a
    /// [`ClientEvent::CaughtUp`] came for each): the initial sync is done,
    /// and what follows is live push. False before the Welcome.
    pub fn is_caught_up(&self) -> bool {
        self.welcomed
            && self.is_established()
            && self
                .state
                .replica
                .collections()
                .all(|(info, _)| self.caught_up.contains(&info.id))
    }

    // ---- inputs ----

    /// Feeds bytes received from the server, in order, in chunks of any size.
    ///
    /// An error closes the session (a [`ClientEvent::Closed`] follows); the
    /// state keeps everything applied so far, so [`resume`](Self::resume)
    /// continues from there.
    pub fn handle_bytes(&mut self, now_ms: u64, mut bytes: &[u8]) -> Result<()> {
        if self.is_closed() {
            return Err(ErrorKind::SessionClosed.into());
        }
        loop {
            let frame = match self.channel.next_frame(now_ms, &mut bytes) {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.fail(e)),
            };
            if let Err(e) = self.handle_frame(now_ms, &frame) {
                return Err(self.fail(e));
            }
            if self.is_closed() {
                return Ok(());
            }
        }
    }

    /// Sends a keepalive when due (only when keepalives go both ways: one
    /// way, the device only listens); closes with [`ErrorKind::Timeout`]
    /// when the server has been silent too long.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        if self.acks.due_ms().is_some_and(|due| due <= now_ms) {
            self.send_acks(now_ms).map_err(|e| self.fail(e))?;
        }
        match self.channel.handle_timeout(now_ms) {
            Ok(()) => Ok(()),
            Err(e) => {
                if self.is_established() && e.kind() == ErrorKind::Timeout {
                    // Typed for the server too, in case it still listens.
                    let _ = self.channel.send(
                        now_ms,
                        &Envelope {
                            body: Some(Body::Error(proto::ErrorInfo {
                                code: e.code().into(),
                                hello_floor: 0,
                            })),
                        },
                    );
                }
                Err(self.fail(e))
            }
        }
    }

    /// Queues an operation: sent now if the session is open, kept in the
    /// outbox (and the saved state) until answered, resent on every resume.
    /// `op_id` must be 16 random bytes, the same on every retry.
    ///
    /// An operation must fit one frame: padded, at most 64 KiB less the
    /// tag (sync.md §7). A larger one (a mail with a large attachment) is
    /// refused with [`ErrorKind::MessageTooLarge`] and not queued.
    pub fn submit(&mut self, now_ms: u64, op_id: [u8; 16], kind: operation::Kind) -> Result<()> {
        let op = Operation {
            op_id: op_id.to_vec(),
            kind: Some(kind),
        };
        // Checked before it is queued: queued, an operation no frame can
        // carry would be sent again at every resume and end each session.
        let mut padded = Vec::new();
        pad(
            &proto::encode(&Envelope {
                body: Some(Body::Operation(op.clone())),
            }),
            &mut padded,
        );
        if padded.len().saturating_add(TAG_LEN) > MAX_MESSAGE_LEN {
            return Err(Error::new(
                ErrorKind::MessageTooLarge,
                "the operation does not fit one frame (64 KiB padded); nothing was queued",
            ));
        }
        self.state.outbox.push(op);
        if self.is_established() {
            self.channel.send_padded(now_ms, &padded)?;
        }
        Ok(())
    }

    /// Confirms a wipe: the app has erased the device's data. The replica and
    /// outbox are cleared here too.
    pub fn acknowledge_wipe(&mut self, now_ms: u64, wipe_id: u64) -> Result<()> {
        self.state.replica.clear();
        self.state.outbox.clear();
        self.channel.send(
            now_ms,
            &Envelope {
                body: Some(Body::WipeAck(WipeAck { wipe_id })),
            },
        )
    }

    /// Replaces abridged item `item_id` of `collection_id` in the session's
    /// replica with its whole form: `packed` is every range of
    /// `FetchRange { packed_item: true }` joined (sync.md §3 rule 9). It is
    /// unpacked within the session's inflate limits; when it does not fit
    /// them, or is not the whole item, the abridged copy stays and the error
    /// says why: [`ErrorKind::NotFound`] when the collection or item is not
    /// held, an inflate or decode error, or [`ErrorKind::InvalidData`] when
    /// the bytes are another item or still abridged. Save the state
    /// afterwards to keep the whole item.
    pub fn complete_item(&mut self, collection_id: u64, item_id: u64, packed: &[u8]) -> Result<()> {
        if self.state.replica.collection(collection_id).is_none() {
            return Err(Error::new(
                ErrorKind::NotFound,
                "no such collection in the replica",
            ));
        }
        self.state
            .replica
            .complete(collection_id, item_id, packed, &self.config.inflate)
    }

    /// Closes cleanly.
    pub fn close(&mut self, now_ms: u64) -> Result<()> {
        if self.is_established() {
            // What was applied is acknowledged before the goodbye.
            self.send_acks(now_ms)?;
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

    /// Sends arbitrary plaintext through the encrypted channel, bypassing
    /// padding and encoding: lets fuzzers and tests reach the peer's message
    /// handling with any bytes. Test builds only.
    #[cfg(feature = "testing")]
    pub fn send_plaintext_for_testing_only(&mut self, now_ms: u64, plaintext: &[u8]) -> Result<()> {
        self.channel
            .send_plaintext_for_testing_only(now_ms, plaintext)
    }

    // ---- outputs ----

    /// The next bytes to send to the server; nothing after
    /// [`resume`](Self::resume) until
    /// [`confirm_state_saved`](Self::confirm_state_saved).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.awaiting_save {
            return None;
        }
        self.channel.poll_transmit()
    }

    /// The next event for the app.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout), if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        (!self.is_closed()).then(|| {
            let channel = self.channel.next_timeout();
            self.acks.due_ms().map_or(channel, |due| due.min(channel))
        })
    }

    // ---- internals ----

    fn handle_frame(&mut self, now_ms: u64, frame: &[u8]) -> Result<()> {
        match core::mem::replace(&mut self.phase, Phase::Closed) {
            Phase::Enrolling { started, enroll } => {
                let mut last = Vec::new();
                let transport = started.finish(frame, &enroll, &mut last)?;
                self.channel.send_frame(now_ms, &last)?;
                self.channel.establish(transport);
                self.phase = Phase::Established;
                Ok(())
            }
            Phase::Resuming(sent) => {
                let mut welcome = Vec::new();
                let transport = sent.read_response(frame, &mut welcome)?;
                self.channel.establish(transport);
                self.phase = Phase::Established;
                let envelope: Envelope = proto::decode(unpad(&welcome)?)?;
                if let Some(Body::Error(info)) = &envelope.body {
                    // Authenticated by the pinned server key: a refusal of a
                    // stale hello names the floor to use next.
                    if info.hello_floor != 0 {
                        self.state.adopt_hello_floor(info.hello_floor);
                    }
                }
                self.handle_envelope(now_ms, envelope)
            }
            Phase::Established => {
                self.phase = Phase::Established;
                match self.channel.open(frame)? {
                    Some(envelope) => self.handle_envelope(now_ms, envelope),
                    None => Ok(()),
                }
            }
            Phase::Closed => Err(ErrorKind::SessionClosed.into()),
        }
    }

    fn handle_envelope(&mut self, now_ms: u64, envelope: Envelope) -> Result<()> {
        let Some(body) = envelope.body else {
            return Ok(());
        }; // keepalive
        match body {
            Body::Enrolled(enrolled) => {
                self.state.device_id = enrolled.device_id;
                self.state.principal_id = enrolled.principal_id;
                self.events.push_back(ClientEvent::Enrolled {
                    device_id: enrolled.device_id,
                });
                let hello = Envelope {
                    body: Some(Body::Hello(hello(&self.config, &self.state))),
                };
                self.channel.send(now_ms, &hello)?;
            }
            Body::Welcome(welcome) => {
                self.state
                    .replica
                    .set_collections(welcome.collections.clone());
                self.continuing.clear();
                self.caught_up.clear();
                self.welcomed = true;
                self.acks.set_window(welcome.max_unacked_pages);
                let one_way = Feature::OneWayKeepalive as u32;
                if self.config.features & welcome.features & one_way != 0 {
                    self.channel.set_keepalives(Keepalives::ListenOnly);
                }
                if let Some(policy) = welcome.policy {
                    self.state.policy = policy;
                    self.channel.adopt_keepalive(policy.keepalive_seconds);
                }
                self.events.push_back(ClientEvent::Connected {
                    collections: welcome.collections,
                });
                // Every session starts with a Welcome: operations queued
                // offline, or before enrollment finished, go now.
                self.resend_outbox(now_ms)?;
            }
            Body::Delta(mut page) => {
                if page.from_modseq == 0 {
                    if let Some(&previous) = self.continuing.get(&page.collection_id) {
                        page.from_modseq = previous.modseq;
                        if page.to_modseq == 0 {
                            page.to_modseq = previous.modseq.saturating_add(page.advance);
                        }
                        if page.epoch == 0 {
                            page.epoch = previous.epoch;
                        }
                    }
                }
                let before = self
                    .state
                    .replica
                    .collection(page.collection_id)
                    .map(|r| r.cursor());
                let applied = self.state.replica.apply(&page, &self.config.inflate)?;
                let ended = Cursor {
                    collection_id: page.collection_id,
                    epoch: page.epoch,
                    modseq: page.to_modseq,
                    ..Cursor::default()
                };
                self.continuing.insert(page.collection_id, ended);
                let Applied::Advanced { refetch, .. } = applied else {
                    return Ok(()); // a duplicate: nothing changed, nothing to ack
                };
                if !refetch.is_empty() {
                    let ask = proto::Refetch {
                        collection_id: page.collection_id,
                        item_ids: refetch,
                    };
                    self.channel.send(
                        now_ms,
                        &Envelope {
                            body: Some(Body::Refetch(ask)),
                        },
                    )?;
                }
                self.events.push_back(ClientEvent::Changed {
                    collection_id: page.collection_id,
                    modseq: page.to_modseq,
                });
                // Only pages that moved the cursor are acknowledged: a repair
                // page was never counted in the server's window.
                let after = self
                    .state
                    .replica
                    .collection(page.collection_id)
                    .map(|r| r.cursor());
                if let Some(cursor) = after.filter(|_| after != before) {
                    // A catch-up is acknowledged page by page (the server's
                    // window paces it); a live push may wait (`acks`).
                    let delay = if self.caught_up.contains(&page.collection_id) {
                        self.config.ack_delay_ms.into()
                    } else {
                        0
                    };
                    if self.acks.hold(cursor, now_ms, delay) {
                        self.send_acks(now_ms)?;
                    }
                }
            }
            Body::ResyncRequired(resync) => {
                self.state
                    .replica
                    .reset(resync.collection_id, resync.epoch)?;
                self.continuing.remove(&resync.collection_id);
                self.caught_up.remove(&resync.collection_id);
                self.acks.retain(|id| id != resync.collection_id);
                self.events.push_back(ClientEvent::Resync {
                    collection_id: resync.collection_id,
                });
            }
            Body::CaughtUp(caught_up) => {
                self.caught_up.insert(caught_up.collection_id);
                self.events.push_back(ClientEvent::CaughtUp {
                    collection_id: caught_up.collection_id,
                    modseq: caught_up.modseq,
                });
            }
            Body::CollectionsChanged(changed) => {
                self.state
                    .replica
                    .set_collections(changed.collections.clone());
                // A collection gone from the list is gone from this session;
                // one that comes back is synced (and caught up) afresh.
                let visible: BTreeSet<u64> = changed.collections.iter().map(|c| c.id).collect();
                self.continuing.retain(|id, _| visible.contains(id));
                self.caught_up.retain(|id| visible.contains(id));
                self.acks.retain(|id| visible.contains(&id));
                self.events.push_back(ClientEvent::CollectionsChanged {
                    collections: changed.collections,
                });
            }
            Body::Result(result) => {
                self.state.outbox.retain(|op| op.op_id != result.op_id);
                self.events.push_back(ClientEvent::OperationResult(result));
            }
            Body::Policy(policy) => {
                self.state.policy = policy;
                self.channel.adopt_keepalive(policy.keepalive_seconds);
                self.events.push_back(ClientEvent::Policy(policy));
            }
            Body::Wipe(wipe) => self.events.push_back(ClientEvent::WipeRequested {
                wipe_id: wipe.wipe_id,
            }),
            Body::Revoked(_) => {
                self.events.push_back(ClientEvent::Revoked);
                self.finish(Some(ErrorKind::DeviceRevoked.into()));
            }
            Body::Error(info) => {
                let kind = u16::try_from(info.code)
                    .ok()
                    .and_then(ErrorKind::from_code)
                    .unwrap_or(ErrorKind::ProtoInvalidValue);
                return Err(Error::new(kind, "the server ended the session"));
            }
            Body::Close(_) => self.finish(None),
            _ => {
                return Err(Error::new(
                    ErrorKind::ProtoInvalidValue,
                    "message a server does not send",
                ));
            }
        }
        Ok(())
    }

    fn resend_outbox(&mut self, now_ms: u64) -> Result<()> {
        for op in self.state.outbox.clone() {
            self.channel.send(
                now_ms,
                &Envelope {
                    body: Some(Body::Operation(op)),
                },
            )?;
        }
        Ok(())
    }

    /// Sends every held acknowledgement in one `Ack`.
    fn send_acks(&mut self, now_ms: u64) -> Result<()> {
        let cursors = self.acks.take();
        if cursors.is_empty() {
            return Ok(());
        }
        self.channel.send(
            now_ms,
            &Envelope {
                body: Some(Body::Ack(Ack { cursors })),
            },
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
            self.events.push_back(ClientEvent::Closed { error });
        }
    }
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    text.get(..end).unwrap_or_default()
}

fn hello(config: &ClientConfig, state: &ClientState) -> Hello {
    Hello {
        cursors: state.replica.cursors(),
        preview_bytes: config.preview_bytes,
        page_items: config.page_items,
        client_version: concat!("tidings-rs/", env!("CARGO_PKG_VERSION")).into(),
        policy_version: state.policy.version,
        features: config.features,
    }
}
