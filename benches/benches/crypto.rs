//! Criterion benches, as ratios against the reference libraries in one run:
//!
//! - `ik_handshake`: a full IK handshake (both sides, in memory), Tidings
//!   (plain, and with precomputed static-static DH on both sides) vs snow.
//! - `ik_responder`: the server's half alone (read the hello, answer): what
//!   bounds a server's handshakes per second, Tidings vs snow.
//! - `transport/<size>`: seal + open of one message, Tidings vs snow's
//!   transport and raw aes-gcm (the limit).
//! - `x25519`: the two primitives that bound the handshake, for reference.
//!
//! Run: `cargo bench --bench crypto -- --warm-up-time 1 --measurement-time 3`

// `criterion_group!` generates undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tidings::crypto::{
    HandshakePattern, IkInitiator, PROTOCOL_VERSION, PinnedServer, StaticKeypair, prologue,
};
use tidings_benches::ik::{
    DEVICE, DEVICE_E, SERVER, hello, snow_ik, snow_responder, tidings_ik, tidings_responder,
};

fn handshake(c: &mut Criterion) {
    let device = StaticKeypair::from_secret_bytes(DEVICE);
    let server = StaticKeypair::from_secret_bytes(SERVER);
    let server_public = server.public_key();
    let prologue = prologue(PROTOCOL_VERSION, HandshakePattern::Ik);

    let pin = PinnedServer::new(&device, server_public).unwrap();
    let cache = server.static_static(&device.public_key()).unwrap();

    let mut group = c.benchmark_group("ik_handshake");
    // Long-lived keys are loaded once, as a server and a device do.
    group.bench_function("tidings", |b| {
        b.iter(|| {
            let initiator = IkInitiator::new(&device, server_public, DEVICE_E, 7);
            black_box(tidings_ik(initiator, &server, None))
        })
    });
    // Both sides also keep their static-static DH (device pin, server cache).
    group.bench_function("tidings_precomputed_ss", |b| {
        b.iter(|| {
            let initiator = IkInitiator::pinned(&pin, DEVICE_E, 7);
            black_box(tidings_ik(initiator, &server, Some(&cache)))
        })
    });
    // snow's builder takes private keys only, so it derives both static
    // public keys on every handshake.
    group.bench_function("snow", |b| {
        b.iter(|| black_box(snow_ik(&prologue, &server_public)))
    });
    group.finish();

    // The same hello bytes for both: same keys, prologue and payload.
    let hello = hello(&device, server_public);
    let mut group = c.benchmark_group("ik_responder");
    let mut response = Vec::new();
    group.bench_function("tidings", |b| {
        b.iter(|| black_box(tidings_responder(&server, black_box(&hello), &mut response)))
    });
    group.bench_function("snow", |b| {
        b.iter(|| black_box(snow_responder(&prologue, black_box(&hello))))
    });
    group.finish();
}

fn transport(c: &mut Criterion) {
    let device = StaticKeypair::from_secret_bytes(DEVICE);
    let server = StaticKeypair::from_secret_bytes(SERVER);
    let mut group = c.benchmark_group("transport");
    for size in [1024usize, 16 * 1024] {
        let plaintext = vec![0x5a; size];
        group.throughput(Throughput::Bytes(size as u64));

        let initiator = IkInitiator::new(&device, server.public_key(), DEVICE_E, 7);
        let (mut tx, mut rx) = tidings_ik(initiator, &server, None);
        let (mut wire, mut plain) = (Vec::with_capacity(size + 16), Vec::with_capacity(size));
        group.bench_with_input(BenchmarkId::new("tidings", size), &plaintext, |b, pt| {
            b.iter(|| {
                // Criterion may run millions of iterations: rekey as a real sender would.
                if tx.rekey_due(0) {
                    wire.clear();
                    tx.seal_rekey(0, &mut wire).unwrap();
                    let _ = rx.open(&wire, &mut plain).unwrap();
                }
                wire.clear();
                plain.clear();
                tx.seal(pt, &mut wire).unwrap();
                let _ = rx.open(&wire, &mut plain).unwrap();
                black_box(&plain);
            })
        });

        let prologue = prologue(PROTOCOL_VERSION, HandshakePattern::Ik);
        let (mut snow_tx, mut snow_rx) = snow_ik(&prologue, &server.public_key());
        let (mut sealed, mut opened) = (vec![0u8; size + 16], vec![0u8; size]);
        group.bench_with_input(BenchmarkId::new("snow", size), &plaintext, |b, pt| {
            b.iter(|| {
                let n = snow_tx.write_message(pt, &mut sealed).unwrap();
                let m = snow_rx.read_message(&sealed[..n], &mut opened).unwrap();
                black_box(&opened[..m]);
            })
        });

        let cipher = Aes256Gcm::new(&[0x66; 32].into());
        let mut buf = vec![0u8; size];
        let mut n = 0u64;
        group.bench_with_input(BenchmarkId::new("aes-gcm", size), &plaintext, |b, pt| {
            b.iter(|| {
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&n.to_be_bytes());
                n += 1;
                buf.copy_from_slice(pt);
                let tag = cipher
                    .encrypt_in_place_detached(&nonce.into(), &[], &mut buf)
                    .unwrap();
                cipher
                    .decrypt_in_place_detached(&nonce.into(), &[], &mut buf, &tag)
                    .unwrap();
                black_box(&buf);
            })
        });
    }
    group.finish();
}

/// The primitives that bound the handshake: IK runs 8 DH (4 per side) and
/// 2 fixed-base multiplications (the ephemeral public keys).
fn x25519(c: &mut Criterion) {
    let server = StaticKeypair::from_secret_bytes(SERVER);
    let device_public = StaticKeypair::from_secret_bytes(DEVICE).public_key();
    let mut group = c.benchmark_group("x25519");
    group.bench_function("keypair_from_secret", |b| {
        b.iter(|| black_box(StaticKeypair::from_secret_bytes(black_box(DEVICE_E))))
    });
    group.bench_function("diffie_hellman", |b| {
        b.iter(|| black_box(server.diffie_hellman(black_box(&device_public)).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, handshake, transport, x25519);
criterion_main!(benches);
