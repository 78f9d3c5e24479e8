//! One test per handshake threat (see docs/security.md for the threat list).

mod common;

use common::*;
use tidings::crypto::{
    HandshakePattern, HandshakeState, IkInitiator, IkResponder, Opened, StaticKeypair, XkInitiator,
    XkResponder, prologue,
};
use tidings::error::ErrorKind;

fn hello(timestamp: u64, ephemeral: u8) -> Vec<u8> {
    let mut out = Vec::new();
    IkInitiator::new(
        &device_keys(),
        server_keys().public_key(),
        counting(ephemeral),
        timestamp,
    )
    .write_hello(b"resume", &mut out)
    .unwrap();
    out
}

#[test]
fn replayed_ik_hello_is_refused_and_changes_nothing() {
    let server = server_keys();
    let first = hello(100, DEVICE_EPHEMERAL);
    let mut out = Vec::new();
    let accepted = IkResponder::new(&server, counting(SERVER_EPHEMERAL))
        .read_hello(&first)
        .unwrap();
    let last_seen = accepted.timestamp();
    accepted.accept(Some(99), b"", &mut out).unwrap();

    // The same bytes again, and an older or equal timestamp with a fresh ephemeral.
    for replay in [first.clone(), hello(100, 0x77), hello(42, 0x78)] {
        let received = IkResponder::new(&server, counting(0x99))
            .read_hello(&replay)
            .unwrap();
        let mut out = b"untouched".to_vec();
        let err = received
            .accept(Some(last_seen), b"welcome", &mut out)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Replay);
        assert_eq!(out, b"untouched");
    }
    // The next timestamp is fine.
    let fresh = IkResponder::new(&server, counting(0x99))
        .read_hello(&hello(101, 0x79))
        .unwrap();
    fresh.accept(Some(last_seen), b"", &mut Vec::new()).unwrap();
}

#[test]
fn another_version_or_tampered_prologue_fails_the_handshake() {
    let (device, server) = (device_keys(), server_keys());
    let mut tampered = prologue(1, HandshakePattern::Ik);
    tampered[0] ^= 0x20; // "tidings"
    let wrong_suite = prologue(1, HandshakePattern::Xk); // XK name in an IK handshake
    for bad in [
        prologue(2, HandshakePattern::Ik),
        prologue(0, HandshakePattern::Ik),
        tampered,
        wrong_suite,
        Vec::new(),
    ] {
        // A device speaking another prologue, against a Tidings v1 server.
        let mut init = HandshakeState::initiator(
            HandshakePattern::Ik,
            &bad,
            &device,
            counting(1),
            server.public_key(),
        );
        let mut msg = Vec::new();
        init.write_message(&1u64.to_be_bytes(), &mut msg).unwrap();
        let err = IkResponder::new(&server, counting(2))
            .read_hello(&msg)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DecryptFailed);

        // A server speaking another prologue, against a Tidings v1 device.
        let mut resp = HandshakeState::responder(HandshakePattern::Ik, &bad, &server, counting(2));
        let err = resp
            .read_message(&hello(1, DEVICE_EPHEMERAL), &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DecryptFailed);
    }
    // XK: the first message's (empty) payload is already authenticated.
    let mut init = HandshakeState::initiator(
        HandshakePattern::Xk,
        &prologue(2, HandshakePattern::Xk),
        &device,
        counting(1),
        server.public_key(),
    );
    let mut first = Vec::new();
    init.write_message(&[], &mut first).unwrap();
    let err = XkResponder::new(&server, counting(2))
        .respond(&first, &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DecryptFailed);
}

#[test]
fn a_server_without_the_pinned_key_cannot_answer() {
    let impostor = StaticKeypair::from_secret_bytes([0x55; 32]);
    let msg = hello(1, DEVICE_EPHEMERAL);
    let err = IkResponder::new(&impostor, counting(SERVER_EPHEMERAL))
        .read_hello(&msg)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DecryptFailed);

    let mut first = Vec::new();
    let started = XkInitiator::new(&device_keys(), server_keys().public_key(), counting(1))
        .start(&mut first)
        .unwrap();
    let err = XkResponder::new(&impostor, counting(2))
        .respond(&first, &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DecryptFailed);
    // Nor can it forge a reply: the code is never sent.
    let mut reply = Vec::new();
    let mut fake = HandshakeState::responder(
        HandshakePattern::Xk,
        &tidings_prologue(HandshakePattern::Xk),
        &impostor,
        counting(2),
    );
    assert!(fake.read_message(&first, &mut Vec::new()).is_err());
    reply.extend_from_slice(&first); // any 48 bytes
    let mut out = Vec::new();
    assert!(started.finish(&reply, b"SECRET-CODE", &mut out).is_err());
    assert!(out.is_empty());
}

#[test]
fn tampered_or_truncated_handshake_messages_fail_without_panicking() {
    let msg = hello(1, DEVICE_EPHEMERAL);
    for len in 0..msg.len() {
        assert!(
            IkResponder::new(&server_keys(), counting(2))
                .read_hello(&msg[..len])
                .is_err(),
            "len {len}"
        );
    }
    for byte in 32..msg.len() {
        let mut bad = msg.clone();
        bad[byte] ^= 1;
        let err = IkResponder::new(&server_keys(), counting(2))
            .read_hello(&bad)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DecryptFailed, "byte {byte}");
    }
    let too_long = vec![0u8; 65_536];
    let err = IkResponder::new(&server_keys(), counting(2))
        .read_hello(&too_long)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeMalformed);
}

#[test]
fn activation_code_is_encrypted_and_not_a_psk() {
    // Same keys and ephemerals, two different codes.
    let run = |code: &[u8]| {
        let (mut m1, mut m2, mut m3) = (Vec::new(), Vec::new(), Vec::new());
        let started = XkInitiator::new(&device_keys(), server_keys().public_key(), counting(1))
            .start(&mut m1)
            .unwrap();
        let responded = XkResponder::new(&server_keys(), counting(2))
            .respond(&m1, &mut m2)
            .unwrap();
        let device = started.finish(&m2, code, &mut m3).unwrap();
        let enrollment = responded.read_enrollment(&m3).unwrap();
        assert_eq!(enrollment.activation_code(), code);
        assert!(
            !m3.windows(code.len()).any(|w| w == code),
            "code visible on the wire"
        );
        assert!(
            !m3.windows(32).any(|w| w == device_keys().public_key()),
            "device key visible"
        );
        (device, enrollment.accept().unwrap())
    };
    let (mut device_a, _) = run(b"CODE-AAAA");
    let (_, mut server_b) = run(b"CODE-BBBB");
    // The code does not reach the key schedule: the transports still agree.
    let mut wire = Vec::new();
    device_a.seal(b"same keys", &mut wire).unwrap();
    assert_eq!(
        server_b.open(&wire, &mut Vec::new()).unwrap(),
        Opened::Payload
    );
}

#[test]
fn device_identity_is_hidden_in_the_ik_hello() {
    let msg = hello(1, DEVICE_EPHEMERAL);
    assert!(!msg.windows(32).any(|w| w == device_keys().public_key()));
}

#[test]
fn out_of_order_calls_and_bad_payloads_are_refused() {
    let (device, server) = (device_keys(), server_keys());
    let mut resp = HandshakeState::responder(HandshakePattern::Ik, &[], &server, counting(2));
    assert_eq!(
        resp.write_message(&[], &mut Vec::new()).unwrap_err().kind(),
        ErrorKind::HandshakeOutOfOrder
    );
    let unfinished = HandshakeState::responder(HandshakePattern::Ik, &[], &server, counting(2));
    assert_eq!(
        unfinished.split().unwrap_err().kind(),
        ErrorKind::HandshakeOutOfOrder
    );
    // After a failure the state is dead.
    assert!(resp.read_message(&[0; 10], &mut Vec::new()).is_err());
    assert_eq!(
        resp.read_message(&[0; 96], &mut Vec::new())
            .unwrap_err()
            .kind(),
        ErrorKind::HandshakeOutOfOrder
    );

    // XK first message with a payload, from a generic Noise initiator.
    let xk = tidings_prologue(HandshakePattern::Xk);
    let mut init = HandshakeState::initiator(
        HandshakePattern::Xk,
        &xk,
        &device,
        counting(1),
        server.public_key(),
    );
    let mut first = Vec::new();
    init.write_message(b"surprise", &mut first).unwrap();
    let err = XkResponder::new(&server, counting(2))
        .respond(&first, &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeMalformed);

    // An IK hello too short to hold a timestamp.
    let ik = tidings_prologue(HandshakePattern::Ik);
    let mut init = HandshakeState::initiator(
        HandshakePattern::Ik,
        &ik,
        &device,
        counting(1),
        server.public_key(),
    );
    let mut msg = Vec::new();
    init.write_message(&[1, 2, 3], &mut msg).unwrap();
    let err = IkResponder::new(&server, counting(2))
        .read_hello(&msg)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeMalformed);

    // Oversized early payloads and bad activation codes are refused up front.
    let big = vec![0u8; tidings::crypto::ik::MAX_EARLY_PAYLOAD_LEN + 1];
    let mut out = Vec::new();
    let err = IkInitiator::new(&device, server.public_key(), counting(1), 1)
        .write_hello(&big, &mut out)
        .unwrap_err();
    assert_eq!((err.kind(), out.len()), (ErrorKind::MessageTooLarge, 0));
    let mut first = Vec::new();
    let started = XkInitiator::new(&device, server.public_key(), counting(1))
        .start(&mut first)
        .unwrap();
    let err = started.finish(&[0; 48], b"", &mut out).unwrap_err();
    assert_eq!((err.kind(), out.len()), (ErrorKind::InvalidArgument, 0));
}
