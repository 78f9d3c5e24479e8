//! When to rekey a transport: a soft budget the integrator sets, and the hard
//! AES-GCM limit that no policy can lift.

/// The most messages one send key may seal, rekey marker included.
///
/// RFC 9001 §6.6 caps AES-GCM at 2^23 packets per key (its confidentiality
/// limit). Our messages may be larger than QUIC packets, up to 65,535 bytes
/// (2^12 AES blocks), so check the bound for that size too: 2^23 messages of
/// 2^12 blocks are 2^35 blocks, and the distinguishing advantage
/// (blocks)^2 / 2^129 is 2^70 / 2^129 = 2^-59, still under QUIC's 2^-57 target.
pub const MAX_MESSAGES_PER_KEY: u64 = 1 << 23;

/// The soft rekey budget: rekey after this many messages or this much time
/// under one send key, whichever comes first.
///
/// Defaults are safe (2^20 messages, one hour); tighten them to taste. The
/// message budget can never exceed [`MAX_MESSAGES_PER_KEY`]` - 1`: sealing past
/// the hard limit is refused whatever the policy says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RekeyPolicy {
    max_messages: u64,
    max_age_ms: u64,
}

impl RekeyPolicy {
    /// 2^20 messages or one hour per send key.
    pub const DEFAULT: RekeyPolicy = RekeyPolicy {
        max_messages: 1 << 20,
        max_age_ms: 60 * 60 * 1000,
    };

    /// Rekey after `max_messages` sealed messages (clamped to the hard limit,
    /// leaving room for the rekey marker itself).
    pub const fn with_max_messages(self, max_messages: u64) -> Self {
        let cap = MAX_MESSAGES_PER_KEY - 1;
        RekeyPolicy {
            max_messages: if max_messages < cap {
                max_messages
            } else {
                cap
            },
            ..self
        }
    }

    /// Rekey once a send key is `max_age_ms` milliseconds old.
    pub const fn with_max_age_ms(self, max_age_ms: u64) -> Self {
        RekeyPolicy { max_age_ms, ..self }
    }

    /// The message budget per send key.
    pub const fn max_messages(&self) -> u64 {
        self.max_messages
    }

    /// The time budget per send key, in milliseconds.
    pub const fn max_age_ms(&self) -> u64 {
        self.max_age_ms
    }

    /// Whether a key that has sealed `sent` messages since `started_ms` is due.
    pub(crate) const fn is_due(&self, sent: u64, started_ms: u64, now_ms: u64) -> bool {
        sent >= self.max_messages || now_ms.saturating_sub(started_ms) >= self.max_age_ms
    }
}

impl Default for RekeyPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}
