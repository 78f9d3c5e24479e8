//! One test per transport threat (see docs/security.md for the threat list).

mod common;

use common::{ik_pair, xk_pair};
use tidings::crypto::{MAX_PLAINTEXT_LEN, Opened, RekeyPolicy, Transport};
use tidings::error::ErrorKind;

fn sealed(from: &mut Transport, payloads: &[&[u8]]) -> Vec<Vec<u8>> {
    payloads
        .iter()
        .map(|p| {
            let mut wire = Vec::new();
            from.seal(p, &mut wire).unwrap();
            wire
        })
        .collect()
}

/// The peer's view after a failure: dead, counter untouched, buffer untouched.
fn assert_dead(t: &mut Transport, nonce: u64, good: &[u8]) {
    assert!(t.is_closed());
    assert_eq!(
        t.receive_nonce(),
        nonce,
        "a failed open must not advance the counter"
    );
    let mut out = b"prefix".to_vec();
    assert_eq!(
        t.open(good, &mut out).unwrap_err().kind(),
        ErrorKind::TransportClosed
    );
    assert_eq!(
        t.seal(b"x", &mut out).unwrap_err().kind(),
        ErrorKind::TransportClosed
    );
    assert_eq!(
        t.seal_rekey(0, &mut out).unwrap_err().kind(),
        ErrorKind::TransportClosed
    );
    assert_eq!(out, b"prefix");
    assert_eq!(t.receive_nonce(), nonce);
}

#[test]
fn bit_flip_then_valid_message_ends_the_session_without_advancing() {
    let (mut device, mut server) = ik_pair();
    let wire = sealed(&mut device, &[b"mail body"]).remove(0);
    for bit in [0, 7 * 8 + 3, wire.len() * 8 - 1] {
        let (mut device, mut server) = ik_pair();
        let wire = sealed(&mut device, &[b"mail body"]).remove(0);
        let mut bad = wire.clone();
        bad[bit / 8] ^= 1 << (bit % 8);
        let err = server.open(&bad, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DecryptFailed);
        assert_dead(&mut server, 0, &wire);
    }
    // Control: without the flip, the same message opens.
    assert_eq!(
        server.open(&wire, &mut Vec::new()).unwrap(),
        Opened::Payload
    );
}

#[test]
fn tag_failure_leaves_the_callers_buffer_unchanged() {
    let (mut device, mut server) = xk_pair();
    let mut wire = sealed(&mut device, &[&[0xAB; 4096]]).remove(0);
    let last = wire.len() - 1;
    wire[last] ^= 0x80;
    let mut out = Vec::with_capacity(8192);
    out.extend_from_slice(b"earlier plaintext");
    assert_eq!(
        server.open(&wire, &mut out).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
    assert_eq!(out, b"earlier plaintext");
}

#[test]
fn duplicated_message_ends_the_session() {
    let (mut device, mut server) = ik_pair();
    let wires = sealed(&mut device, &[b"one", b"two"]);
    assert_eq!(
        server.open(&wires[0], &mut Vec::new()).unwrap(),
        Opened::Payload
    );
    let err = server.open(&wires[0], &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DecryptFailed);
    assert_dead(&mut server, 1, &wires[1]);
}

#[test]
fn swapped_messages_end_the_session() {
    let (mut device, mut server) = ik_pair();
    let wires = sealed(&mut device, &[b"first", b"second"]);
    let err = server.open(&wires[1], &mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DecryptFailed);
    assert_dead(&mut server, 0, &wires[0]);
}

#[test]
fn dropped_message_ends_the_session() {
    let (mut device, mut server) = ik_pair();
    let wires = sealed(&mut device, &[b"first", b"second", b"third"]);
    assert_eq!(
        server.open(&wires[0], &mut Vec::new()).unwrap(),
        Opened::Payload
    );
    assert!(server.open(&wires[2], &mut Vec::new()).is_err());
    assert_dead(&mut server, 1, &wires[1]);
}

#[test]
fn truncated_or_oversized_messages_fail_opaquely() {
    let (mut device, _) = ik_pair();
    let wire = sealed(&mut device, &[b"hello"]).remove(0);
    let oversized = vec![0u8; 65_536];
    let cases: [&[u8]; 5] = [
        &wire[..wire.len() - 1],
        &wire[..16],
        &wire[..15],
        &[],
        &oversized,
    ];
    for case in cases {
        let (_, mut server) = ik_pair();
        assert_eq!(
            server.open(case, &mut Vec::new()).unwrap_err().kind(),
            ErrorKind::DecryptFailed
        );
        assert_dead(&mut server, 0, &wire);
    }
}

#[test]
fn seal_refuses_empty_and_oversized_payloads_without_side_effects() {
    let (mut device, mut server) = ik_pair();
    let mut out = b"x".to_vec();
    assert_eq!(
        device.seal(&[], &mut out).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let big = vec![0u8; MAX_PLAINTEXT_LEN + 1];
    assert_eq!(
        device.seal(&big, &mut out).unwrap_err().kind(),
        ErrorKind::MessageTooLarge
    );
    assert_eq!((out.as_slice(), device.send_nonce()), (&b"x"[..], 0));
    // The largest payload fits exactly in a 65,535-byte Noise message.
    let mut wire = Vec::new();
    device
        .seal(&vec![7u8; MAX_PLAINTEXT_LEN], &mut wire)
        .unwrap();
    assert_eq!(wire.len(), 65_535);
    assert_eq!(
        server.open(&wire, &mut Vec::new()).unwrap(),
        Opened::Payload
    );
}

#[test]
fn rekey_marker_keeps_both_sides_in_step_and_budgets_trigger_it() {
    let (mut device, mut server) = ik_pair();
    let policy = RekeyPolicy::DEFAULT.with_max_messages(7);
    device.set_rekey_policy(policy);
    server.set_rekey_policy(policy);
    let (mut now, mut rekeys, mut markers_seen) = (5_000u64, 0, 0);
    for i in 0..500u32 {
        now += 3;
        let (from, to) = if i % 3 == 0 {
            (&mut server, &mut device)
        } else {
            (&mut device, &mut server)
        };
        if from.rekey_due(now) {
            let mut marker = Vec::new();
            from.seal_rekey(now, &mut marker).unwrap();
            assert_eq!(marker.len(), 16);
            assert_eq!(to.open(&marker, &mut Vec::new()).unwrap(), Opened::Rekeyed);
            rekeys += 1;
            markers_seen += 1;
        }
        let payload = i.to_be_bytes();
        let (mut wire, mut plain) = (Vec::new(), Vec::new());
        from.seal(&payload, &mut wire).unwrap();
        assert_eq!(to.open(&wire, &mut plain).unwrap(), Opened::Payload);
        assert_eq!(plain, payload);
    }
    // The device seals 333 payloads and the server 167, 7 per key:
    // (333 - 1) / 7 + (167 - 1) / 7 = 47 + 23 rekeys.
    assert_eq!(rekeys, 70);
    assert_eq!(rekeys, markers_seen);
    assert_eq!(device.send_nonce(), server.receive_nonce());
    assert_eq!(server.send_nonce(), device.receive_nonce());
}

#[test]
fn time_budget_alone_triggers_a_rekey() {
    let (mut device, mut server) = ik_pair();
    device.set_rekey_policy(RekeyPolicy::DEFAULT.with_max_age_ms(60_000));
    assert!(!device.rekey_due(1_000_000)); // starts the key's clock
    assert!(!device.rekey_due(1_059_999));
    assert!(device.rekey_due(1_060_000));
    let mut marker = Vec::new();
    device.seal_rekey(1_060_000, &mut marker).unwrap();
    assert!(!device.rekey_due(1_060_001));
    assert_eq!(
        server.open(&marker, &mut Vec::new()).unwrap(),
        Opened::Rekeyed
    );
}

#[test]
fn default_policy_is_2_pow_20_messages_or_one_hour() {
    let policy = RekeyPolicy::default();
    assert_eq!(
        (policy.max_messages(), policy.max_age_ms()),
        (1 << 20, 3_600_000)
    );
    // No policy can exceed the hard AES-GCM limit.
    assert_eq!(
        policy.with_max_messages(u64::MAX).max_messages(),
        (1 << 23) - 1
    );
}

#[test]
fn messages_from_the_other_direction_do_not_open() {
    // Reflection: a device's own message sent back to it must fail.
    let (mut device, _server) = ik_pair();
    let wire = sealed(&mut device, &[b"to server"]).remove(0);
    assert_eq!(
        device.open(&wire, &mut Vec::new()).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
}
