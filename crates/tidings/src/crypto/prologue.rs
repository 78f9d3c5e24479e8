//! The Tidings prologue: binds the protocol version and Noise suite into the
//! handshake hash (Noise §6), so a peer speaking another version or suite
//! fails the first authenticated message instead of silently agreeing.

use super::pattern::HandshakePattern;

/// The Tidings protocol version this build speaks (the frame layer's, so the
/// version byte of the first frame and the prologue always agree).
pub use crate::frame::PROTOCOL_VERSION;

/// The fixed tag that opens every Tidings prologue.
pub const PROLOGUE_TAG: &[u8; 7] = b"Tidings";

/// `b"Tidings" || version || protocol name`, e.g. for IK version 1:
/// `"Tidings" 0x01 "Noise_IK_25519_AESGCM_SHA256"` (36 bytes).
///
/// Both sides must build the same bytes; any difference makes the first
/// encrypted handshake payload fail with `DecryptFailed`.
pub fn prologue(version: u8, pattern: HandshakePattern) -> Vec<u8> {
    let name = pattern.protocol_name().as_bytes();
    let mut bytes = Vec::with_capacity(
        PROLOGUE_TAG
            .len()
            .saturating_add(1)
            .saturating_add(name.len()),
    );
    bytes.extend_from_slice(PROLOGUE_TAG);
    bytes.push(version);
    bytes.extend_from_slice(name);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_tag_version_name() {
        let p = prologue(PROTOCOL_VERSION, HandshakePattern::Xk);
        assert_eq!(p, b"Tidings\x01Noise_XK_25519_AESGCM_SHA256");
    }
}
