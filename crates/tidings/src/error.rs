//! The one error type of Tidings and its stable numeric code table.
//!
//! Codes are grouped by layer (hundreds digit), are shared with the C and
//! JavaScript bindings, and are never reused: a retired code stays retired.
//! Neither `Display` nor `Debug` of an error carries keys, plaintext or any
//! mail or calendar content.

use core::fmt;

/// Declares [`ErrorKind`] once: variant, stable code and description, so the
/// enum, its table and its texts cannot drift apart.
macro_rules! error_kinds {
    ($($(#[doc = $doc:literal])* $name:ident = $code:literal => $text:literal,)*) => {
        /// Stable numeric error codes shared by Rust, C (`tidings_result`) and JS (`.code`).
        ///
        /// The hundreds digit names the layer: 1 frame, 2 crypto, 3 compress, 4 proto,
        /// 5 sync, 6 session, 7 store, 8 bindings.
        #[repr(u16)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $($(#[doc = $doc])* $name = $code,)*
        }

        impl ErrorKind {
            /// Every kind, in code order: the table the bindings publish.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$name,)*];

            /// A short, content-free description, the same one C and JS print.
            pub const fn description(self) -> &'static str {
                match self {
                    $(ErrorKind::$name => $text,)*
                }
            }
        }
    };
}

error_kinds! {
    /// A frame's declared length exceeds the configured or absolute maximum.
    FrameTooLarge = 100 => "frame too large",
    /// A frame's header or body is not well formed.
    FrameMalformed = 101 => "malformed frame",
    /// The peer speaks a protocol version this build does not.
    UnknownVersion = 102 => "unknown protocol version",
    /// The stream ended in the middle of a frame.
    FrameTruncated = 103 => "stream ended inside a frame",
    /// The peer refused our protocol version with a plaintext refusal frame.
    VersionRefused = 104 => "peer refused our protocol version",

    /// Authentication of a handshake or transport message failed (opaque by design).
    DecryptFailed = 200 => "decryption failed",
    /// A Diffie-Hellman result was all zeros: a low-order public key was offered.
    LowOrderPoint = 201 => "low-order public key",
    /// The transport nonce space (or AES-GCM usage budget) is exhausted.
    NonceExhausted = 202 => "nonce space exhausted",
    /// A handshake method was called out of order or after completion.
    HandshakeOutOfOrder = 203 => "handshake step out of order",
    /// A handshake message has the wrong length or layout.
    HandshakeMalformed = 204 => "malformed handshake message",
    /// An IK first message was replayed (its timestamp did not increase).
    Replay = 205 => "replayed handshake",
    /// The peer's static key is not the pinned or an enrolled key.
    UnknownPeer = 206 => "unknown peer key",
    /// A message larger than the Noise limit of 65,535 bytes was requested.
    MessageTooLarge = 207 => "message exceeds the Noise limit",
    /// The transport is dead after an earlier failure and must be replaced.
    TransportClosed = 208 => "transport closed after a failure",
    /// The early (0-RTT) payload contained a request that may change state.
    EarlyDataNotAllowed = 209 => "state-changing request before handshake completion",

    /// Inflating would exceed the absolute or ratio cap (a decompression bomb).
    InflateLimit = 300 => "decompressed size exceeds the limit",
    /// The deflate stream is corrupt or truncated.
    InflateCorrupt = 301 => "corrupt compressed data",
    /// The padded payload's header or padding is malformed.
    PaddingMalformed = 302 => "malformed padded payload",
    /// The payload flags name a compression dictionary this build does not have.
    UnknownDictionary = 303 => "unknown compression dictionary",
    /// The payload flags set a bit this version does not define.
    UnknownPayloadFlags = 304 => "unknown payload flags",

    /// A protobuf message could not be decoded.
    ProtoDecode = 400 => "protobuf decode failed",
    /// A required protobuf field was absent.
    ProtoMissingField = 401 => "required field missing",
    /// A protobuf field held a value outside its domain.
    ProtoInvalidValue = 402 => "field value out of range",

    /// The cursor can no longer be served; the collection must be synced afresh.
    ResyncRequired = 500 => "resync required",
    /// An expected version did not match the current one.
    Conflict = 501 => "version conflict",
    /// The named item or collection does not exist.
    NotFound = 502 => "not found",
    /// The principal lacks the right required for the request.
    PermissionDenied = 503 => "permission denied",
    /// A cursor did not belong to this collection or moved backwards.
    InvalidCursor = 504 => "invalid cursor",
    /// Input data (a MIME message or an iCalendar object) could not be converted.
    InvalidData = 505 => "invalid input data",
    /// A mail address is not a plain `local@domain` mailbox (composing mail, adding a principal).
    InvalidAddress = 510 => "invalid mail address",
    /// A media type is not a bare `type/subtype` of RFC 2045 tokens.
    InvalidMediaType = 511 => "invalid media type",
    /// An event sent back to be stored was the abridged form a device was
    /// given: it must fetch the whole item and edit that, so nothing is lost.
    ItemAbridged = 515 => "item is abridged: fetch it whole first",

    /// A session method was called in a state that does not allow it.
    InvalidState = 600 => "call not valid in this state",
    /// The activation code is wrong, expired or already used.
    ActivationRejected = 601 => "activation code rejected",
    /// Too many wrong activation attempts; the code is burned.
    ActivationAttemptsExceeded = 602 => "too many activation attempts",
    /// This device has been revoked by an administrator.
    DeviceRevoked = 603 => "device revoked",
    /// The session was closed.
    SessionClosed = 604 => "session closed",
    /// The peer stopped answering within the configured time.
    Timeout = 605 => "peer timed out",
    /// Saved client state could not be restored.
    StateCorrupt = 606 => "saved state corrupt",
    /// The server does not support this operation.
    Unsupported = 607 => "operation not supported by this server",
    /// A request exceeds a documented limit (`docs/spec/sync.md` §7): too
    /// many ids, collections, recipients or bytes. Refused before any work.
    LimitExceeded = 608 => "request exceeds a protocol limit",
    /// A message that is valid in itself came at a point of the session that
    /// does not allow it (a second Hello).
    UnexpectedMessage = 609 => "message not allowed at this point of the session",

    /// The storage backend failed; nothing was changed.
    Storage = 700 => "storage failure",
    /// A configured storage limit was reached.
    StorageLimit = 701 => "storage limit reached",
    /// The upstream mail server (IMAP, SMTP) could not be reached, or the
    /// connection to it broke; nothing was changed in the store.
    UpstreamUnavailable = 710 => "upstream server unavailable",
    /// The upstream server refused a command or answered outside its protocol.
    UpstreamRefused = 711 => "upstream server refused the request",
    /// The upstream configuration is invalid or unsafe (plain TCP to a host
    /// that is not loopback, a secrets file others can read, a missing secret).
    UpstreamConfig = 712 => "invalid upstream configuration",

    /// A required pointer argument was NULL (C bindings).
    NullArgument = 800 => "null argument",
    /// An argument was invalid for the call (bindings).
    InvalidArgument = 801 => "invalid argument",
    /// A panic was caught at the binding boundary; the handle is unusable.
    Panic = 802 => "internal panic caught",
}

impl ErrorKind {
    /// The stable numeric code.
    pub const fn code(self) -> u16 {
        self as u16
    }

    /// The kind for a numeric code, if the code is assigned.
    pub fn from_code(code: u16) -> Option<ErrorKind> {
        Self::ALL.iter().copied().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// The error type of every fallible Tidings call.
///
/// Variants carry only sizes, limits and codes, never secrets or content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A frame declared `len` bytes, more than the limit `max`.
    #[error("frame too large: {len} bytes, limit {max}")]
    FrameTooLarge {
        /// Declared body length.
        len: usize,
        /// Limit in force.
        max: usize,
    },
    /// A frame or its header is not well formed.
    #[error("malformed frame: {0}")]
    FrameMalformed(&'static str),
    /// The first frame named a protocol version this build does not speak.
    #[error("unknown protocol version {0}")]
    UnknownVersion(u8),
    /// The stream ended with a partial frame buffered.
    #[error("stream ended inside a frame ({buffered} bytes buffered)")]
    FrameTruncated {
        /// Bytes of the partial frame.
        buffered: usize,
    },
    /// The peer sent a plaintext refusal naming the version it speaks.
    #[error("peer refused our protocol version; it speaks version {supported}")]
    VersionRefused {
        /// The version the peer supports.
        supported: u8,
    },
    /// Any other error: a kind with a fixed, content-free reason.
    #[error("{kind}: {reason}")]
    Other {
        /// The stable kind.
        kind: ErrorKind,
        /// A fixed explanation naming the rule that was broken.
        reason: &'static str,
    },
}

impl Error {
    /// A content-free error of `kind` that names the rule it broke.
    pub const fn new(kind: ErrorKind, reason: &'static str) -> Self {
        Error::Other { kind, reason }
    }

    /// The stable kind (and numeric code) of this error.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            Error::FrameTooLarge { .. } => ErrorKind::FrameTooLarge,
            Error::FrameMalformed(_) => ErrorKind::FrameMalformed,
            Error::UnknownVersion(_) => ErrorKind::UnknownVersion,
            Error::FrameTruncated { .. } => ErrorKind::FrameTruncated,
            Error::VersionRefused { .. } => ErrorKind::VersionRefused,
            Error::Other { kind, .. } => *kind,
        }
    }

    /// The stable numeric code of this error.
    pub const fn code(&self) -> u16 {
        self.kind().code()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::Other {
            kind,
            reason: kind.description(),
        }
    }
}

/// `Result` with the Tidings [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = HashSet::new();
        for kind in ErrorKind::ALL {
            assert!(seen.insert(kind.code()), "duplicate code {}", kind.code());
            assert_eq!(ErrorKind::from_code(kind.code()), Some(*kind));
        }
        assert_eq!(ErrorKind::from_code(0), None);
    }

    #[test]
    fn table_is_sorted_and_grouped_by_layer() {
        let codes: Vec<u16> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted, "ALL must list kinds in code order");
        assert!(codes.iter().all(|c| (100..900).contains(c)));
    }

    #[test]
    fn other_errors_report_their_kind() {
        let e = Error::new(ErrorKind::Replay, "timestamp did not increase");
        assert_eq!(e.kind(), ErrorKind::Replay);
        assert_eq!(e.code(), 205);
        assert_eq!(
            e.to_string(),
            "replayed handshake: timestamp did not increase"
        );
    }
}
