//! The two handshake patterns Tidings speaks, as token lists (Noise §7).

/// A Noise handshake pattern. Tidings implements exactly these two.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HandshakePattern {
    /// `IK`: reconnect in one round trip; the initiator knows the responder's
    /// static key and sends its own, encrypted, in the first message.
    Ik,
    /// `XK`: enrollment in three messages; the initiator knows the responder's
    /// static key and reveals its own only in the third message.
    Xk,
}

/// A message token (Noise §7.1). PSK tokens are deliberately absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    E,
    S,
    Ee,
    Es,
    Se,
    Ss,
}

use Token::{E, Ee, Es, S, Se, Ss};

// IK:  <- s  ...  -> e, es, s, ss   <- e, ee, se
const IK_MESSAGES: &[&[Token]] = &[&[E, Es, S, Ss], &[E, Ee, Se]];
// XK:  <- s  ...  -> e, es   <- e, ee   -> s, se
const XK_MESSAGES: &[&[Token]] = &[&[E, Es], &[E, Ee], &[S, Se]];

impl HandshakePattern {
    /// The full Noise protocol name, e.g. `Noise_IK_25519_AESGCM_SHA256`.
    pub const fn protocol_name(self) -> &'static str {
        match self {
            HandshakePattern::Ik => "Noise_IK_25519_AESGCM_SHA256",
            HandshakePattern::Xk => "Noise_XK_25519_AESGCM_SHA256",
        }
    }

    /// Whether the pattern has the pre-message `<- s` (the initiator knows
    /// the responder's static key in advance). True for both IK and XK;
    /// neither has an initiator pre-message.
    pub(crate) const fn responder_static_premessage(self) -> bool {
        match self {
            HandshakePattern::Ik | HandshakePattern::Xk => true,
        }
    }

    /// The message patterns in order; even indices are written by the initiator.
    pub(crate) const fn messages(self) -> &'static [&'static [Token]] {
        match self {
            HandshakePattern::Ik => IK_MESSAGES,
            HandshakePattern::Xk => XK_MESSAGES,
        }
    }

    /// Number of handshake messages.
    pub const fn message_count(self) -> usize {
        self.messages().len()
    }
}
