//! Bytes on the wire, Tidings against JMAP and Exchange ActiveSync, on the
//! same real mail and calendars in the same run; printed as one JSON object
//! for `cargo xtask bench`, which renders `docs/performance.md`.
//!
//! - Tidings: a real enrolled device and server session over the in-memory
//!   loopback; every ciphertext byte, frame headers included, both ways.
//! - JMAP and ActiveSync: the bodies their encoders produce for the very
//!   items Tidings delivered, in HTTP/2 over TLS 1.3 (see
//!   `tidings_benches::peers`).
//! - The limit: each change's content deflated by raw flate2, sealed with
//!   a 16-byte tag and framed with 2 bytes, and nothing else.
//!
//! Also measured here: the peak memory of refusing a decompression bomb.
//!
//! Run: `cargo bench -p tidings-benches --bench wire_report`

mod costs;
mod day;
mod figures;
mod link;
mod tcp;

use serde_json::json;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use tidings::compress::{InflateLimits, inflate};
use tidings_benches::corpus::real_calendar_items;
use tidings_benches::mail_corpus::body_lengths;
use tidings_benches::peers::transport;
use tidings_benches::{cpython_messages, mail_messages};

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
        // The old and new blocks both count as live: the worst case of a move.
        grew(new_size);
        let out = unsafe { System.realloc(ptr, layout, new_size) };
        CURRENT.fetch_sub(layout.size(), Relaxed);
        out
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// 100 MB of zeros deflated (about 100 KB): a stream far past the 4 MiB cap
/// whose length is within the ratio cap, declared as large as the limits
/// allow. Inflating must stop just past that, within cap + 1 MiB of memory.
fn inflate_bomb() -> serde_json::Value {
    use std::io::Write;
    const EXPANDS_TO: usize = 100 << 20;
    let zeros = vec![0u8; 1 << 20];
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..EXPANDS_TO >> 20 {
        encoder.write_all(&zeros).expect("writing to a Vec");
    }
    let bomb = encoder.finish().expect("writing to a Vec");
    drop(zeros);
    let limits = InflateLimits::default();
    let declared = limits.allowed_output(bomb.len());
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let refused = inflate(&bomb, None, declared, &limits).is_err();
    let peak = PEAK.load(Relaxed) - base;
    json!({
        "compressed": bomb.len(),
        "expands_to": EXPANDS_TO,
        "declared": declared,
        "cap": limits.max_output,
        "refused": refused,
        "peak_bytes": peak,
    })
}

fn main() {
    let raw =
        |m: Vec<(String, Vec<u8>)>| -> Vec<Vec<u8>> { m.into_iter().map(|(_, r)| r).collect() };
    let messages = raw(mail_messages());
    // The small-body corpus the figures used before issue 20, kept as a
    // second column: CPython's email test messages (median body 18 chars).
    let small = raw(cpython_messages());
    assert!(
        !small.is_empty(),
        "CPython's test_email data is needed (python3 -c 'import test.test_email')"
    );
    let (events, files) = real_calendar_items();
    assert!(
        events.len() >= day::SEEDED_EVENTS + day::NEW_EVENTS,
        "the icalendar package's test calendars are needed (pip install icalendar==7.3.2)"
    );
    let report = json!({
        "corpus": {
            "mails": messages.len(),
            "bodies": body_lengths(&messages),
            "small_mails": small.len(),
            "small_bodies": body_lengths(&small),
            "calendar_items": events.len(),
            "calendar_files": files,
        },
        "assumptions": {
            "tls_record_overhead": transport::TLS_RECORD_OVERHEAD,
            "h2_frame_header": transport::H2_FRAME_HEADER,
            "h2_request_header_block": transport::H2_REQUEST_HEADER_BLOCK,
            "h2_response_header_block": transport::H2_RESPONSE_HEADER_BLOCK,
            "gzip_level": 6,
        },
        "figures": figures::per_change(&messages, &events),
        "initial_sync": figures::initial_sync(&messages),
        "small_body": {
            "figures": figures::mail_only(&small),
            "initial_sync": figures::initial_sync(&small),
        },
        "day": day::run(&messages, &events),
        "tcp": tcp::figures(&messages, &events),
        "inflate_bomb": inflate_bomb(),
    });
    println!("{report}");
}
