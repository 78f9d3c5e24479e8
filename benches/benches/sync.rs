//! Sync: a 10-change delta at 1,000 and at 1,000,000 items (goal: within 2x
//! of each other: time follows the changes, not the collection), encoding
//! an initial sync page of 1,000 real mails, and applying those 1,000 mails
//! on the device: Tidings' replica against a JMAP client's gunzip and JSON
//! parse of the same mails, and raw flate2 inflate of the packed items (the
//! limit).

use bytes::Bytes;
use criterion::BatchSize;
use criterion::{BenchmarkId, Criterion, criterion_main};
use flate2::{Decompress, FlushDecompress};
use std::hint::black_box;
use std::io::Read;
use tidings::compress::{InflateLimits, PackOptions, pack};
use tidings::proto::{self, Cursor, Envelope, Item, MailItem, envelope, item};
use tidings::sync::mail::{MailItemOptions, mail_item_from_message};
use tidings::sync::{ChangeLog, CollectionReplica, Delta, PageLimits};
use tidings_benches::peers::{jmap, transport::gzip};
use tidings_benches::{mail_messages, real_items};

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
        patches: false,
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

/// 1,000 real mails (the real-body corpus, cycled) as the server's core
/// converter makes them.
fn thousand_mails() -> Vec<MailItem> {
    mail_messages()
        .iter()
        .cycle()
        .take(1000)
        .enumerate()
        .map(|(n, (_, raw))| {
            let options = MailItemOptions {
                id: n as u64 + 1,
                folder_id: 1,
                ..MailItemOptions::default()
            };
            mail_item_from_message(raw, &options).expect("a real message")
        })
        .collect()
}

fn client_apply(c: &mut Criterion) {
    let mails = thousand_mails();
    let mut log = ChangeLog::new(1, 1);
    for mail in &mails {
        let packed = pack(
            &proto::encode(&Item {
                kind: Some(item::Kind::Mail(mail.clone())),
            }),
            &PackOptions::default(),
        );
        log.upsert(mail.id, Bytes::from(packed), 0);
    }
    let fresh = Cursor {
        collection_id: 1,
        ..Cursor::default()
    };
    let limits = PageLimits {
        max_items: 1000,
        max_bytes: usize::MAX,
        patches: false,
    };
    let Delta::Page(page) = log.delta(&fresh, &limits) else {
        unreachable!("a fresh cursor is served");
    };
    // `cargo xtask bench` times the same page's apply in WASM under Node.
    if let Some(path) = std::env::var_os("TIDINGS_BENCH_PAGE_OUT") {
        std::fs::write(&path, proto::encode(&page)).expect("write the page for the WASM bench");
    }
    let responses: Vec<Vec<u8>> = mails
        .chunks(50)
        .map(|batch| {
            let list: Vec<(&MailItem, u32)> = batch.iter().map(|m| (m, 0)).collect();
            gzip(&jmap::get_response(&list, 2))
        })
        .collect();
    let inflate_limits = InflateLimits::default();

    let mut group = c.benchmark_group("client_apply_1000_mails");
    group.sample_size(20);
    group.bench_function("tidings_replica", |b| {
        b.iter_batched(
            || CollectionReplica::new(1),
            |mut replica| {
                replica
                    .apply(black_box(&page), &inflate_limits)
                    .expect("applies");
                replica
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("jmap_gunzip_json", |b| {
        let mut json = Vec::new();
        b.iter(|| {
            responses
                .iter()
                .map(|gz| {
                    json.clear();
                    flate2::read::GzDecoder::new(&gz[..])
                        .read_to_end(&mut json)
                        .expect("our own gzip");
                    let value: serde_json::Value =
                        serde_json::from_slice(&json).expect("our own JSON");
                    value["methodResponses"][0][1]["list"]
                        .as_array()
                        .map_or(0, Vec::len)
                })
                .sum::<usize>()
        })
    });
    // The limit: inflating the packed items, decoding nothing.
    group.bench_function("flate2_raw_inflate", |b| {
        let mut out = Vec::with_capacity(64 << 10);
        b.iter(|| {
            let mut total = 0;
            for upsert in &page.upserts {
                // Packed: a flag byte, the inflated length, raw deflate;
                // or a zero flag byte and the item as it is.
                if upsert.packed[0] & 1 == 0 {
                    total += upsert.packed.len() - 1;
                    continue;
                }
                let mut body = &upsert.packed[1..];
                let len = prost::encoding::decode_varint(&mut body).expect("packed") as usize;
                out.clear();
                out.reserve(len);
                let mut inflater = Decompress::new(false);
                if upsert.packed[0] & 0b110 != 0 {
                    inflater
                        .set_dictionary(tidings::compress::Dictionary::V1.bytes())
                        .expect("raw deflate takes a dictionary");
                }
                inflater
                    .decompress_vec(body, &mut out, FlushDecompress::Finish)
                    .expect("our own deflate");
                total += out.len();
            }
            total
        })
    });
    group.finish();
}

// criterion's macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(
        benches,
        super::delta_scaling,
        super::initial_page,
        super::client_apply
    );
}
use group::benches;
criterion_main!(benches);
