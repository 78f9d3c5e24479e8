//! Decompression bombs are stopped at the cap, with bounded memory.
//!
//! This file is its own test binary with a counting allocator, and holds a
//! single test, so that no other test's allocations disturb the peak.

use flate2::{Compress, Compression, FlushCompress};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use tidings::ErrorKind;
use tidings::compress::{InflateLimits, inflate, unpack};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call forwards to the system allocator unchanged; the counters
// only observe sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Count the old and new blocks as both live: the worst case of a move.
        grew(new_size);
        let out = unsafe { System.realloc(ptr, layout, new_size) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
        out
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Raw deflate of `total` zero bytes, made in 1 MiB steps so the test itself
/// never holds the expanded data.
fn zero_bomb(total: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut compressor = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(total / 1000 + 1024);
    let mut fed = 0;
    while fed < total {
        let step = zeros.len().min(total - fed);
        let flush = if fed + step == total {
            FlushCompress::Finish
        } else {
            FlushCompress::None
        };
        let before = compressor.total_in();
        while compressor.total_in() - before < step as u64 || flush == FlushCompress::Finish {
            let done = (compressor.total_in() - before) as usize;
            out.reserve(64 << 10);
            let status = compressor
                .compress_vec(&zeros[done..step], &mut out, flush)
                .expect("deflate of zeros");
            if status == flate2::Status::StreamEnd {
                break;
            }
        }
        fed += step;
    }
    out
}

/// Peak bytes allocated while running `f`, above what was live before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed) - base)
}

#[test]
fn bombs_are_refused_at_the_cap_with_bounded_memory() {
    const GIB: usize = 1 << 30;
    const MIB: usize = 1 << 20;
    let limits = InflateLimits::default();
    let cap = limits.max_output;

    // Deflate cannot beat about 1032:1, so 1 GiB of output needs ~1 MiB of input.
    let big = zero_bomb(GIB);
    assert!(big.len() < 1100 * 1024, "1 GiB bomb is {} bytes", big.len());
    // A ~10 KB stream expands to ~10 MB: already past the 4 MiB cap.
    let small = zero_bomb(10 * 1000 * 1000);
    assert!(
        small.len() < 11 * 1024,
        "10 MB bomb is {} bytes",
        small.len()
    );

    for bomb in [&big, &small] {
        // Honest declaration of the full size: refused before any allocation.
        let (result, peak) = peak_during(|| inflate(bomb, None, GIB, &limits));
        assert_eq!(result.map_err(|e| e.kind()), Err(ErrorKind::InflateLimit));
        assert!(peak < 4096, "refusal allocated {peak} bytes");

        // Declaring exactly the cap: inflating stops one byte past it.
        let (result, peak) = peak_during(|| inflate(bomb, None, cap, &limits));
        assert_eq!(result.map_err(|e| e.kind()), Err(ErrorKind::InflateLimit));
        assert!(peak < cap + MIB, "peak {peak} bytes for cap {cap}");

        // The same through the packed-item format with a small lie.
        let mut packed = vec![0x01];
        prost::encoding::encode_varint(1000, &mut packed);
        packed.extend_from_slice(bomb);
        let (result, peak) = peak_during(|| unpack(&packed, &limits));
        assert_eq!(result.map_err(|e| e.kind()), Err(ErrorKind::InflateLimit));
        assert!(
            peak < 64 * 1024,
            "peak {peak} bytes for a 1000-byte declaration"
        );
    }
}
