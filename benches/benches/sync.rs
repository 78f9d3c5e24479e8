//! Sync: a 10-change delta at 1,000 and at 1,000,000 items (goal: within 2x
//! of each other: time follows the changes, not the collection), and encoding
//! an initial sync page of 1,000 real mails.

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_main};
use std::hint::black_box;
use tidings::compress::{PackOptions, pack};
use tidings::proto::{self, Cursor, Envelope, envelope};
use tidings::sync::{ChangeLog, Delta, PageLimits};
use tidings_benches::real_items;

/// A log of `size` items, then 10 changes after the returned cursor.
fn log_with_recent_changes(size: u64) -> (ChangeLog, Cursor) {
    let mut log = ChangeLog::new(1, 1);
    let packed = Bytes::from(pack(b"\x12\x05hello", &PackOptions::default()));
    for id in 0..size {
        log.upsert(id, packed.clone(), 0);
    }
    let cursor = Cursor {
        collection_id: 1,
        epoch: 1,
        modseq: log.modseq(),
        ..Cursor::default()
    };
    for id in 0..10 {
        log.set_flags(id * 7, 1).expect("live item");
    }
    (log, cursor)
}

fn delta_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("delta_10_changes");
    for size in [1_000u64, 1_000_000] {
        let (log, cursor) = log_with_recent_changes(size);
        group.bench_with_input(BenchmarkId::from_parameter(size), &size, |b, _| {
            b.iter(
                || match log.delta(black_box(&cursor), &PageLimits::default()) {
                    Delta::Page(page) => proto::encode(&Envelope {
                        body: Some(envelope::Body::Delta(page)),
                    })
                    .len(),
                    Delta::Resync(_) => 0,
                },
            )
        });
    }
    group.finish();
}

fn initial_page(c: &mut Criterion) {
    let items = real_items();
    assert!(!items.is_empty(), "CPython's test_email data is needed");
    let mut log = ChangeLog::new(1, 1);
    for (id, item) in items.iter().cycle().take(1000).enumerate() {
        log.upsert(
            id as u64,
            Bytes::from(pack(item, &PackOptions::default())),
            0,
        );
    }
    let fresh = Cursor {
        collection_id: 1,
        ..Cursor::default()
    };
    let limits = PageLimits {
        max_items: 1000,
        max_bytes: usize::MAX,
    };
    c.bench_function("initial_page_1000_mails_delta_and_encode", |b| {
        b.iter(|| match log.delta(black_box(&fresh), &limits) {
            Delta::Page(page) => proto::encode(&Envelope {
                body: Some(envelope::Body::Delta(page)),
            })
            .len(),
            Delta::Resync(_) => 0,
        })
    });
}

// criterion's macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::delta_scaling, super::initial_page);
}
use group::benches;
criterion_main!(benches);
