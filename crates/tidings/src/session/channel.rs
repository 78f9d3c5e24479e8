//! The established channel both sessions share: frames in and out, the Noise
//! transport, padding and the envelope codec, rekeying and liveness timers.

use crate::compress::{pad, unpad};
use crate::crypto::{Opened, RekeyPolicy, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::frame::{FrameDecoder, FrameEncoder};
use crate::proto::{self, Envelope};
use std::collections::VecDeque;

/// Liveness: how often to send a keepalive when idle, and how long to wait for
/// the peer before giving up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    /// Send a keepalive after this long without sending anything.
    pub keepalive_ms: u64,
    /// Close with [`ErrorKind::Timeout`] after this long without hearing anything.
    pub idle_timeout_ms: u64,
}

impl Default for Timers {
    /// A keepalive every 4 minutes (under common NAT timeouts of 5), and
    /// closing after 10 minutes of silence.
    fn default() -> Self {
        Self {
            keepalive_ms: 240_000,
            idle_timeout_ms: 600_000,
        }
    }
}

/// Which way keepalives go in an established session (sync.md §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keepalives {
    /// Each side sends one after its interval of silence and times the
    /// other out after its idle timeout (version 1 without the feature).
    BothWays,
    /// This side sends them but never times the silent peer out: that peer
    /// listens only, and its transport's acknowledgements of these
    /// keepalives tell whether it is there (the server, one way).
    SendOnly,
    /// This side sends none and times the peer out as usual (the device,
    /// one way).
    ListenOnly,
}

/// One direction-pair of framed, encrypted envelopes.
pub(crate) struct Channel {
    decoder: FrameDecoder,
    encoder: FrameEncoder,
    transport: Option<Transport>,
    outgoing: VecDeque<Vec<u8>>,
    timers: Timers,
    last_sent_ms: u64,
    last_heard_ms: u64,
    keepalives: Keepalives,
    /// When this side rekeys its sending direction.
    rekey: RekeyPolicy,
    /// Every padded envelope sealed, in order, once a test asks (the
    /// vectors); off by default, so test builds of servers measure what
    /// production holds.
    #[cfg(feature = "testing")]
    sent_log: Option<Vec<Vec<u8>>>,
}

impl Channel {
    pub(crate) fn new(now_ms: u64, timers: Timers) -> Self {
        Self {
            decoder: FrameDecoder::new(),
            encoder: FrameEncoder::new(),
            transport: None,
            outgoing: VecDeque::new(),
            timers,
            last_sent_ms: now_ms,
            last_heard_ms: now_ms,
            keepalives: Keepalives::BothWays,
            rekey: RekeyPolicy::DEFAULT,
            #[cfg(feature = "testing")]
            sent_log: None,
        }
    }

    /// Records every padded envelope sealed from now on (test builds only).
    #[cfg(feature = "testing")]
    pub(crate) fn record_sent_for_testing_only(&mut self) {
        self.sent_log.get_or_insert_with(Vec::new);
    }

    /// Takes the padded envelopes recorded so far (test builds only).
    #[cfg(feature = "testing")]
    pub(crate) fn take_sent_for_testing_only(&mut self) -> Vec<Vec<u8>> {
        self.sent_log
            .as_mut()
            .map(core::mem::take)
            .unwrap_or_default()
    }

    pub(crate) fn established(&self) -> bool {
        self.transport.is_some()
    }

    pub(crate) fn establish(&mut self, mut transport: Transport) {
        transport.set_rekey_policy(self.rekey);
        self.transport = Some(transport);
    }

    /// Frees the receive key's expanded schedule until the next frame is
    /// opened (see `Transport::rest_receiving`).
    pub(crate) fn rest_receiving(&mut self) {
        if let Some(transport) = &mut self.transport {
            transport.rest_receiving();
        }
    }

    /// Whether the receive key's schedule is expanded (tests).
    #[cfg(feature = "testing")]
    pub(crate) fn is_receiving_expanded(&self) -> bool {
        self.transport
            .as_ref()
            .is_some_and(Transport::is_receiving_expanded)
    }

    /// Whether the send key's schedule is expanded (tests).
    #[cfg(feature = "testing")]
    pub(crate) fn is_sending_expanded(&self) -> bool {
        self.transport
            .as_ref()
            .is_some_and(Transport::is_sending_expanded)
    }

    /// Sets when this side rekeys (before the transport is established).
    pub(crate) fn set_rekey_policy(&mut self, rekey: RekeyPolicy) {
        self.rekey = rekey;
    }

    /// Queues one frame holding `body` (a handshake message).
    pub(crate) fn send_frame(&mut self, now_ms: u64, body: &[u8]) -> Result<()> {
        let mut wire = Vec::with_capacity(body.len().saturating_add(3));
        self.encoder.encode(body, &mut wire)?;
        self.queue(now_ms, wire);
        Ok(())
    }

    /// Encodes, pads, seals and queues one envelope.
    pub(crate) fn send(&mut self, now_ms: u64, envelope: &Envelope) -> Result<()> {
        // `pad` reserves exactly what it writes.
        let mut padded = Vec::new();
        pad(&proto::encode(envelope), &mut padded);
        self.send_padded(now_ms, &padded)
    }

    /// Seals and queues an already padded envelope: a server pushing one
    /// change to many devices pads it once and seals it per device.
    pub(crate) fn send_padded(&mut self, now_ms: u64, padded: &[u8]) -> Result<()> {
        let transport = self.transport.as_mut().ok_or(ErrorKind::InvalidState)?;
        let mut wire = Vec::with_capacity(padded.len().saturating_add(40));
        if transport.rekey_due(now_ms) {
            let mut marker = Vec::with_capacity(16);
            transport.seal_rekey(now_ms, &mut marker)?;
            self.encoder.encode(&marker, &mut wire)?;
        }
        let mut sealed = Vec::with_capacity(padded.len().saturating_add(16));
        transport.seal(padded, &mut sealed)?;
        self.encoder.encode(&sealed, &mut wire)?;
        self.queue(now_ms, wire);
        // Bounded even in test builds: the first envelopes are the ones
        // vectors need.
        #[cfg(feature = "testing")]
        if let Some(log) = self.sent_log.as_mut().filter(|log| log.len() < 1024) {
            log.push(padded.to_vec());
        }
        Ok(())
    }

    /// Seals arbitrary plaintext (not an encoded, padded envelope) so tests
    /// and fuzzers can reach the peer's envelope handling with any bytes.
    #[cfg(feature = "testing")]
    pub(crate) fn send_plaintext_for_testing_only(
        &mut self,
        now_ms: u64,
        plaintext: &[u8],
    ) -> Result<()> {
        let transport = self.transport.as_mut().ok_or(ErrorKind::InvalidState)?;
        let mut sealed = Vec::with_capacity(plaintext.len().saturating_add(16));
        transport.seal(plaintext, &mut sealed)?;
        if let Some(log) = self.sent_log.as_mut().filter(|log| log.len() < 1024) {
            log.push(plaintext.to_vec());
        }
        let mut wire = Vec::with_capacity(sealed.len().saturating_add(2));
        self.encoder.encode(&sealed, &mut wire)?;
        self.queue(now_ms, wire);
        Ok(())
    }

    fn queue(&mut self, now_ms: u64, wire: Vec<u8>) {
        self.last_sent_ms = now_ms;
        self.outgoing.push_back(wire);
    }

    /// Queues bytes that are already a whole frame (the version refusal).
    pub(crate) fn queue_raw(&mut self, wire: Vec<u8>) {
        self.outgoing.push_back(wire);
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        let next = self.outgoing.pop_front();
        if next.is_none() {
            // Drained: an idle session holds no send queue, and no send
            // key schedule until its next frame (a burst of pages is
            // sealed before it is drained, so it expands the key once).
            if self.outgoing.capacity() > 0 {
                self.outgoing = VecDeque::new();
            }
            if let Some(transport) = &mut self.transport {
                transport.rest_sending();
            }
        }
        next
    }

    /// The next whole frame body from `input`, if any.
    pub(crate) fn next_frame(&mut self, now_ms: u64, input: &mut &[u8]) -> Result<Option<Vec<u8>>> {
        if !input.is_empty() {
            self.last_heard_ms = now_ms;
        }
        self.decoder.decode(input)
    }

    /// Opens one transport frame: `Some(envelope)` for a message (a keepalive
    /// is an envelope with no body), `None` for a rekey marker.
    pub(crate) fn open(&mut self, frame: &[u8]) -> Result<Option<Envelope>> {
        let transport = self.transport.as_mut().ok_or(ErrorKind::InvalidState)?;
        let mut plain = Vec::with_capacity(frame.len());
        match transport.open(frame, &mut plain)? {
            Opened::Rekeyed => Ok(None),
            Opened::Payload => {
                let encoded = unpad(&plain)?;
                let envelope: Envelope = proto::decode(encoded)?;
                // A keepalive encodes to nothing; bytes that decode to no
                // body are a message this version does not know.
                if envelope.body.is_none() && !encoded.is_empty() {
                    return Err(Error::new(
                        ErrorKind::ProtoInvalidValue,
                        "unknown message kind",
                    ));
                }
                Ok(Some(envelope))
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) next has work.
    pub(crate) fn next_timeout(&self) -> u64 {
        let keepalive = self.last_sent_ms.saturating_add(self.timers.keepalive_ms);
        let silence = self
            .last_heard_ms
            .saturating_add(self.timers.idle_timeout_ms);
        if !self.established() {
            return silence;
        }
        match self.keepalives {
            Keepalives::BothWays => keepalive.min(silence),
            Keepalives::SendOnly => keepalive,
            Keepalives::ListenOnly => silence,
        }
    }

    /// Adopts the keepalive interval of the peer's policy (seconds; 0 keeps
    /// the default): this side sends keepalives at that rhythm, and waits at
    /// least two and a half of the peer's intervals before calling it silent.
    pub(crate) fn adopt_keepalive(&mut self, seconds: u32) {
        if seconds == 0 {
            return;
        }
        let keepalive = u64::from(seconds).saturating_mul(1000);
        self.timers.keepalive_ms = keepalive;
        let patience = keepalive.saturating_mul(5) / 2;
        self.timers.idle_timeout_ms = self.timers.idle_timeout_ms.max(patience);
    }

    /// Sets which way keepalives go from now on (both ways until called).
    pub(crate) fn set_keepalives(&mut self, keepalives: Keepalives) {
        self.keepalives = keepalives;
    }

    /// Sends a keepalive if one is due; fails with [`ErrorKind::Timeout`] if
    /// the peer has been silent too long (not in an established session
    /// whose peer only listens).
    pub(crate) fn handle_timeout(&mut self, now_ms: u64) -> Result<()> {
        let established = self.established();
        let peer_only_listens = established && self.keepalives == Keepalives::SendOnly;
        if !peer_only_listens
            && now_ms
                >= self
                    .last_heard_ms
                    .saturating_add(self.timers.idle_timeout_ms)
        {
            return Err(Error::new(
                ErrorKind::Timeout,
                "peer silent past the idle timeout",
            ));
        }
        if established
            && self.keepalives != Keepalives::ListenOnly
            && now_ms >= self.last_sent_ms.saturating_add(self.timers.keepalive_ms)
        {
            self.send(now_ms, &Envelope { body: None })?;
        }
        Ok(())
    }
}
