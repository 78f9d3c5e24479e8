//! Writing frames: the length header, and the version byte of the first frame.

use super::{HEADER_LEN, MAX_BODY_LEN, PROTOCOL_VERSION, REFUSAL_VERSION};
use crate::error::{Error, Result};

/// Writes frames for one direction of one connection.
///
/// The first frame it writes gets the protocol version byte in front of the
/// body; every later frame is just the length and the body.
#[derive(Debug, Clone)]
pub struct FrameEncoder {
    version_sent: bool,
}

impl Default for FrameEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameEncoder {
    /// An encoder for a fresh connection: its first frame carries the version.
    pub const fn new() -> Self {
        Self {
            version_sent: false,
        }
    }

    /// Appends one frame holding `body` to `out`.
    ///
    /// Fails with [`Error::FrameTooLarge`] (and writes nothing) when the body,
    /// plus the version byte on the first frame, exceeds 65,535 bytes.
    pub fn encode(&mut self, body: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let prefix: &[u8] = if self.version_sent {
            &[]
        } else {
            &[PROTOCOL_VERSION]
        };
        write_frame(prefix, body, out)?;
        self.version_sent = true;
        Ok(())
    }
}

/// Appends a plaintext refusal frame to `out`: the answer to a first frame whose
/// version this build does not speak. It names the version we do speak.
pub fn encode_refusal(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 2, REFUSAL_VERSION, PROTOCOL_VERSION]);
}

fn write_frame(prefix: &[u8], body: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let len = prefix.len() + body.len();
    let header = u16::try_from(len).map_err(|_| Error::FrameTooLarge {
        len,
        max: MAX_BODY_LEN,
    })?;
    out.reserve(HEADER_LEN + len);
    out.extend_from_slice(&header.to_be_bytes());
    out.extend_from_slice(prefix);
    out.extend_from_slice(body);
    Ok(())
}
