//! One direction of a transport, which can rest: a server holds thousands of
//! sessions that are idle nearly all the time (a push a minute, one-way
//! keepalives, an acknowledgement per push), and an expanded AES-GCM key
//! schedule (1,176 bytes) is most of what an idle session would hold.
//! Resting keeps only the key and the nonce; the next message rebuilds the
//! schedule (a fraction of a microsecond, against tens of microseconds to
//! hand the frame to the kernel).

use zeroize::Zeroizing;

use super::cipherstate::{CipherState, KEY_LEN};

/// A `CipherState`, on the heap while in use.
pub(crate) enum RestingCipher {
    /// Expanded.
    Awake(Box<CipherState>),
    /// The key and the next nonce only (zeroized on drop).
    Resting(Zeroizing<[u8; KEY_LEN]>, u64),
}

impl RestingCipher {
    pub(crate) fn new(cipher: CipherState) -> Self {
        RestingCipher::Awake(Box::new(cipher))
    }

    /// Runs `f` on the expanded state, expanding it first if it rests.
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut CipherState) -> R) -> R {
        match self {
            RestingCipher::Awake(cipher) => f(cipher),
            RestingCipher::Resting(key, n) => {
                let mut cipher = Box::new(CipherState::resume(key, *n));
                let out = f(&mut cipher);
                *self = RestingCipher::Awake(cipher);
                out
            }
        }
    }

    /// Drops the expanded schedule, keeping the key and nonce. A state
    /// without a key (never the case after a handshake) stays as it is.
    pub(crate) fn rest(&mut self) {
        if let RestingCipher::Awake(cipher) = self
            && let Some((key, n)) = cipher.key_and_nonce()
        {
            *self = RestingCipher::Resting(key, n);
        }
    }

    pub(crate) fn is_awake(&self) -> bool {
        matches!(self, RestingCipher::Awake(_))
    }

    pub(crate) fn nonce(&self) -> u64 {
        match self {
            RestingCipher::Awake(cipher) => cipher.nonce(),
            RestingCipher::Resting(_, n) => *n,
        }
    }
}
