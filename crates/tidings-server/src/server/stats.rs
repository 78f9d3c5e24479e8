//! What this process sent, counted for load tests and operators: frames
//! handed to the kernel, and when the last of them was. Process-wide (every
//! server in the process adds to the same counters).

use std::sync::atomic::{AtomicU64, Ordering};

static FRAMES: AtomicU64 = AtomicU64::new(0);
static LAST_WRITE_MICROS: AtomicU64 = AtomicU64::new(0);

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
