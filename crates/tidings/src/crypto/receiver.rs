//! A transport's receive direction, which can rest: a server's sessions
//! hear from their devices seldom (one-way keepalives, an acknowledgement
//! per push), and the expanded AES-GCM key schedule (1,176 bytes) is most
//! of what an idle session holds. Resting keeps only the key and the nonce;
//! the next message rebuilds the schedule (a fraction of a microsecond).
//! The send direction never rests: it stays inline, where a push to many
//! sessions finds it without another pointer to follow.

use zeroize::Zeroizing;

use super::cipherstate::{CipherState, KEY_LEN};

/// The receive `CipherState`, on the heap while in use.
pub(crate) enum Receiver {
    /// Expanded.
    Awake(Box<CipherState>),
    /// The key and the next nonce only (zeroized on drop).
    Resting(Zeroizing<[u8; KEY_LEN]>, u64),
}

impl Receiver {
    pub(crate) fn new(cipher: CipherState) -> Self {
        Receiver::Awake(Box::new(cipher))
    }

    /// Runs `f` on the expanded state, expanding it first if it rests.
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut CipherState) -> R) -> R {
        match self {
            Receiver::Awake(cipher) => f(cipher),
            Receiver::Resting(key, n) => {
                let mut cipher = Box::new(CipherState::resume(key, *n));
                let out = f(&mut cipher);
                *self = Receiver::Awake(cipher);
                out
            }
        }
    }

    /// Drops the expanded schedule, keeping the key and nonce. A state
    /// without a key (never the case after a handshake) stays as it is.
    pub(crate) fn rest(&mut self) {
        if let Receiver::Awake(cipher) = self
            && let Some((key, n)) = cipher.key_and_nonce()
        {
            *self = Receiver::Resting(key, n);
        }
    }

    pub(crate) fn is_awake(&self) -> bool {
        matches!(self, Receiver::Awake(_))
    }

    pub(crate) fn nonce(&self) -> u64 {
        match self {
            Receiver::Awake(cipher) => cipher.nonce(),
            Receiver::Resting(_, n) => *n,
        }
    }
}
