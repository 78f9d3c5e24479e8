//! Bytes from a stranger, before authentication: cut into whole frames here,
//! so that the session only ever sees complete handshake messages and a
//! connection that stalls half-way costs only the bytes it really sent.
//!
//! A frame is a 16-bit big-endian length and that many bytes (see
//! `docs/spec/wire-format.md`); the first frame's body starts with the
//! protocol version and the handshake kind.

use tidings::frame::{HEADER_LEN, PROTOCOL_VERSION};
use tidings::session::{HANDSHAKE_IK, HANDSHAKE_XK};

/// The first bytes of a reconnect's ephemeral key: enough to tell one
/// hello from another (they are drawn at random), remembered by the gate
/// to close a replayed hello before any X25519 work.
pub(crate) type EphemeralPrefix = [u8; 16];

/// What a stranger's first frame opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opening {
    /// An enrollment (Noise XK).
    Enrollment,
    /// A reconnect (Noise IK), with the start of its ephemeral key (`None`
    /// when message 1 is too short to hold one: the session refuses it).
    Reconnect(Option<EphemeralPrefix>),
}

/// A frame claimed more than the handshake limit.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooLarge;

/// Splits pre-authentication bytes into whole frames of at most `max`
/// body bytes. Holds at most one partial frame.
pub(crate) struct HandshakeFrames {
    buf: Vec<u8>,
    max: usize,
    seen_first: bool,
    /// The first frame opened a reconnect.
    reconnect: bool,
}

impl HandshakeFrames {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            seen_first: false,
            reconnect: false,
        }
    }

    /// Takes `bytes` in and returns every frame they complete (header
    /// included, ready for the session), or [`TooLarge`].
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, TooLarge> {
        self.buf.extend_from_slice(bytes);
        let mut frames = Vec::new();
        while let Some(&[hi, lo]) = self.buf.get(..HEADER_LEN) {
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if len > self.max {
                self.buf = Vec::new();
                return Err(TooLarge);
            }
            if self.buf.len() < HEADER_LEN + len {
                break;
            }
            let rest = self.buf.split_off(HEADER_LEN + len);
            frames.push(core::mem::replace(&mut self.buf, rest));
        }
        if self.buf.is_empty() {
            // A stalled stranger keeps no spare capacity.
            self.buf = Vec::new();
        }
        Ok(frames)
    }

    /// What `frame` (from [`push`](Self::push)) opens, if it is the first
    /// frame, of this protocol version: an enrollment (XK) or a reconnect
    /// (IK). Each costs the server X25519 operations, so each is counted.
    pub(crate) fn opens(&mut self, frame: &[u8]) -> Option<Opening> {
        if core::mem::replace(&mut self.seen_first, true) {
            return None;
        }
        let message = HEADER_LEN + 2;
        match frame.get(HEADER_LEN..message)? {
            [PROTOCOL_VERSION, HANDSHAKE_XK] => Some(Opening::Enrollment),
            [PROTOCOL_VERSION, HANDSHAKE_IK] => {
                self.reconnect = true;
                // Message 1 starts with the ephemeral key, in the clear.
                let ephemeral = frame
                    .get(message..message + size_of::<EphemeralPrefix>())
                    .and_then(|e| EphemeralPrefix::try_from(e).ok());
                Some(Opening::Reconnect(ephemeral))
            }
            _ => None,
        }
    }

    /// Whether the first frame opened a reconnect (IK), whose one turn
    /// either authenticates the device or fails.
    pub(crate) fn reconnecting(&self) -> bool {
        self.reconnect
    }

    /// What is left over (part of a frame), once the session authenticated.
    pub(crate) fn into_rest(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = u16::try_from(body.len())
            .expect("small")
            .to_be_bytes()
            .to_vec();
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn a_frame_claiming_more_than_the_limit_is_refused_before_its_body() {
        let mut frames = HandshakeFrames::new(100);
        assert_eq!(frames.push(&[0xff, 0xff]), Err(TooLarge));
    }

    #[test]
    fn only_a_first_frame_opens_an_enrollment_or_a_reconnect() {
        let mut frames = HandshakeFrames::new(100);
        let xk = frame(&[PROTOCOL_VERSION, HANDSHAKE_XK, 7]);
        assert_eq!(frames.opens(&xk), Some(Opening::Enrollment));
        assert_eq!(frames.opens(&xk), None, "only the first frame");
        assert!(!frames.reconnecting());
        let mut ik = HandshakeFrames::new(100);
        let hello = frame(&[PROTOCOL_VERSION, HANDSHAKE_IK, 7]);
        assert_eq!(ik.opens(&hello), Some(Opening::Reconnect(None)));
        assert!(ik.reconnecting());
        let mut keyed = HandshakeFrames::new(100);
        let mut body = vec![PROTOCOL_VERSION, HANDSHAKE_IK];
        body.extend(1..=40u8);
        let expected: EphemeralPrefix =
            core::array::from_fn(|i| u8::try_from(i + 1).expect("small"));
        assert_eq!(
            keyed.opens(&frame(&body)),
            Some(Opening::Reconnect(Some(expected))),
            "the ephemeral key's first bytes, right after the kind"
        );
        let mut other = HandshakeFrames::new(100);
        assert_eq!(other.opens(&frame(&[PROTOCOL_VERSION, 9, 7])), None);
        let mut old = HandshakeFrames::new(100);
        assert_eq!(
            old.opens(&frame(&[PROTOCOL_VERSION + 1, HANDSHAKE_IK])),
            None
        );
    }

    proptest! {
        /// However the bytes are cut, the same frames come out, in order,
        /// and whatever follows the last whole frame is left over.
        #[test]
        fn frames_survive_any_chunking(
            bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..6),
            tail in proptest::collection::vec(any::<u8>(), 0..1),
            cuts in proptest::collection::vec(1usize..17, 1..40),
        ) {
            let mut wire: Vec<u8> = bodies.iter().flat_map(|b| frame(b)).collect();
            // A lone byte is never a whole header: it stays behind.
            wire.extend_from_slice(&tail);
            let mut frames = HandshakeFrames::new(64);
            let mut out = Vec::new();
            let mut rest = &wire[..];
            for cut in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let (chunk, more) = rest.split_at((*cut).min(rest.len()));
                out.extend(frames.push(chunk).expect("within the limit"));
                rest = more;
            }
            let expected: Vec<Vec<u8>> = bodies.iter().map(|b| frame(b)).collect();
            prop_assert_eq!(out, expected);
            prop_assert_eq!(frames.into_rest(), tail);
        }
    }
}
