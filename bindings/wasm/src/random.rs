//! Randomness from the platform: `crypto.getRandomValues`, through
//! getrandom's `wasm_js` backend (browsers, workers, Node.js 19+).

use crate::error::Thrown;
use tidings::ErrorKind;
use zeroize::Zeroizing;

/// `N` random bytes, zeroed when dropped (most are key material).
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, Thrown> {
    let mut bytes = Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|_| {
        Thrown::new(
            ErrorKind::InvalidState,
            "no crypto.getRandomValues on this platform",
        )
    })?;
    Ok(bytes)
}
