//! Precomputed static-static DH (device pin, server cache) changes speed,
//! not bytes, and a value for the wrong keys is never used.

mod common;

use common::*;
use tidings::crypto::{IkInitiator, IkResponder, Opened, PinnedServer, StaticKeypair};

#[test]
fn pinned_and_unpinned_initiators_send_identical_bytes() {
    let (device, server) = (device_keys(), server_keys());
    let pin = PinnedServer::new(&device, server.public_key()).unwrap();
    assert_eq!(pin.server_public(), server.public_key());

    let (mut plain_hello, mut pinned_hello) = (Vec::new(), Vec::new());
    let plain = IkInitiator::new(&device, server.public_key(), counting(1), 9)
        .write_hello(b"early", &mut plain_hello)
        .unwrap();
    let pinned = IkInitiator::pinned(&pin, counting(1), 9)
        .write_hello(b"early", &mut pinned_hello)
        .unwrap();
    assert_eq!(plain_hello, pinned_hello);

    let mut response = Vec::new();
    let mut server_side = IkResponder::new(&server, counting(2))
        .read_hello(&pinned_hello)
        .unwrap()
        .accept(Some(8), b"hi", &mut response)
        .unwrap();
    let mut a = plain.read_response(&response, &mut Vec::new()).unwrap();
    let mut b = pinned.read_response(&response, &mut Vec::new()).unwrap();
    assert_eq!(a.handshake_hash(), b.handshake_hash());

    let (mut wire_a, mut wire_b) = (Vec::new(), Vec::new());
    a.seal(b"same", &mut wire_a).unwrap();
    b.seal(b"same", &mut wire_b).unwrap();
    assert_eq!(wire_a, wire_b);
    assert_eq!(
        server_side.open(&wire_b, &mut Vec::new()).unwrap(),
        Opened::Payload
    );
}

#[test]
fn server_cache_gives_the_same_response_and_is_asked_for_the_right_device() {
    let (device, server) = (device_keys(), server_keys());
    let cached = server.static_static(&device.public_key()).unwrap();
    let mut hello = Vec::new();
    IkInitiator::new(&device, server.public_key(), counting(1), 5)
        .write_hello(b"early", &mut hello)
        .unwrap();

    let respond = |use_cache: bool| {
        let mut asked = None;
        let received = IkResponder::new(&server, counting(2))
            .read_hello_with(&hello, |key| {
                asked = Some(*key);
                use_cache.then_some(&cached)
            })
            .unwrap();
        assert_eq!(asked, Some(device.public_key()));
        assert_eq!(received.early_payload(), b"early");
        let mut response = Vec::new();
        let t = received.accept(Some(4), b"r", &mut response).unwrap();
        (response, t.handshake_hash())
    };
    assert_eq!(respond(true), respond(false));
}

#[test]
fn a_precomputed_value_for_other_keys_is_ignored() {
    let (device, server) = (device_keys(), server_keys());
    let stranger = StaticKeypair::from_secret_bytes([0x77; 32]);
    // Computed by the server for another device: must not be used for this one.
    let wrong = server.static_static(&stranger.public_key()).unwrap();
    let mut hello = Vec::new();
    let sent = IkInitiator::new(&device, server.public_key(), counting(1), 5)
        .write_hello(b"", &mut hello)
        .unwrap();
    let received = IkResponder::new(&server, counting(2))
        .read_hello_with(&hello, |_| Some(&wrong))
        .unwrap();
    let mut response = Vec::new();
    let mut server_side = received.accept(None, b"", &mut response).unwrap();
    let mut device_side = sent.read_response(&response, &mut Vec::new()).unwrap();
    let mut wire = Vec::new();
    device_side.seal(b"ok", &mut wire).unwrap();
    assert_eq!(
        server_side.open(&wire, &mut Vec::new()).unwrap(),
        Opened::Payload
    );
}

#[test]
fn precomputed_values_never_print_their_secret() {
    let pin = PinnedServer::new(&device_keys(), server_keys().public_key()).unwrap();
    let cached = server_keys()
        .static_static(&device_keys().public_key())
        .unwrap();
    for shown in [format!("{pin:?}"), format!("{cached:?}")] {
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains(&hex::encode(counting(DEVICE_STATIC))));
        assert!(!shown.contains(&hex::encode(counting(SERVER_STATIC))));
    }
}
