//! Interop with snow (dev-dependency only), both patterns, both directions:
//! handshake, several transport messages each way, and a rekey marker each
//! way (snow sees an empty message and calls its own Rekey()).

mod common;

use common::*;
use tidings::crypto::{
    HandshakePattern, IkInitiator, IkResponder, Opened, Transport, XkInitiator, XkResponder,
};

const ROUNDS: usize = 5;

/// Tidings and snow exchange `ROUNDS` messages each way, a rekey marker each
/// way, then `ROUNDS` more each way under the new keys.
fn exchange(tidings: &mut Transport, snow: &mut snow::TransportState) {
    for phase in 0..2 {
        for i in 0..ROUNDS {
            let to_snow = format!("tidings->snow phase {phase} #{i}").into_bytes();
            let mut wire = Vec::new();
            tidings.seal(&to_snow, &mut wire).unwrap();
            assert_eq!(snow_open(snow, &wire), to_snow);

            let to_tidings = format!("snow->tidings phase {phase} #{i}")
                .repeat(i + 1)
                .into_bytes();
            let wire = snow_seal(snow, &to_tidings);
            let mut plain = Vec::new();
            assert_eq!(tidings.open(&wire, &mut plain).unwrap(), Opened::Payload);
            assert_eq!(plain, to_tidings);
        }
        if phase == 0 {
            let mut marker = Vec::new();
            tidings.seal_rekey(0, &mut marker).unwrap();
            assert!(snow_open(snow, &marker).is_empty());
            snow.rekey_incoming();

            let marker = snow_seal(snow, &[]);
            snow.rekey_outgoing();
            assert_eq!(
                tidings.open(&marker, &mut Vec::new()).unwrap(),
                Opened::Rekeyed
            );
        }
    }
}

#[test]
fn ik_tidings_initiator_with_snow_responder() {
    let (device, server) = (device_keys(), server_keys());
    let prologue = tidings_prologue(HandshakePattern::Ik);
    let mut responder = snow_handshake(
        HandshakePattern::Ik,
        false,
        &prologue,
        &counting(SERVER_STATIC),
        &counting(SERVER_EPHEMERAL),
        None,
    );

    let mut hello = Vec::new();
    let sent = IkInitiator::new(
        &device,
        server.public_key(),
        counting(DEVICE_EPHEMERAL),
        0x0102,
    )
    .write_hello(b"resume inbox", &mut hello)
    .unwrap();
    let payload = snow_read(&mut responder, &hello);
    assert_eq!(
        payload,
        [&0x0102u64.to_be_bytes()[..], b"resume inbox"].concat()
    );
    assert_eq!(
        responder.get_remote_static(),
        Some(&device.public_key()[..])
    );

    let response = snow_write(&mut responder, b"welcome back");
    let mut plain = Vec::new();
    let mut transport = sent.read_response(&response, &mut plain).unwrap();
    assert_eq!(plain, b"welcome back");
    assert_eq!(transport.handshake_hash(), responder.get_handshake_hash());

    exchange(
        &mut transport,
        &mut responder.into_transport_mode().unwrap(),
    );
}

#[test]
fn ik_snow_initiator_with_tidings_responder() {
    let (device, server) = (device_keys(), server_keys());
    let prologue = tidings_prologue(HandshakePattern::Ik);
    let mut initiator = snow_handshake(
        HandshakePattern::Ik,
        true,
        &prologue,
        &counting(DEVICE_STATIC),
        &counting(DEVICE_EPHEMERAL),
        Some(&server.public_key()),
    );

    let hello = snow_write(&mut initiator, &[&7u64.to_be_bytes()[..], b"hi"].concat());
    let received = IkResponder::new(&server, counting(SERVER_EPHEMERAL))
        .read_hello(&hello)
        .unwrap();
    assert_eq!(received.device_key(), device.public_key());
    assert_eq!(
        (received.timestamp(), received.early_payload()),
        (7, &b"hi"[..])
    );

    let mut response = Vec::new();
    let mut transport = received.accept(Some(6), b"ok", &mut response).unwrap();
    assert_eq!(snow_read(&mut initiator, &response), b"ok");
    assert_eq!(transport.handshake_hash(), initiator.get_handshake_hash());

    exchange(
        &mut transport,
        &mut initiator.into_transport_mode().unwrap(),
    );
}

#[test]
fn xk_tidings_initiator_with_snow_responder() {
    let (device, server) = (device_keys(), server_keys());
    let prologue = tidings_prologue(HandshakePattern::Xk);
    let mut responder = snow_handshake(
        HandshakePattern::Xk,
        false,
        &prologue,
        &counting(SERVER_STATIC),
        &counting(SERVER_EPHEMERAL),
        None,
    );

    let mut first = Vec::new();
    let started = XkInitiator::new(&device, server.public_key(), counting(DEVICE_EPHEMERAL))
        .start(&mut first)
        .unwrap();
    assert!(snow_read(&mut responder, &first).is_empty());
    let reply = snow_write(&mut responder, &[]);
    let mut last = Vec::new();
    let mut transport = started
        .finish(&reply, b"8412-7730-5519", &mut last)
        .unwrap();
    assert_eq!(snow_read(&mut responder, &last), b"8412-7730-5519");
    assert_eq!(
        responder.get_remote_static(),
        Some(&device.public_key()[..])
    );
    assert_eq!(transport.handshake_hash(), responder.get_handshake_hash());

    exchange(
        &mut transport,
        &mut responder.into_transport_mode().unwrap(),
    );
}

#[test]
fn xk_snow_initiator_with_tidings_responder() {
    let (device, server) = (device_keys(), server_keys());
    let prologue = tidings_prologue(HandshakePattern::Xk);
    let mut initiator = snow_handshake(
        HandshakePattern::Xk,
        true,
        &prologue,
        &counting(DEVICE_STATIC),
        &counting(DEVICE_EPHEMERAL),
        Some(&server.public_key()),
    );

    let first = snow_write(&mut initiator, &[]);
    let mut reply = Vec::new();
    let responded = XkResponder::new(&server, counting(SERVER_EPHEMERAL))
        .respond(&first, &mut reply)
        .unwrap();
    assert!(snow_read(&mut initiator, &reply).is_empty());
    let last = snow_write(&mut initiator, b"ACTIVATE-ME");
    let enrollment = responded.read_enrollment(&last).unwrap();
    assert_eq!(enrollment.device_key(), device.public_key());
    assert_eq!(enrollment.activation_code(), b"ACTIVATE-ME");
    let mut transport = enrollment.accept().unwrap();
    assert_eq!(transport.handshake_hash(), initiator.get_handshake_hash());

    exchange(
        &mut transport,
        &mut initiator.into_transport_mode().unwrap(),
    );
}
