//! The two inputs the sans-IO core takes from the world: time and randomness.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (activation expiry and IK timestamps
/// are wall-clock values; session timers only compare them).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// `N` bytes from the operating system's secure random source.
///
/// # Panics
///
/// If the operating system has no random source: nothing secure can be
/// done without one, so the server refuses to continue.
pub fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("the OS random source failed");
    bytes
}
