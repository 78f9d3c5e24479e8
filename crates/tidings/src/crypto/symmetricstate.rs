//! `SymmetricState` of Noise §5.2 with `HASH = SHA-256` and HKDF over HMAC-SHA256.

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::cipherstate::{CipherState, KEY_LEN};
use crate::error::Result;

/// `HASHLEN` for SHA-256.
pub const HASH_LEN: usize = 32;

/// SHA-256's block size: HMAC zero-pads shorter keys to this length.
const BLOCK_LEN: usize = 64;

/// The chaining key, the handshake hash and the current handshake cipher.
pub(crate) struct SymmetricState {
    cipher: CipherState,
    chain: ChainingKey,
    h: [u8; HASH_LEN],
}

/// `ck`: secret, so wiped on drop. `h` is a public transcript hash and is not.
#[derive(Zeroize, ZeroizeOnDrop)]
struct ChainingKey([u8; HASH_LEN]);

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)`.
    pub(crate) fn new(protocol_name: &str) -> Self {
        let name = protocol_name.as_bytes();
        let mut h = [0u8; HASH_LEN];
        match h.get_mut(..name.len()) {
            // Names of at most HASHLEN bytes are zero-padded, longer ones hashed.
            Some(prefix) => prefix.copy_from_slice(name),
            None => h = Sha256::digest(name).into(),
        }
        SymmetricState {
            cipher: CipherState::empty(),
            chain: ChainingKey(h),
            h,
        }
    }

    /// `MixKey(input_key_material)`.
    pub(crate) fn mix_key(&mut self, ikm: &[u8]) {
        let (ck, mut k) = hkdf2(&self.chain.0, ikm);
        self.chain = ChainingKey(ck);
        self.cipher = CipherState::new(k);
        k.zeroize();
    }

    /// `MixHash(data)`: `h = HASH(h || data)`.
    pub(crate) fn mix_hash(&mut self, data: &[u8]) {
        self.h = Sha256::new()
            .chain_update(self.h)
            .chain_update(data)
            .finalize()
            .into();
    }

    /// Whether a key has been mixed in yet (`HasKey()` of the inner cipher).
    pub(crate) fn has_key(&self) -> bool {
        self.cipher.has_key()
    }

    /// `GetHandshakeHash()`.
    pub(crate) fn handshake_hash(&self) -> [u8; HASH_LEN] {
        self.h
    }

    /// `EncryptAndHash(plaintext)`, appending the ciphertext to `out`.
    /// On failure `out` is unchanged.
    pub(crate) fn encrypt_and_hash(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        self.cipher.encrypt_with_ad(&self.h, plaintext, out)?;
        if let Some(ciphertext) = out.get(start..) {
            self.h = hash2(&self.h, ciphertext);
        }
        Ok(())
    }

    /// `DecryptAndHash(ciphertext)`, appending the plaintext to `out`.
    /// On failure `out` and `h` are unchanged.
    pub(crate) fn decrypt_and_hash(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.cipher.decrypt_with_ad(&self.h, ciphertext, out)?;
        self.mix_hash(ciphertext);
        Ok(())
    }

    /// `Split()`: the initiator-to-responder and responder-to-initiator ciphers.
    pub(crate) fn split(&self) -> (CipherState, CipherState) {
        let (mut k1, mut k2) = hkdf2(&self.chain.0, &[]);
        let ciphers = (CipherState::new(k1), CipherState::new(k2));
        k1.zeroize();
        k2.zeroize();
        ciphers
    }
}

fn hash2(a: &[u8], b: &[u8]) -> [u8; HASH_LEN] {
    Sha256::new()
        .chain_update(a)
        .chain_update(b)
        .finalize()
        .into()
}

/// `HKDF(ck, ikm, 2)` of Noise §4.3: two 32-byte outputs.
fn hkdf2(chaining_key: &[u8; HASH_LEN], ikm: &[u8]) -> ([u8; HASH_LEN], [u8; KEY_LEN]) {
    let mut temp_key = hmac(chaining_key, &[ikm]);
    let out1 = hmac(&temp_key, &[&[1]]);
    let out2 = hmac(&temp_key, &[&out1, &[2]]);
    temp_key.zeroize();
    (out1, out2)
}

/// `HMAC-HASH(key, parts…)` for a 32-byte key.
///
/// HMAC zero-pads any key shorter than the hash block (RFC 2104 §2), so
/// padding it ourselves gives the same MAC and lets us use the infallible
/// fixed-size constructor instead of `new_from_slice`'s `Result`.
fn hmac(key: &[u8; HASH_LEN], parts: &[&[u8]]) -> [u8; HASH_LEN] {
    let mut block = [0u8; BLOCK_LEN];
    if let Some(prefix) = block.get_mut(..HASH_LEN) {
        prefix.copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    block.zeroize();
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_with_padded_key_matches_the_slice_constructor() {
        let key = [0x0b; 32];
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        reference.update(b"what do ya want for nothing?");
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(
            hmac(&key, &[b"what do ya want ", b"for nothing?"]),
            expected
        );
    }

    #[test]
    fn short_names_are_padded_and_long_names_hashed() {
        let short = SymmetricState::new("Noise_IK_25519_AESGCM_SHA256");
        assert_eq!(
            &short.handshake_hash()[..28],
            b"Noise_IK_25519_AESGCM_SHA256"
        );
        assert_eq!(&short.handshake_hash()[28..], &[0; 4]);
        let long_name = "Noise_XXfallback_25519_AESGCM_SHA256";
        let long = SymmetricState::new(long_name);
        assert_eq!(
            long.handshake_hash(),
            <[u8; 32]>::from(Sha256::digest(long_name))
        );
    }
}
