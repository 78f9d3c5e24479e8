//! What this process sent, counted for load tests and operators: frames
//! handed to the kernel, and when the last of them was; first pages held
//! back for a device's debt. Process-wide (every
//! server in the process adds to the same counters).

use std::sync::atomic::{AtomicU64, Ordering};

static FRAMES: AtomicU64 = AtomicU64::new(0);
static LAST_WRITE_MICROS: AtomicU64 = AtomicU64::new(0);
static CATCH_UPS_DEFERRED: AtomicU64 = AtomicU64::new(0);

/// Frames handed to the kernel (TCP) or to the WebSocket so far.
pub fn frames_sent() -> u64 {
    FRAMES.load(Ordering::Relaxed)
}

/// When the last frames were handed over, in microseconds since the Unix
/// epoch (0 before the first): with the time a change committed, how long
/// the server took to push it to every device.
pub fn last_write_unix_micros() -> u64 {
    LAST_WRITE_MICROS.load(Ordering::Relaxed)
}

/// Reconnects whose first pages waited until their device had repaid the
/// store time it owed (a device reconnecting in a loop), sent since.
pub fn catch_ups_deferred() -> u64 {
    CATCH_UPS_DEFERRED.load(Ordering::Relaxed)
}

/// Counts one reconnect's first pages sent late.
pub(super) fn caught_up_late() {
    CATCH_UPS_DEFERRED.fetch_add(1, Ordering::Relaxed);
}

/// Counts `frames` just handed over.
pub(super) fn wrote(frames: usize) {
    FRAMES.fetch_add(frames as u64, Ordering::Relaxed);
    LAST_WRITE_MICROS.fetch_max(unix_micros(), Ordering::Relaxed);
}

/// Now, in microseconds since the Unix epoch.
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
