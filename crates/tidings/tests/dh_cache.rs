//! Servers keep the static-static DH of known devices (security.md, "The
//! static-static DH cache"): reconnects go through unchanged, only devices
//! the store knows enter, and a revoked device's value is dropped.

mod town;

use tidings::compress::pad;
use tidings::crypto::{IkInitiator, IkResponder, StaticKeypair, StaticStaticCache};
use tidings::frame::PROTOCOL_VERSION;
use tidings::proto::{self, Envelope, Hello, envelope::Body};
use tidings::session::{
    ClientConfig, ClientEvent, ClientSession, ClientState, HANDSHAKE_IK, ServerSession,
    SharedDhCache,
};
use tidings::store::DeviceRegistry;
use town::*;
use zeroize::Zeroizing;

fn cached_session(town: &Town, cache: &SharedDhCache, seed: u8, now: u64) -> ServerSession {
    town.server_session(seed, now).with_dh_cache(cache.clone())
}

/// Resumes `saved` against a fresh cached session; returns the new state.
fn resume(
    town: &mut Town,
    cache: &SharedDhCache,
    saved: &[u8],
    seed: u8,
    now: u64,
) -> Zeroizing<Vec<u8>> {
    let state = ClientState::from_bytes(saved).expect("restore");
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [seed; 32], now).expect("resume");
    client.confirm_state_saved();
    let mut server = cached_session(town, cache, seed.wrapping_add(1), now);
    pump(&mut client, &mut server, &mut town.store, now);
    let events = client_events(&mut client);
    assert!(
        client.is_established() || events.iter().any(|e| matches!(e, ClientEvent::Revoked)),
        "{events:?}"
    );
    client.state().to_bytes()
}

#[test]
fn reconnects_fill_the_cache_once_and_keep_working_from_it() {
    let mut town = Town::new();
    let cache = SharedDhCache::new(16);
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let mut saved = client.state().to_bytes();
    assert!(cache.is_empty(), "enrollment (XK) has no ss to keep");
    for (i, now) in [5_000u64, 6_000, 7_000].into_iter().enumerate() {
        saved = resume(&mut town, &cache, &saved, 20 + 2 * i as u8, now);
        assert_eq!(cache.len(), 1, "one device, one value, however often");
    }
}

#[test]
fn a_strangers_hello_leaves_the_cache_alone() {
    let town = Town::new();
    let cache = SharedDhCache::new(16);
    let stranger = StaticKeypair::from_secret_bytes([0x77; 32]);
    let mut early = Vec::new();
    pad(
        &proto::encode(&Envelope {
            body: Some(Body::Hello(Hello::default())),
        }),
        &mut early,
    );
    let mut body = vec![PROTOCOL_VERSION, HANDSHAKE_IK];
    IkInitiator::new(&stranger, town.server_public(), [0x78; 32], 1)
        .write_hello(&early, &mut body)
        .expect("hello");
    let mut frame = u16::try_from(body.len())
        .expect("small")
        .to_be_bytes()
        .to_vec();
    frame.extend_from_slice(&body);
    let mut store = town.store.clone();
    let mut server = cached_session(&town, &cache, 3, 1_000);
    let refused = server.handle_bytes(1_000, &frame, &mut store);
    assert!(refused.is_err(), "an unknown device is refused");
    assert!(cache.is_empty());
}

#[test]
fn a_revoked_device_is_dropped_whether_revoked_live_or_found_revoked() {
    let mut town = Town::new();
    let cache = SharedDhCache::new(16);

    // Revoked live, on its own session.
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let saved = client.state().to_bytes();
    let state = ClientState::from_bytes(&saved).expect("restore");
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [30; 32], 5_000).expect("resume");
    client.confirm_state_saved();
    let mut server = cached_session(&town, &cache, 31, 5_000);
    pump(&mut client, &mut server, &mut town.store, 5_000);
    assert_eq!(cache.len(), 1);
    server.revoke(5_100, &mut town.store).expect("revoke");
    assert!(cache.is_empty());

    // Revoked in the store while away: dropped at its next hello.
    let (client, _) = enroll(&mut town, MAYOR, 9, 6_000);
    let device = client.state().device_id();
    let saved = resume(&mut town, &cache, &client.state().to_bytes(), 40, 7_000);
    assert_eq!(cache.len(), 1);
    town.store.revoke(device).expect("revoke");
    resume(&mut town, &cache, &saved, 42, 8_000);
    assert!(cache.is_empty());
}

/// The cached value is exactly `DH(s, rs)`: the server's answer is the same
/// bytes with and without it, for the same ephemeral key.
#[test]
fn the_handshake_is_byte_identical_with_the_cache() {
    let server = StaticKeypair::from_secret_bytes([1; 32]);
    let device = StaticKeypair::from_secret_bytes([2; 32]);
    let mut hello = Vec::new();
    IkInitiator::new(&device, server.public_key(), [3; 32], 9)
        .write_hello(b"early", &mut hello)
        .expect("hello");
    let mut cache = StaticStaticCache::new(4);
    cache
        .insert(&server, &device.public_key())
        .expect("a real key");
    let answer = |cache: Option<&mut StaticStaticCache>| {
        let read = match cache {
            Some(cache) => IkResponder::new(&server, [4; 32])
                .read_hello_with(&hello, |key| cache.get(key))
                .expect("read"),
            None => IkResponder::new(&server, [4; 32])
                .read_hello(&hello)
                .expect("read"),
        };
        let mut out = Vec::new();
        read.accept(None, b"welcome", &mut out).expect("accept");
        out
    };
    assert_eq!(answer(Some(&mut cache)), answer(None));

    // A handshake that missed the cache hands over the `ss` it computed:
    // kept, it is the same value (the server keeps it without a second DH).
    let missed = IkResponder::new(&server, [4; 32])
        .read_hello(&hello)
        .expect("read");
    let computed = missed.static_static().expect("IK's hello has ss");
    assert_eq!(computed.peer_public(), device.public_key());
    let mut kept = StaticStaticCache::new(4);
    kept.keep(computed);
    assert_eq!(answer(Some(&mut kept)), answer(None));
}

/// The device's side: a kept pin sends the same hello, and one made for
/// another server is ignored, not trusted.
#[test]
fn a_pinned_resume_sends_the_same_hello_and_a_foreign_pin_is_ignored() {
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let saved = client.state().to_bytes();
    let state = || ClientState::from_bytes(&saved).expect("restore");
    let hello = |client: Result<ClientSession, _>| {
        let mut client = client.expect("resume");
        client.confirm_state_saved();
        client.poll_transmit().expect("hello")
    };
    let plain = hello(ClientSession::resume(
        ClientConfig::default(),
        state(),
        [8; 32],
        5_000,
    ));
    let pin = state().pin().expect("pin");
    let pinned = hello(ClientSession::resume_pinned(
        ClientConfig::default(),
        state(),
        &pin,
        [8; 32],
        5_000,
    ));
    assert_eq!(plain, pinned);
    let elsewhere = ClientState::new(
        [7; 32],
        StaticKeypair::from_secret_bytes([9; 32]).public_key(),
    )
    .pin()
    .expect("pin");
    let ignored = hello(ClientSession::resume_pinned(
        ClientConfig::default(),
        state(),
        &elsewhere,
        [8; 32],
        5_000,
    ));
    assert_eq!(plain, ignored);

    // And the pinned device reconnects through a cached server.
    let cache = SharedDhCache::new(4);
    for (seed, now) in [(50u8, 6_000u64), (52, 7_000)] {
        let mut client =
            ClientSession::resume_pinned(ClientConfig::default(), state(), &pin, [seed; 32], now)
                .expect("resume");
        client.confirm_state_saved();
        let mut server = cached_session(&town, &cache, seed + 1, now);
        pump(&mut client, &mut server, &mut town.store, now);
        assert!(client.is_established());
    }
    assert_eq!(cache.len(), 1);
}
