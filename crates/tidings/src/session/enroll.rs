//! The payload of XK message 3: an `Enroll` message, and its limits.
//!
//! Each field has a limit in bytes, so that any `Enroll` within them
//! encodes to at most 166 bytes: always inside the handshake's 256-byte
//! payload (`MAX_ACTIVATION_CODE_LEN`). A field over its limit is answered
//! `ErrorInfo { LimitExceeded }` over the finished handshake, never a silent
//! close.

use crate::error::{Error, ErrorKind, Result};
use crate::proto::Enroll;

/// Most bytes of `Enroll.activation_code` (a code is 16 characters; dashes
/// and spaces as typed fit too).
pub const MAX_ENROLL_CODE_BYTES: usize = 64;

/// Most bytes of `Enroll.device_name`, UTF-8 (a client cuts a longer name
/// on a character boundary).
pub const MAX_DEVICE_NAME_BYTES: usize = 64;

/// Most bytes of `Enroll.platform`.
pub const MAX_PLATFORM_BYTES: usize = 32;

/// Checks an `Enroll` against the limits before any work.
pub(crate) fn check(enroll: &Enroll) -> Result<()> {
    let over = enroll.activation_code.len() > MAX_ENROLL_CODE_BYTES
        || enroll.device_name.len() > MAX_DEVICE_NAME_BYTES
        || enroll.platform.len() > MAX_PLATFORM_BYTES;
    if over {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "an Enroll field is over its limit",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;

    #[test]
    fn the_largest_enroll_fits_the_handshake_payload() {
        let largest = Enroll {
            activation_code: "x".repeat(MAX_ENROLL_CODE_BYTES),
            device_name: "\u{1F4F1}".repeat(MAX_DEVICE_NAME_BYTES / 4),
            platform: "p".repeat(MAX_PLATFORM_BYTES),
        };
        assert!(check(&largest).is_ok());
        let len = proto::encode(&largest).len();
        assert_eq!(len, 166);
        assert!(len <= crate::crypto::MAX_ACTIVATION_CODE_LEN);
        let long = Enroll {
            device_name: "n".repeat(MAX_DEVICE_NAME_BYTES + 1),
            ..largest
        };
        assert_eq!(
            check(&long).map_err(|e| e.kind()),
            Err(ErrorKind::LimitExceeded)
        );
    }
}
