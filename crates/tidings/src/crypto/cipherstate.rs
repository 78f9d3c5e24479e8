//! `CipherState` of Noise §5.1 with the AESGCM cipher functions of §12.4.
//!
//! Two rules beyond the letter of the spec, both about failure:
//! a failed `DecryptWithAd` never advances `n` (snow's RUSTSEC-2024-0011
//! was exactly that bug), and no call that fails leaves bytes in the
//! caller's output buffer.

use core::fmt;

use aes_gcm::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, ErrorKind, Result};

/// Length of the AES-GCM authentication tag appended to every ciphertext.
pub const TAG_LEN: usize = 16;

/// Length of a cipher key (`k`).
pub const KEY_LEN: usize = 32;

/// Largest Noise message, in bytes (Noise §3).
pub const MAX_MESSAGE_LEN: usize = crate::frame::MAX_BODY_LEN;

/// `n = 2^64 - 1` is reserved for `Rekey()`; no message may use it (Noise §5.1).
const RESERVED_NONCE: u64 = u64::MAX;

/// A cipher key and its nonce counter: Noise's `CipherState`.
///
/// Without a key (`HasKey() == false`) encryption and decryption pass bytes
/// through unchanged, as the spec requires during early handshake messages.
pub struct CipherState {
    key: Option<Key>,
    n: u64,
}

/// A key and its AES-GCM key schedule.
struct Key {
    // Kept so a direction that is idle most of the time can drop the
    // schedule and rebuild it ([`CipherState::key_and_nonce`]). It holds no
    // more than the schedule does: AES-256's first two round keys are the
    // key. Zeroized on drop.
    raw: Zeroizing<[u8; KEY_LEN]>,
    // Expanded once per key: re-expanding the AES key schedule per message
    // costs more than sealing a small message. Its round keys are zeroized
    // on drop (`aes` feature `zeroize`).
    cipher: Aes256Gcm,
}

impl Key {
    fn new(raw: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let cipher = Aes256Gcm::new(&(*raw).into());
        Key { raw, cipher }
    }
}

impl CipherState {
    /// A `CipherState` with no key (`InitializeKey(empty)`).
    pub fn empty() -> Self {
        CipherState { key: None, n: 0 }
    }

    /// `InitializeKey(k)`: a fresh key with `n = 0`.
    ///
    /// The key bytes are copied in; zeroize your own copy.
    pub fn new(key: [u8; KEY_LEN]) -> Self {
        CipherState {
            key: Some(Key::new(Zeroizing::new(key))),
            n: 0,
        }
    }

    /// The key and nonce of a keyed state, from which
    /// [`resume`](Self::resume) rebuilds it.
    pub(crate) fn key_and_nonce(&self) -> Option<(Zeroizing<[u8; KEY_LEN]>, u64)> {
        self.key.as_ref().map(|k| (k.raw.clone(), self.n))
    }

    /// The state [`key_and_nonce`](Self::key_and_nonce) described.
    pub(crate) fn resume(key: &Zeroizing<[u8; KEY_LEN]>, n: u64) -> Self {
        CipherState {
            key: Some(Key::new(key.clone())),
            n,
        }
    }

    /// `HasKey()`.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The nonce the next message will use.
    pub fn nonce(&self) -> u64 {
        self.n
    }

    /// `SetNonce(n)`. Reusing a nonce under one key destroys AES-GCM's
    /// security, so it exists only in test builds.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn set_nonce(&mut self, n: u64) {
        self.n = n;
    }

    /// `EncryptWithAd(ad, plaintext)`, appending the result to `out`.
    ///
    /// Fails with [`ErrorKind::NonceExhausted`] once `n` reaches `2^64 - 1`;
    /// on any failure `out` and `n` are unchanged.
    pub fn encrypt_with_ad(
        &mut self,
        ad: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let Some(Key { cipher, .. }) = &self.key else {
            out.extend_from_slice(plaintext);
            return Ok(());
        };
        if self.n == RESERVED_NONCE {
            return Err(exhausted());
        }
        let start = out.len();
        out.reserve(plaintext.len().saturating_add(TAG_LEN));
        out.extend_from_slice(plaintext);
        let sealed = match out.get_mut(start..) {
            Some(body) => cipher.encrypt_inout_detached(&nonce_bytes(self.n), ad, body.into()),
            None => Err(aes_gcm::Error),
        };
        match sealed {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                // Below RESERVED_NONCE (checked above): cannot saturate.
                self.n = self.n.saturating_add(1);
                Ok(())
            }
            Err(_) => {
                out.truncate(start);
                Err(Error::new(
                    ErrorKind::MessageTooLarge,
                    "plaintext too long for AES-GCM",
                ))
            }
        }
    }

    /// `DecryptWithAd(ad, ciphertext)`, appending the plaintext to `out`.
    ///
    /// Any failure is [`ErrorKind::DecryptFailed`] and changes nothing: `n` is
    /// not advanced and `out` keeps its length and contents.
    pub fn decrypt_with_ad(
        &mut self,
        ad: &[u8],
        ciphertext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let Some(Key { cipher, .. }) = &self.key else {
            out.extend_from_slice(ciphertext);
            return Ok(());
        };
        if self.n == RESERVED_NONCE {
            return Err(decrypt_failed());
        }
        let (body, tag) = ciphertext
            .split_last_chunk::<TAG_LEN>()
            .ok_or_else(decrypt_failed)?;
        let start = out.len();
        out.extend_from_slice(body);
        let opened = match out.get_mut(start..) {
            Some(buf) => cipher.decrypt_inout_detached(
                &nonce_bytes(self.n),
                ad,
                buf.into(),
                &Tag::from(*tag),
            ),
            None => Err(aes_gcm::Error),
        };
        if opened.is_err() {
            // aes-gcm verifies before decrypting, so these are ciphertext bytes;
            // wipe them anyway so a failure leaves nothing behind.
            if let Some(tail) = out.get_mut(start..) {
                tail.zeroize();
            }
            out.truncate(start);
            return Err(decrypt_failed());
        }
        self.n = self.n.saturating_add(1);
        Ok(())
    }

    /// `Rekey()` (Noise §4.2): `k = ENCRYPT(k, 2^64 - 1, "", zeros)[..32]`.
    ///
    /// `n` is left as it is, as the spec says. Without a key this does nothing.
    pub fn rekey(&mut self) {
        let Some(key) = &mut self.key else {
            return;
        };
        let mut next = Zeroizing::new([0u8; KEY_LEN]);
        // In-place encryption of 32 bytes cannot fail: the only error is an
        // over-long buffer. Should it ever fail, the key is left unchanged
        // rather than replaced by zeros.
        if key
            .cipher
            .encrypt_inout_detached(
                &nonce_bytes(RESERVED_NONCE),
                &[],
                next.as_mut_slice().into(),
            )
            .is_ok()
        {
            *key = Key::new(next);
        }
    }
}

impl fmt::Debug for CipherState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CipherState")
            .field("has_key", &self.has_key())
            .field("n", &self.n)
            .finish()
    }
}

/// AESGCM nonce: 32 zero bits, then `n` as a 64-bit big-endian integer (Noise §12.4).
fn nonce_bytes(n: u64) -> Nonce<aes_gcm::aead::consts::U12> {
    let mut nonce = [0u8; 12];
    let (_, counter) = nonce.split_at_mut(4);
    counter.copy_from_slice(&n.to_be_bytes());
    nonce.into()
}

fn exhausted() -> Error {
    Error::new(ErrorKind::NonceExhausted, "nonce 2^64-1 is reserved")
}

fn decrypt_failed() -> Error {
    Error::new(ErrorKind::DecryptFailed, "message failed authentication")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_decrypt_neither_advances_nor_writes() {
        let mut tx = CipherState::new([9; 32]);
        let mut rx = CipherState::new([9; 32]);
        let mut ct = Vec::new();
        tx.encrypt_with_ad(b"ad", b"hello", &mut ct).unwrap();
        let mut bad = ct.clone();
        bad[0] ^= 1;
        let mut out = b"keep".to_vec();
        let err = rx.decrypt_with_ad(b"ad", &bad, &mut out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DecryptFailed);
        assert_eq!((out.as_slice(), rx.nonce()), (&b"keep"[..], 0));
        rx.decrypt_with_ad(b"ad", &ct, &mut out).unwrap();
        assert_eq!((out.as_slice(), rx.nonce()), (&b"keephello"[..], 1));
    }

    #[test]
    fn reserved_nonce_is_refused() {
        let mut cs = CipherState::new([1; 32]);
        cs.set_nonce(u64::MAX - 1);
        let mut out = Vec::new();
        cs.encrypt_with_ad(&[], b"last", &mut out).unwrap();
        let len = out.len();
        let err = cs.encrypt_with_ad(&[], b"one more", &mut out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NonceExhausted);
        assert_eq!(out.len(), len);
    }

    #[test]
    fn aes_round_keys_and_ghash_key_are_zeroized_on_drop() {
        // Compiles only while aes-gcm's `zeroize` feature is on: it marks the
        // cipher ZeroizeOnDrop only when AES (and GHASH) wipe themselves.
        fn zeroized_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        zeroized_on_drop::<aes_gcm::aes::Aes256>();
        zeroized_on_drop::<aes_gcm::Aes256Gcm>();
    }

    #[test]
    fn a_state_resumed_from_its_key_and_nonce_goes_on_as_the_original() {
        let mut tx = CipherState::new([7; 32]);
        let mut rx = CipherState::new([7; 32]);
        for round in 0..6u8 {
            if round == 3 {
                tx.rekey();
                rx.rekey();
            }
            // Rebuild the receiver from its parts before every message.
            let (key, n) = rx.key_and_nonce().expect("keyed");
            rx = CipherState::resume(&key, n);
            let mut sealed = Vec::new();
            tx.encrypt_with_ad(b"ad", &[round; 5], &mut sealed).unwrap();
            let mut opened = Vec::new();
            rx.decrypt_with_ad(b"ad", &sealed, &mut opened).unwrap();
            assert_eq!(
                (opened.as_slice(), rx.nonce()),
                (&[round; 5][..], u64::from(round) + 1)
            );
        }
        assert!(CipherState::empty().key_and_nonce().is_none());
    }

    #[test]
    fn short_ciphertext_is_an_opaque_failure() {
        let mut cs = CipherState::new([1; 32]);
        let err = cs
            .decrypt_with_ad(&[], &[0; 15], &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DecryptFailed);
    }
}
