//! Property tests: round trips for any payloads, and no panic on any input.

mod common;

use common::*;
use proptest::prelude::*;
use tidings::crypto::{
    HandshakePattern, HandshakeState, IkInitiator, IkResponder, Opened, XkInitiator, XkResponder,
};
use tidings::error::ErrorKind;

/// One step of a conversation: who sends, what, and whether a rekey marker goes first.
fn step() -> impl Strategy<Value = (bool, Vec<u8>, bool)> {
    (
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 1..2048),
        prop::bool::weighted(0.1),
    )
}

fn pattern() -> impl Strategy<Value = HandshakePattern> {
    prop_oneof![Just(HandshakePattern::Ik), Just(HandshakePattern::Xk)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_payload_sequence_round_trips_in_order(steps in prop::collection::vec(step(), 0..40)) {
        let (mut device, mut server) = ik_pair();
        for (to_server, payload, rekey_first) in steps {
            let (from, to) = if to_server { (&mut device, &mut server) } else { (&mut server, &mut device) };
            if rekey_first {
                let mut marker = Vec::new();
                from.seal_rekey(0, &mut marker).unwrap();
                prop_assert_eq!(to.open(&marker, &mut Vec::new()).unwrap(), Opened::Rekeyed);
            }
            let (mut wire, mut plain) = (Vec::new(), b"pre".to_vec());
            from.seal(&payload, &mut wire).unwrap();
            prop_assert_eq!(wire.len(), payload.len() + 16);
            prop_assert_eq!(to.open(&wire, &mut plain).unwrap(), Opened::Payload);
            prop_assert_eq!(&plain[3..], &payload[..]);
        }
    }

    #[test]
    fn generic_handshakes_carry_arbitrary_payloads(
        pattern in pattern(),
        prologue in prop::collection::vec(any::<u8>(), 0..64),
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 3),
        eph in any::<(u8, u8)>(),
    ) {
        let (device, server) = (device_keys(), server_keys());
        let mut init = HandshakeState::initiator(pattern, &prologue, &device, counting(eph.0), server.public_key());
        let mut resp = HandshakeState::responder(pattern, &prologue, &server, counting(eph.1));
        for (i, payload) in payloads.iter().take(pattern.message_count()).enumerate() {
            let (w, r) = if i % 2 == 0 { (&mut init, &mut resp) } else { (&mut resp, &mut init) };
            prop_assert!(w.is_my_turn() && !r.is_my_turn());
            let (mut wire, mut plain) = (Vec::new(), Vec::new());
            w.write_message(payload, &mut wire).unwrap();
            r.read_message(&wire, &mut plain).unwrap();
            prop_assert_eq!(&plain, payload);
        }
        prop_assert_eq!(init.handshake_hash(), resp.handshake_hash());
        prop_assert_eq!(resp.remote_static(), Some(device.public_key()));
        let (mut a, mut b) = (init.into_transport().unwrap(), resp.into_transport().unwrap());
        let mut wire = Vec::new();
        a.seal(b"after", &mut wire).unwrap();
        prop_assert_eq!(b.open(&wire, &mut Vec::new()).unwrap(), Opened::Payload);
    }

    #[test]
    fn tidings_handshakes_carry_arbitrary_payloads(
        timestamp in any::<u64>(),
        early in prop::collection::vec(any::<u8>(), 0..1500),
        response in prop::collection::vec(any::<u8>(), 0..1500),
        code in prop::collection::vec(any::<u8>(), 1..=256),
    ) {
        let (device, server) = (device_keys(), server_keys());
        let mut hello = Vec::new();
        let sent = IkInitiator::new(&device, server.public_key(), counting(1), timestamp)
            .write_hello(&early, &mut hello).unwrap();
        let received = IkResponder::new(&server, counting(2)).read_hello(&hello).unwrap();
        prop_assert_eq!((received.timestamp(), received.early_payload()), (timestamp, &early[..]));
        let mut wire = Vec::new();
        let last_seen = timestamp.checked_sub(1);
        received.accept(last_seen, &response, &mut wire).unwrap();
        let mut plain = Vec::new();
        sent.read_response(&wire, &mut plain).unwrap();
        prop_assert_eq!(&plain, &response);

        let (mut m1, mut m2, mut m3) = (Vec::new(), Vec::new(), Vec::new());
        let started = XkInitiator::new(&device, server.public_key(), counting(3)).start(&mut m1).unwrap();
        let responded = XkResponder::new(&server, counting(4)).respond(&m1, &mut m2).unwrap();
        started.finish(&m2, &code, &mut m3).unwrap();
        let enrollment = responded.read_enrollment(&m3).unwrap();
        prop_assert_eq!(enrollment.activation_code(), &code[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic_a_responder(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        prop_assert!(IkResponder::new(&server_keys(), counting(2)).read_hello(&bytes).is_err());
        let _ = XkResponder::new(&server_keys(), counting(2)).respond(&bytes, &mut Vec::new());
    }

    #[test]
    fn arbitrary_bytes_never_open(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let (_, mut server) = ik_pair();
        let mut out = b"keep".to_vec();
        prop_assert_eq!(server.open(&bytes, &mut out).unwrap_err().kind(), ErrorKind::DecryptFailed);
        prop_assert_eq!(&out[..], b"keep");
        prop_assert!(server.is_closed());
    }
}
