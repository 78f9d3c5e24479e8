//! Criterion benches, as ratios against the reference libraries in one run:
//!
//! - `ik_handshake`: a full IK handshake (both sides, in memory), Tidings
//!   without and with the static-static DH cache on both sides (what the
//!   sessions do: the device's pin, the server's cache of 4,096 devices)
//!   vs snow.
//! - `ik_responder`: the server's half alone (read the hello, answer): what
//!   bounds a server's handshakes per second, Tidings (without and with the
//!   cache) vs snow.
//! - `transport/<size>`: seal + open of one message, Tidings vs snow's
//!   transport, raw aes-gcm (0.11, which the core uses, and 0.10, which snow
//!   uses) and ring (assembly AES-GCM: the limit, measured, not adopted).
//! - `x25519`: the two primitives that bound the handshake, for reference.
//!
//! Run: `cargo bench --bench crypto -- --warm-up-time 1 --measurement-time 3`

// `criterion_group!` generates undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;

use aes_gcm::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tidings::crypto::{
    DEFAULT_DH_CACHE_CAPACITY, HandshakePattern, IkInitiator, PROTOCOL_VERSION, PinnedServer,
    StaticKeypair, prologue,
};
use tidings_benches::ik::{
    DEVICE, DEVICE_E, SERVER, full_cache, hello, snow_ik, snow_responder, tidings_ik,
    tidings_responder, tidings_responder_cached,
};

fn handshake(c: &mut Criterion) {
    let device = StaticKeypair::from_secret_bytes(DEVICE);
    let server = StaticKeypair::from_secret_bytes(SERVER);
    let server_public = server.public_key();
    let prologue = prologue(PROTOCOL_VERSION, HandshakePattern::Ik);

    let pin = PinnedServer::new(&device, server_public).unwrap();
    let mut cache = full_cache(&server, DEFAULT_DH_CACHE_CAPACITY);

    let mut group = c.benchmark_group("ik_handshake");
    // Long-lived keys are loaded once, as a server and a device do.
    group.bench_function("tidings", |b| {
        b.iter(|| {
            let initiator = IkInitiator::new(&device, server_public, DEVICE_E, 7);
            black_box(tidings_ik(initiator, &server, None))
        })
    });
    // As the sessions run it: the device resumes with its pin, the server
    // finds the device in its cache.
    group.bench_function("tidings_precomputed_ss", |b| {
        b.iter(|| {
            let initiator = IkInitiator::pinned(&pin, DEVICE_E, 7);
            black_box(tidings_ik(initiator, &server, Some(&mut cache)))
        })
    });
    // snow's builder takes private keys only, so it derives both static
    // public keys on every handshake.
    group.bench_function("snow", |b| {
        b.iter(|| black_box(snow_ik(&prologue, &server_public)))
    });
    group.finish();

    // The same hello bytes for all: same keys, prologue and payload.
    let hello = hello(&device, server_public);
    let mut group = c.benchmark_group("ik_responder");
    let mut response = Vec::new();
    group.bench_function("tidings", |b| {
        b.iter(|| black_box(tidings_responder(&server, black_box(&hello), &mut response)))
    });
    group.bench_function("tidings_cached", |b| {
        b.iter(|| {
            black_box(tidings_responder_cached(
                &server,
                black_box(&hello),
                &mut response,
                &mut cache,
            ))
        })
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
                let nonce = nonce(&mut n);
                buf.copy_from_slice(pt);
                let tag = cipher
                    .encrypt_inout_detached(&nonce.into(), &[], buf.as_mut_slice().into())
                    .unwrap();
                cipher
                    .decrypt_inout_detached(&nonce.into(), &[], buf.as_mut_slice().into(), &tag)
                    .unwrap();
                black_box(&buf);
            })
        });

        // The release snow 0.9 uses, and the core used before 0.11.
        {
            use aes_gcm_010::aead::AeadInPlace;
            use aes_gcm_010::{Aes256Gcm, KeyInit};
            let cipher = Aes256Gcm::new(&[0x66; 32].into());
            group.bench_with_input(
                BenchmarkId::new("aes-gcm-0.10", size),
                &plaintext,
                |b, pt| {
                    b.iter(|| {
                        let nonce = nonce(&mut n);
                        buf.copy_from_slice(pt);
                        let tag = cipher
                            .encrypt_in_place_detached(&nonce.into(), &[], &mut buf)
                            .unwrap();
                        cipher
                            .decrypt_in_place_detached(&nonce.into(), &[], &mut buf, &tag)
                            .unwrap();
                        black_box(&buf);
                    })
                },
            );
        }

        let ring_key = ring_key();
        let mut sealed = Vec::with_capacity(size + 16);
        group.bench_with_input(BenchmarkId::new("ring", size), &plaintext, |b, pt| {
            b.iter(|| {
                let nonce = nonce(&mut n);
                sealed.clear();
                sealed.extend_from_slice(pt);
                ring_key
                    .seal_in_place_append_tag(
                        ring::aead::Nonce::assume_unique_for_key(nonce),
                        ring::aead::Aad::empty(),
                        &mut sealed,
                    )
                    .unwrap();
                let opened = ring_key
                    .open_in_place(
                        ring::aead::Nonce::assume_unique_for_key(nonce),
                        ring::aead::Aad::empty(),
                        &mut sealed,
                    )
                    .unwrap();
                black_box(opened);
            })
        });
    }
    group.finish();
}

/// Noise's AESGCM nonce for counter `n`, which then advances.
fn nonce(n: &mut u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&n.to_be_bytes());
    *n += 1;
    nonce
}

fn ring_key() -> ring::aead::LessSafeKey {
    let key = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &[0x66; 32]).unwrap();
    ring::aead::LessSafeKey::new(key)
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
