//! Enrollment: `Noise_XK` with the Tidings prologue, three messages.
//!
//! ```text
//! -> e, es          payload empty
//! <- e, ee          payload empty
//! -> s, se          payload = activation code
//! ```
//!
//! The device knows the server's static key (from the enrollment invitation).
//! The one-time activation code travels only in the third message, after the
//! server has proven that key, and is never mixed into the keys as a PSK: a
//! wrong code still completes the Noise handshake, and the server decides
//! (limiting attempts, expiring and burning codes). Guessing is online only.

use zeroize::Zeroizing;

use super::handshakestate::HandshakeState;
use super::keys::{DH_LEN, StaticKeypair};
use super::pattern::HandshakePattern;
use super::prologue::{PROTOCOL_VERSION, prologue};
use super::transport::Transport;
use crate::error::{Error, ErrorKind, Result};

/// Longest payload of XK message 3 (the encoded `Enroll`), in bytes.
pub const MAX_ACTIVATION_CODE_LEN: usize = 256;

fn xk_prologue() -> Vec<u8> {
    prologue(PROTOCOL_VERSION, HandshakePattern::Xk)
}

fn check_code_len(len: usize, kind: ErrorKind) -> Result<()> {
    if len == 0 || len > MAX_ACTIVATION_CODE_LEN {
        return Err(Error::new(kind, "activation code must be 1 to 256 bytes"));
    }
    Ok(())
}

/// Reads a handshake message whose payload must be empty.
fn read_empty(handshake: &mut HandshakeState, message: &[u8]) -> Result<()> {
    let mut payload = Vec::new();
    handshake.read_message(message, &mut payload)?;
    if !payload.is_empty() {
        return Err(Error::new(
            ErrorKind::HandshakeMalformed,
            "unexpected handshake payload",
        ));
    }
    Ok(())
}

/// The device side, before the first message.
#[derive(Debug)]
pub struct XkInitiator {
    handshake: HandshakeState,
}

impl XkInitiator {
    /// Starts an enrollment. `ephemeral_secret` must be 32 fresh random bytes.
    pub fn new(
        device_keys: &StaticKeypair,
        server_public: [u8; DH_LEN],
        ephemeral_secret: [u8; DH_LEN],
    ) -> Self {
        let handshake = HandshakeState::initiator(
            HandshakePattern::Xk,
            &xk_prologue(),
            device_keys,
            ephemeral_secret,
            server_public,
        );
        XkInitiator { handshake }
    }

    /// Appends the first message (`-> e, es`, 48 bytes) to `out`.
    pub fn start(mut self, out: &mut Vec<u8>) -> Result<XkStarted> {
        self.handshake.write_message(&[], out)?;
        Ok(XkStarted {
            handshake: self.handshake,
        })
    }
}

/// The device side, waiting for the server's reply.
#[derive(Debug)]
pub struct XkStarted {
    handshake: HandshakeState,
}

impl XkStarted {
    /// Reads the reply (`<- e, ee`), which proves the server's key, then
    /// appends the final message (`-> s, se` carrying `activation_code`) to
    /// `out`. The server may still refuse the code over the transport.
    pub fn finish(
        mut self,
        reply: &[u8],
        activation_code: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<Transport> {
        check_code_len(activation_code.len(), ErrorKind::InvalidArgument)?;
        read_empty(&mut self.handshake, reply)?;
        let start = out.len();
        self.handshake.write_message(activation_code, out)?;
        self.handshake
            .into_transport()
            .inspect_err(|_| out.truncate(start))
    }
}

/// The server side, before the first message.
#[derive(Debug)]
pub struct XkResponder {
    handshake: HandshakeState,
}

impl XkResponder {
    /// Prepares one enrollment. `ephemeral_secret` must be 32 fresh random bytes.
    pub fn new(server_keys: &StaticKeypair, ephemeral_secret: [u8; DH_LEN]) -> Self {
        let handshake = HandshakeState::responder(
            HandshakePattern::Xk,
            &xk_prologue(),
            server_keys,
            ephemeral_secret,
        );
        XkResponder { handshake }
    }

    /// Reads the first message and appends the reply (`<- e, ee`, 48 bytes) to `out`.
    pub fn respond(mut self, first: &[u8], out: &mut Vec<u8>) -> Result<XkResponded> {
        read_empty(&mut self.handshake, first)?;
        self.handshake.write_message(&[], out)?;
        Ok(XkResponded {
            handshake: self.handshake,
        })
    }
}

/// The server side, waiting for the device's final message.
#[derive(Debug)]
pub struct XkResponded {
    handshake: HandshakeState,
}

impl XkResponded {
    /// Reads the final message: the device's static key and activation code.
    pub fn read_enrollment(mut self, last: &[u8]) -> Result<XkEnrollment> {
        let mut code = Zeroizing::new(Vec::new());
        self.handshake.read_message(last, &mut code)?;
        check_code_len(code.len(), ErrorKind::HandshakeMalformed)?;
        let device_key = self.handshake.remote_static().ok_or_else(|| {
            Error::new(
                ErrorKind::HandshakeMalformed,
                "enrollment lacks a static key",
            )
        })?;
        Ok(XkEnrollment {
            handshake: self.handshake,
            device_key,
            activation_code: code,
        })
    }
}

/// A finished XK handshake awaiting the server's check of the activation code.
///
/// Validate [`activation_code`](Self::activation_code) (count the attempt,
/// check expiry, burn the code on success), record
/// [`device_key`](Self::device_key), then [`accept`](Self::accept); otherwise
/// [`reject`](Self::reject). No transport exists until then.
pub struct XkEnrollment {
    handshake: HandshakeState,
    device_key: [u8; DH_LEN],
    // A live credential until burned: wiped on drop.
    activation_code: Zeroizing<Vec<u8>>,
}

impl XkEnrollment {
    /// The device's static public key, proven by the handshake.
    pub fn device_key(&self) -> [u8; DH_LEN] {
        self.device_key
    }

    /// The activation code the device presented.
    pub fn activation_code(&self) -> &[u8] {
        &self.activation_code
    }

    /// The code was valid: returns the transport to the enrolled device.
    pub fn accept(self) -> Result<Transport> {
        self.handshake.into_transport()
    }

    /// The code was wrong, expired or used: abandons the handshake.
    pub fn reject(self) {}
}

impl core::fmt::Debug for XkEnrollment {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XkEnrollment")
            .field("activation_code", &"<redacted>")
            .finish_non_exhaustive()
    }
}
