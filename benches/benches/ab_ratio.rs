//! Interleaved A/B ratios, for machines shared with other work.
//!
//! Criterion measures one benchmark after another, so load that changes
//! between them skews a ratio. Here A and B alternate in short rounds and the
//! median of the per-round ratios is reported, which cancels slow drift; each
//! round is timed in this thread's CPU time, so waiting for a core on a loaded
//! machine is not counted either.
//!
//! Run: `cargo bench --bench ab_ratio`

// A bench binary: it prints, and unwraps setup that cannot fail.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes_gcm::AeadInOut;
use aes_gcm::{Aes256Gcm, KeyInit};
use flate2::{Compress, Compression, FlushCompress};
use tidings::compress::{PackOptions, pack, pad};
use tidings::crypto::{
    DEFAULT_DH_CACHE_CAPACITY, HandshakePattern, IkInitiator, IkResponder, PROTOCOL_VERSION,
    PinnedServer, StaticKeypair, StaticStaticCache, prologue,
};
use tidings::proto::{self, Item};
use tidings_benches::ik::{
    full_cache, hello, snow_ik, snow_responder, tidings_ik, tidings_responder,
    tidings_responder_cached,
};
use tidings_benches::real_items;

const ROUNDS: usize = 41;

/// Nanoseconds this thread has spent on a CPU (`CLOCK_THREAD_CPUTIME_ID`,
/// exact to the nanosecond, unlike schedstat's tick-bounded count).
#[allow(unsafe_code)]
fn on_cpu_ns() -> Option<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call's duration.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u64::try_from(now.tv_nsec).ok()?;
    (status == 0).then(|| secs * 1_000_000_000 + nanos)
}

/// Time of `iters` calls: on-CPU time where the kernel reports it, so that
/// time the thread waits for a core (other builds, other benches) is not
/// counted; wall time otherwise.
fn time<F: FnMut()>(iters: u32, mut f: F) -> Duration {
    let (start, cpu) = (Instant::now(), on_cpu_ns());
    for _ in 0..iters {
        f();
    }
    match (cpu, on_cpu_ns()) {
        (Some(a), Some(b)) if b > a => Duration::from_nanos(b - a),
        _ => start.elapsed(),
    }
}

/// Median over rounds of time(a) / time(b).
fn ratio(name: &str, iters: u32, mut a: impl FnMut(), mut b: impl FnMut()) {
    let mut ratios: Vec<f64> = (0..ROUNDS)
        .map(|_| time(iters, &mut a).as_secs_f64() / time(iters, &mut b).as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let (lo, mid, hi) = (
        ratios[ROUNDS / 4],
        ratios[ROUNDS / 2],
        ratios[3 * ROUNDS / 4],
    );
    println!("{name:<40} median {mid:.3}  (quartiles {lo:.3} .. {hi:.3})");
}

fn main() {
    let device = StaticKeypair::from_secret_bytes([0x11; 32]);
    let server = StaticKeypair::from_secret_bytes([0x22; 32]);
    let server_public = server.public_key();
    let pin = PinnedServer::new(&device, server_public).unwrap();
    let prologue = prologue(PROTOCOL_VERSION, HandshakePattern::Ik);

    // A server's full cache, as the sessions use it.
    let mut cache = full_cache(&server, DEFAULT_DH_CACHE_CAPACITY);

    let tidings = |initiator: IkInitiator, cache: Option<&mut StaticStaticCache>| {
        black_box(tidings_ik(initiator, &server, cache));
    };
    let snow = || {
        black_box(snow_ik(&prologue, &server_public));
    };

    println!("time ratio, Tidings / reference (lower is faster)");
    ratio(
        "ik_handshake: tidings / snow",
        20,
        || {
            tidings(
                IkInitiator::new(&device, server_public, [0x33; 32], 7),
                None,
            )
        },
        snow,
    );
    ratio(
        "ik_handshake: tidings_precomputed_ss / snow",
        20,
        || tidings(IkInitiator::pinned(&pin, [0x33; 32], 7), Some(&mut cache)),
        snow,
    );

    let hello = hello(&device, server_public);
    let mut response = Vec::new();
    ratio(
        "ik_responder: tidings / snow",
        20,
        || {
            black_box(tidings_responder(&server, &hello, &mut response));
        },
        || {
            black_box(snow_responder(&prologue, &hello));
        },
    );
    ratio(
        "ik_responder: tidings_cached / snow",
        20,
        || {
            black_box(tidings_responder_cached(
                &server,
                &hello,
                &mut response,
                &mut cache,
            ));
        },
        || {
            black_box(snow_responder(&prologue, &hello));
        },
    );

    for size in [1024usize, 16 * 1024] {
        let (mut hello, mut response) = (Vec::new(), Vec::new());
        let sent = IkInitiator::new(&device, server_public, [0x33; 32], 7)
            .write_hello(b"", &mut hello)
            .unwrap();
        let mut rx = IkResponder::new(&server, [0x44; 32])
            .read_hello(&hello)
            .unwrap()
            .accept(None, b"", &mut response)
            .unwrap();
        let mut tx = sent.read_response(&response, &mut Vec::new()).unwrap();
        let plaintext = vec![0x5a; size];
        let (mut wire, mut plain) = (Vec::with_capacity(size + 16), Vec::with_capacity(size));
        let cipher = Aes256Gcm::new(&[0x66; 32].into());
        let (mut buf, mut n) = (vec![0u8; size], 0u64);
        let iters = (4 * 1024 * 1024 / size) as u32;
        let mut tidings = || {
            if tx.rekey_due(0) {
                wire.clear();
                tx.seal_rekey(0, &mut wire).unwrap();
                let _ = rx.open(&wire, &mut plain).unwrap();
            }
            wire.clear();
            plain.clear();
            tx.seal(&plaintext, &mut wire).unwrap();
            let _ = rx.open(&wire, &mut plain).unwrap();
            black_box(&plain);
        };
        ratio(
            &format!("transport {size} B: tidings / aes-gcm"),
            iters,
            &mut tidings,
            || {
                let mut nonce = [0u8; 12];
                nonce[4..].copy_from_slice(&n.to_be_bytes());
                n += 1;
                buf.copy_from_slice(&plaintext);
                let tag = cipher
                    .encrypt_inout_detached(&nonce.into(), &[], buf.as_mut_slice().into())
                    .unwrap();
                cipher
                    .decrypt_inout_detached(&nonce.into(), &[], buf.as_mut_slice().into(), &tag)
                    .unwrap();
                black_box(&buf);
            },
        );
        let (mut snow_tx, mut snow_rx) = snow_ik(&prologue, &server_public);
        let (mut sealed, mut opened) = (vec![0u8; size + 16], vec![0u8; size]);
        ratio(
            &format!("transport {size} B: tidings / snow"),
            iters,
            &mut tidings,
            || {
                let n = snow_tx.write_message(&plaintext, &mut sealed).unwrap();
                let m = snow_rx.read_message(&sealed[..n], &mut opened).unwrap();
                black_box(&opened[..m]);
            },
        );
    }

    // Compression of the same real mail items: Tidings' encode + pack + pad
    // (as shipped, with the dictionary) against raw flate2 deflate.
    let items = real_items();
    let decoded: Vec<Item> = items.iter().map(|b| proto::decode(b).unwrap()).collect();
    let options = PackOptions::default();
    let mut out = Vec::new();
    ratio(
        "pack real mail: tidings / flate2",
        4,
        || {
            for item in &decoded {
                let packed = pack(&proto::encode(black_box(item)), &options);
                out.clear();
                pad(&packed, &mut out);
                black_box(&out);
            }
        },
        || {
            for item in &items {
                let mut deflated = Vec::with_capacity(item.len() + 64);
                Compress::new(Compression::new(6), false)
                    .compress_vec(black_box(item), &mut deflated, FlushCompress::Finish)
                    .unwrap();
                black_box(&deflated);
            }
        },
    );
}
