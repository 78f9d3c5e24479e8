//! Device keys: made from random bytes the caller supplies (the core draws
//! no randomness), imported, and their public half exported.

use crate::handle::{Castable, Out, borrow, free, input_array, into_ptr};
use crate::panic::{guard, guard_value};
use crate::result::tidings_result;
use tidings::crypto::StaticKeypair;
use zeroize::Zeroizing;

/// A device's X25519 key pair. Not thread-safe: one thread at a time.
pub struct tidings_keypair {
    _private: [u8; 0],
}

/// The secret, kept to build client states; the public half derives from it.
pub struct Keypair {
    pub(crate) secret: Zeroizing<[u8; 32]>,
}

impl Castable for tidings_keypair {
    type Rust = Keypair;
}

/// Makes a key pair from 32 bytes of the platform's CSPRNG (`random`,
/// `random_len` must be 32). Importing a saved secret is the same call.
/// Free with `tidings_keypair_free`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_keypair_new(
    random: *const u8,
    random_len: usize,
    out: *mut *mut tidings_keypair,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let secret = Zeroizing::new(input_array::<32>(random, random_len)?);
        out.set(into_ptr(Keypair { secret }));
        Ok(())
    })
}

/// Writes the 32-byte public key to `out` (`out_len` must be 32).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_keypair_public(
    keypair: *const tidings_keypair,
    out: *mut u8,
    out_len: usize,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out.cast::<[u8; 32]>())?;
        let keypair = borrow(keypair)?;
        if out_len != 32 {
            return Err(tidings::ErrorKind::InvalidArgument.into());
        }
        out.set(StaticKeypair::from_secret_bytes(*keypair.secret).public_key());
        Ok(())
    })
}

/// Frees a key pair (its secret is zeroed); NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_keypair_free(keypair: *mut tidings_keypair) {
    guard_value((), || free(keypair))
}
