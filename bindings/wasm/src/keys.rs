//! Device keys: generated from the platform's CSPRNG, imported, exported.

use crate::error::Thrown;
use crate::js::fixed;
use crate::random::random;
use js_sys::Uint8Array;
use tidings::crypto::StaticKeypair;
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

/// A device's X25519 key pair. Its secret is zeroed in WASM memory when the
/// object is freed.
#[wasm_bindgen]
pub struct Keypair {
    pub(crate) secret: Zeroizing<[u8; 32]>,
}

#[wasm_bindgen]
impl Keypair {
    /// A new key pair from the platform's CSPRNG.
    pub fn generate() -> Result<Keypair, Thrown> {
        Ok(Keypair {
            secret: random::<32>()?,
        })
    }

    /// Imports a secret from `exportSecret` (32 bytes).
    #[wasm_bindgen(js_name = fromSecret)]
    pub fn from_secret(secret: &Uint8Array) -> Result<Keypair, Thrown> {
        Ok(Keypair {
            secret: Zeroizing::new(fixed::<32>(secret, "a secret key is 32 bytes")?),
        })
    }

    /// The 32-byte secret, to keep where the platform keeps secrets. (A
    /// saved `ClientState` holds it already; most apps never need this.)
    #[wasm_bindgen(js_name = exportSecret)]
    pub fn export_secret(&self) -> Uint8Array {
        Uint8Array::from(self.secret.as_slice())
    }

    /// The 32-byte public key.
    #[wasm_bindgen(getter, js_name = publicKey)]
    pub fn public_key(&self) -> Uint8Array {
        Uint8Array::from(
            StaticKeypair::from_secret_bytes(*self.secret)
                .public_key()
                .as_slice(),
        )
    }
}
