//! Compression: Tidings' encode → pack → pad against raw flate2 on the same
//! input, and bytes per real mail item with and without the dictionary.
//!
//! Input: the real-body mail corpus (`tidings_benches::mail_corpus`, not
//! written by us), each message turned into a mail item with headers and a
//! 2 KB preview.

use criterion::{Criterion, Throughput, criterion_main};
use flate2::{Compress, Compression, FlushCompress};
use std::hint::black_box;
use tidings::compress::{PackOptions, pack, pad};
use tidings::proto::{self, Item};
use tidings_benches::real_items;

fn raw_deflate(item: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(item.len() + 64);
    let mut c = Compress::new(Compression::new(6), false);
    c.compress_vec(item, &mut out, FlushCompress::Finish)
        .expect("deflate");
    out
}

fn report_sizes(items: &[Vec<u8>]) {
    let raw: usize = items.iter().map(Vec::len).sum();
    let plain: usize = items
        .iter()
        .map(|i| {
            pack(
                i,
                &PackOptions {
                    dictionary: None,
                    ..PackOptions::default()
                },
            )
            .len()
        })
        .sum();
    let dict: usize = items
        .iter()
        .map(|i| pack(i, &PackOptions::default()).len())
        .sum();
    let n = items.len().max(1);
    println!(
        "bytes per real mail item over {} items: protobuf {}, packed {} (no dictionary), packed {} (dictionary v1): dictionary saves {:.1}%",
        items.len(),
        raw / n,
        plain / n,
        dict / n,
        100.0 * (plain as f64 - dict as f64) / plain as f64
    );
}

fn bench(c: &mut Criterion) {
    let items = real_items();
    report_sizes(&items);
    let decoded: Vec<Item> = items
        .iter()
        .map(|b| proto::decode(b).expect("item"))
        .collect();
    let total: usize = items.iter().map(Vec::len).sum();

    let mut group = c.benchmark_group("pack_real_mail");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("flate2_raw_deflate", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|i| raw_deflate(black_box(i)).len())
                .sum::<usize>()
        })
    });
    for (name, dictionary) in [
        ("tidings_encode_pack_pad", None),
        (
            "tidings_encode_pack_pad_dict",
            Some(tidings::compress::Dictionary::V1),
        ),
    ] {
        let options = PackOptions {
            dictionary,
            ..PackOptions::default()
        };
        group.bench_function(name, |b| {
            let mut out = Vec::new();
            b.iter(|| {
                let mut bytes = 0;
                for item in &decoded {
                    let packed = pack(&proto::encode(black_box(item)), &options);
                    out.clear();
                    pad(&packed, &mut out);
                    bytes += out.len();
                }
                bytes
            })
        });
    }
    group.finish();
}

// criterion's macro generates an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
