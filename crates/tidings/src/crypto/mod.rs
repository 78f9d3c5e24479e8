//! The secure channel: Noise handshakes and the transport cipher.
//!
//! Noise Protocol Framework revision 34, suite `25519_AESGCM_SHA256`, patterns
//! `IK` (reconnect) and `XK` (enrollment) only. Sans-IO and deterministic:
//! every ephemeral key is 32 random bytes the caller supplies (so no
//! `fixed_ephemeral_key_for_testing_only` is needed: tests pass fixed bytes),
//! and time is a `now_ms` argument. The byte-level specification is
//! `docs/spec/handshake.md`; the threat model is `docs/security.md`.
//!
//! A reconnect, both sides in one process:
//!
//! ```
//! use tidings::crypto::{IkInitiator, IkResponder, Opened, StaticKeypair};
//!
//! # fn main() -> tidings::error::Result<()> {
//! let server = StaticKeypair::from_secret_bytes([1; 32]); // from the server's key store
//! let device = StaticKeypair::from_secret_bytes([2; 32]); // from saved client state
//!
//! // Device: pin the server key, send hello with its next timestamp.
//! let mut hello = Vec::new();
//! let sent = IkInitiator::new(&device, server.public_key(), [3; 32], 42)
//!     .write_hello(b"resume", &mut hello)?;
//!
//! // Server: authenticate, check the device and its last timestamp, accept.
//! let received = IkResponder::new(&server, [4; 32]).read_hello(&hello)?;
//! assert_eq!(received.device_key(), device.public_key());
//! assert_eq!((received.timestamp(), received.early_payload()), (42, &b"resume"[..]));
//! let mut response = Vec::new();
//! let mut server_side = received.accept(Some(41), b"welcome", &mut response)?;
//!
//! // Device: read the response; both sides now hold a transport.
//! let mut payload = Vec::new();
//! let mut device_side = sent.read_response(&response, &mut payload)?;
//! assert_eq!(payload, b"welcome");
//!
//! let (mut wire, mut plain) = (Vec::new(), Vec::new());
//! device_side.seal(b"sync please", &mut wire)?;
//! assert_eq!(server_side.open(&wire, &mut plain)?, Opened::Payload);
//! assert_eq!(plain, b"sync please");
//! # Ok(())
//! # }
//! ```
//!
//! Layers, bottom-up: [`keys`] (X25519) with [`dh_cache`], [`cipherstate`], `symmetricstate`
//! (crate-private), [`handshakestate`] (generic, token-driven), then the
//! Tidings wrappers [`ik`], [`xk`], [`transport`] with [`mod@prologue`] and
//! [`rekey`].

// Counters, lengths and budgets use checked or saturating arithmetic: no
// value from the wire or saved state can overflow one (issue 14).
#[deny(clippy::arithmetic_side_effects)]
pub mod cipherstate;
#[deny(clippy::arithmetic_side_effects)]
pub mod dh_cache;
#[deny(clippy::arithmetic_side_effects)]
pub mod handshakestate;
#[deny(clippy::arithmetic_side_effects)]
pub mod ik;
#[deny(clippy::arithmetic_side_effects)]
pub mod keys;
#[deny(clippy::arithmetic_side_effects)]
pub mod pattern;
#[deny(clippy::arithmetic_side_effects)]
pub mod prologue;
#[deny(clippy::arithmetic_side_effects)]
pub mod rekey;
mod resting;
#[deny(clippy::arithmetic_side_effects)]
mod symmetricstate;
#[deny(clippy::arithmetic_side_effects)]
pub mod transport;
#[deny(clippy::arithmetic_side_effects)]
pub mod xk;

pub use cipherstate::{CipherState, MAX_MESSAGE_LEN, TAG_LEN};
pub use dh_cache::{DEFAULT_DH_CACHE_CAPACITY, StaticStaticCache};
pub use handshakestate::{HandshakeState, Role};
pub use ik::{IkHello, IkHelloSent, IkInitiator, IkResponder, PinnedServer};
pub use keys::{SharedSecret, StaticKeypair, StaticStaticDh};
pub use pattern::HandshakePattern;
pub use prologue::{PROTOCOL_VERSION, prologue};
pub use rekey::{MAX_MESSAGES_PER_KEY, RekeyPolicy};
pub use symmetricstate::HASH_LEN;
pub use transport::{MAX_PLAINTEXT_LEN, Opened, Transport};
pub use xk::{
    MAX_ACTIVATION_CODE_LEN, XkEnrollment, XkInitiator, XkResponded, XkResponder, XkStarted,
};
