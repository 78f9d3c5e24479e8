//! Tidings' own transcripts, in cacophony format, for the docs and for the C
//! and JS tests: `docs/test-vectors/noise-ik.json` and `noise-xk.json`.
//!
//! Generated from the implementation; `TIDINGS_BLESS=1 cargo test --test
//! tidings_vectors` rewrites them, otherwise they must match byte for byte.
//! Each file is also replayed through snow, so it is known to be plain Noise.
//!
//! Messages: the handshake, then two transport messages each way, then a
//! rekey marker each way (empty payload). `tidings_after_rekey` holds one
//! message each way under the rotated keys; a generic cacophony verifier
//! ignores that field and still passes the rest.

mod common;

use std::path::PathBuf;

use common::*;
use tidings::crypto::{
    HandshakePattern, IkInitiator, IkResponder, Opened, Transport, XkInitiator, XkResponder,
};
use tidings::proto::{self, Envelope, envelope::Body};

const IK_TIMESTAMP: u64 = 1_000_042;
const XK_ACTIVATION_CODE: &str = "47QK-80HT-23WZ-M4RA";

/// `body` as a padded envelope, as the IK payloads carry it.
fn padded(body: Body) -> Vec<u8> {
    let mut out = Vec::new();
    tidings::compress::pad(&proto::encode(&Envelope { body: Some(body) }), &mut out);
    out
}

/// The IK early payload: a device resuming two collections.
fn ik_early() -> Vec<u8> {
    let cursor = |collection_id, modseq| proto::Cursor {
        collection_id,
        epoch: 1,
        modseq,
        ..Default::default()
    };
    padded(Body::Hello(proto::Hello {
        cursors: vec![cursor(1, 1287), cursor(2, 88)],
        features: 3,
        ..Default::default()
    }))
}

/// The IK response payload: a short Welcome.
fn ik_response() -> Vec<u8> {
    padded(Body::Welcome(proto::Welcome {
        collections: vec![proto::CollectionInfo {
            id: 1,
            name: "Inbox".into(),
            ..Default::default()
        }],
        features: 3,
        ..Default::default()
    }))
}

/// Message 3 of XK: the encoded `Enroll`.
fn xk_enroll() -> Vec<u8> {
    proto::encode(&proto::Enroll {
        activation_code: XK_ACTIVATION_CODE.into(),
        device_name: "Sam's phone".into(),
        platform: "android".into(),
    })
}

fn file_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/test-vectors")
        .join(name)
}

fn message(payload: &[u8], ciphertext: &[u8]) -> Message {
    Message {
        payload: hex::encode(payload),
        ciphertext: hex::encode(ciphertext),
    }
}

fn seal(from: &mut Transport, to: &mut Transport, payload: &[u8]) -> Vec<u8> {
    let (mut wire, mut plain) = (Vec::new(), Vec::new());
    from.seal(payload, &mut wire).unwrap();
    assert_eq!(to.open(&wire, &mut plain).unwrap(), Opened::Payload);
    assert_eq!(plain, payload);
    wire
}

/// The transport part of a transcript, appended after the handshake messages,
/// which must leave the initiator to send next (even index).
fn transport_part(
    init: &mut Transport,
    resp: &mut Transport,
    messages: &mut Vec<Message>,
    initiator_sends_first: bool,
) -> Vec<DirectedMessage> {
    let script: [&[u8]; 4] = [
        b"SYNC inbox",
        b"DELTA inbox +1 mail",
        b"ACK inbox@1288",
        b"DELTA calendar ~1 event",
    ];
    for (i, payload) in script.iter().enumerate() {
        let wire = if (i % 2 == 0) == initiator_sends_first {
            seal(init, resp, payload)
        } else {
            seal(resp, init, payload)
        };
        messages.push(message(payload, &wire));
    }
    for i in 0..2 {
        let (from, to) = if (i % 2 == 0) == initiator_sends_first {
            (&mut *init, &mut *resp)
        } else {
            (&mut *resp, &mut *init)
        };
        let mut marker = Vec::new();
        from.seal_rekey(0, &mut marker).unwrap();
        assert_eq!(to.open(&marker, &mut Vec::new()).unwrap(), Opened::Rekeyed);
        messages.push(message(&[], &marker));
    }
    let after = [("initiator", &b"PING"[..]), ("responder", &b"PONG"[..])];
    after
        .iter()
        .map(|(sender, payload)| {
            let wire = if *sender == "initiator" {
                seal(init, resp, payload)
            } else {
                seal(resp, init, payload)
            };
            DirectedMessage {
                sender: sender.to_string(),
                payload: hex::encode(payload),
                ciphertext: hex::encode(wire),
            }
        })
        .collect()
}

fn base_vector(pattern: HandshakePattern, description: &str) -> Vector {
    let prologue = hex::encode(tidings_prologue(pattern));
    Vector {
        protocol_name: pattern.protocol_name().to_string(),
        tidings_description: Some(description.to_string()),
        init_prologue: prologue.clone(),
        init_static: hex::encode(counting(DEVICE_STATIC)),
        init_ephemeral: hex::encode(counting(DEVICE_EPHEMERAL)),
        init_remote_static: hex::encode(server_keys().public_key()),
        resp_prologue: prologue,
        resp_static: hex::encode(counting(SERVER_STATIC)),
        resp_ephemeral: hex::encode(counting(SERVER_EPHEMERAL)),
        handshake_hash: None,
        messages: Vec::new(),
        tidings_after_rekey: Vec::new(),
    }
}

fn generate_ik() -> VectorFile {
    let (device, server) = (device_keys(), server_keys());
    let mut v = base_vector(
        HandshakePattern::Ik,
        "Tidings v1 reconnect. Message 0 payload: 8-byte big-endian timestamp (1000042) || early payload \
         (a padded Envelope holding a Hello with two cursors). Message 1 payload: a padded Envelope holding a \
         Welcome. Messages 2-5: transport (stand-in payloads). Messages 6-7: rekey markers (empty payload), \
         after which each sender rekeys.",
    );
    let mut hello = Vec::new();
    let sent = IkInitiator::new(
        &device,
        server.public_key(),
        counting(DEVICE_EPHEMERAL),
        IK_TIMESTAMP,
    )
    .write_hello(&ik_early(), &mut hello)
    .unwrap();
    let received = IkResponder::new(&server, counting(SERVER_EPHEMERAL))
        .read_hello(&hello)
        .unwrap();
    let mut response = Vec::new();
    let mut resp = received
        .accept(Some(IK_TIMESTAMP - 1), &ik_response(), &mut response)
        .unwrap();
    let mut init = sent.read_response(&response, &mut Vec::new()).unwrap();
    v.messages.push(message(
        &[&IK_TIMESTAMP.to_be_bytes()[..], &ik_early()].concat(),
        &hello,
    ));
    v.messages.push(message(&ik_response(), &response));
    v.handshake_hash = Some(hex::encode(init.handshake_hash()));
    v.tidings_after_rekey = transport_part(&mut init, &mut resp, &mut v.messages, true);
    VectorFile {
        note: Some(NOTE.to_string()),
        vectors: vec![v],
    }
}

fn generate_xk() -> VectorFile {
    let (device, server) = (device_keys(), server_keys());
    let mut v = base_vector(
        HandshakePattern::Xk,
        "Tidings v1 enrollment. Messages 0-1: empty payloads. Message 2 payload: the encoded Enroll \
         (activation code 47QK-80HT-23WZ-M4RA, device name, platform; not padded). Messages 3-6: transport \
         (stand-in payloads). Messages 7-8: rekey markers (empty payload), after which each sender rekeys.",
    );
    let (mut m1, mut m2, mut m3) = (Vec::new(), Vec::new(), Vec::new());
    let started = XkInitiator::new(&device, server.public_key(), counting(DEVICE_EPHEMERAL))
        .start(&mut m1)
        .unwrap();
    let responded = XkResponder::new(&server, counting(SERVER_EPHEMERAL))
        .respond(&m1, &mut m2)
        .unwrap();
    let mut init = started.finish(&m2, &xk_enroll(), &mut m3).unwrap();
    let enrollment = responded.read_enrollment(&m3).unwrap();
    assert_eq!(enrollment.activation_code(), xk_enroll().as_slice());
    let mut resp = enrollment.accept().unwrap();
    v.messages.push(message(&[], &m1));
    v.messages.push(message(&[], &m2));
    v.messages.push(message(&xk_enroll(), &m3));
    v.handshake_hash = Some(hex::encode(init.handshake_hash()));
    // Three handshake messages: the responder sends the first transport message.
    v.tidings_after_rekey = transport_part(&mut init, &mut resp, &mut v.messages, false);
    VectorFile {
        note: Some(NOTE.to_string()),
        vectors: vec![v],
    }
}

const NOTE: &str = "Tidings transcript in cacophony format, generated by tests/tidings_vectors.rs. \
Keys are fixed test values (bytes counting up from 0x00, 0x20, 0x40, 0x60), never for real use. \
Messages alternate initiator/responder from index 0. tidings_after_rekey is Tidings-specific.";

fn check_or_bless(name: &str, file: &VectorFile) {
    let text = serde_json::to_string_pretty(file).unwrap() + "\n";
    let path = file_path(name);
    if std::env::var_os("TIDINGS_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let stored = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{name} missing: run with TIDINGS_BLESS=1"));
    assert_eq!(
        stored, text,
        "{name} differs from the implementation's output"
    );
}

/// Replays a transcript through snow: every ciphertext must match.
fn verify_with_snow(file: &VectorFile) {
    for v in &file.vectors {
        let pattern = pattern_of(&v.protocol_name);
        let mut init = snow_handshake(
            pattern,
            true,
            &unhex(&v.init_prologue),
            &key(&v.init_static),
            &key(&v.init_ephemeral),
            Some(&key(&v.init_remote_static)),
        );
        let mut resp = snow_handshake(
            pattern,
            false,
            &unhex(&v.resp_prologue),
            &key(&v.resp_static),
            &key(&v.resp_ephemeral),
            None,
        );
        let (handshake, transport) = v.messages.split_at(pattern.message_count());
        for (i, m) in handshake.iter().enumerate() {
            let (w, r) = if i % 2 == 0 {
                (&mut init, &mut resp)
            } else {
                (&mut resp, &mut init)
            };
            let wire = snow_write(w, &unhex(&m.payload));
            assert_eq!(
                hex::encode(&wire),
                m.ciphertext,
                "snow disagrees at message {i}"
            );
            assert_eq!(snow_read(r, &wire), unhex(&m.payload));
        }
        assert_eq!(
            Some(hex::encode(init.get_handshake_hash())),
            v.handshake_hash
        );
        let (mut init, mut resp) = (
            init.into_transport_mode().unwrap(),
            resp.into_transport_mode().unwrap(),
        );
        for (offset, m) in transport.iter().enumerate() {
            let i = pattern.message_count() + offset;
            let (w, r) = if i % 2 == 0 {
                (&mut init, &mut resp)
            } else {
                (&mut resp, &mut init)
            };
            let wire = snow_seal(w, &unhex(&m.payload));
            assert_eq!(
                hex::encode(&wire),
                m.ciphertext,
                "snow disagrees at message {i}"
            );
            assert_eq!(snow_open(r, &wire), unhex(&m.payload));
            if m.payload.is_empty() {
                w.rekey_outgoing();
                r.rekey_incoming();
            }
        }
        for m in &v.tidings_after_rekey {
            let (w, r) = if m.sender == "initiator" {
                (&mut init, &mut resp)
            } else {
                (&mut resp, &mut init)
            };
            let wire = snow_seal(w, &unhex(&m.payload));
            assert_eq!(hex::encode(&wire), m.ciphertext);
            assert_eq!(snow_open(r, &wire), unhex(&m.payload));
        }
    }
}

#[test]
fn ik_transcript_is_current_and_plain_noise() {
    let file = generate_ik();
    verify_with_snow(&file);
    check_or_bless("noise-ik.json", &file);
}

#[test]
fn xk_transcript_is_current_and_plain_noise() {
    let file = generate_xk();
    verify_with_snow(&file);
    check_or_bless("noise-xk.json", &file);
}
