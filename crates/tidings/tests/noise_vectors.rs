//! The published Noise vectors for IK and XK with 25519_AESGCM_SHA256 pass
//! byte for byte: every handshake and transport ciphertext, every payload and
//! (where given) the handshake hash.

mod common;

use common::{VectorFile, key, pattern_of, unhex};
use tidings::crypto::{CipherState, HandshakePattern, HandshakeState, StaticKeypair};

const PUBLISHED: &str = include_str!("vectors/noise-published.json");

#[test]
fn published_vectors_cover_both_patterns_from_both_sources() {
    let file: VectorFile = serde_json::from_str(PUBLISHED).unwrap();
    let names: Vec<&str> = file
        .vectors
        .iter()
        .map(|v| v.protocol_name.as_str())
        .collect();
    assert_eq!(names.iter().filter(|n| n.contains("_IK_")).count(), 2);
    assert_eq!(names.iter().filter(|n| n.contains("_XK_")).count(), 2);
}

#[test]
fn published_vectors_pass_byte_for_byte() {
    let file: VectorFile = serde_json::from_str(PUBLISHED).unwrap();
    for (n, vector) in file.vectors.iter().enumerate() {
        let pattern = pattern_of(&vector.protocol_name);
        let init_s = StaticKeypair::from_secret_bytes(key(&vector.init_static));
        let resp_s = StaticKeypair::from_secret_bytes(key(&vector.resp_static));
        assert_eq!(
            resp_s.public_key(),
            key(&vector.init_remote_static),
            "vector {n}"
        );
        let mut init = HandshakeState::initiator(
            pattern,
            &unhex(&vector.init_prologue),
            &init_s,
            key(&vector.init_ephemeral),
            key(&vector.init_remote_static),
        );
        let mut resp = HandshakeState::responder(
            pattern,
            &unhex(&vector.resp_prologue),
            &resp_s,
            key(&vector.resp_ephemeral),
        );

        let (handshake, transport) = vector.messages.split_at(pattern.message_count());
        for (i, message) in handshake.iter().enumerate() {
            let (writer, reader) = if i % 2 == 0 {
                (&mut init, &mut resp)
            } else {
                (&mut resp, &mut init)
            };
            let (mut wire, mut plain) = (Vec::new(), Vec::new());
            writer
                .write_message(&unhex(&message.payload), &mut wire)
                .unwrap();
            assert_eq!(
                hex::encode(&wire),
                message.ciphertext,
                "vector {n} message {i}"
            );
            reader.read_message(&wire, &mut plain).unwrap();
            assert_eq!(
                hex::encode(&plain),
                message.payload,
                "vector {n} message {i}"
            );
        }
        assert!(init.is_finished() && resp.is_finished());
        assert_eq!(init.handshake_hash(), resp.handshake_hash());
        if let Some(hash) = &vector.handshake_hash {
            assert_eq!(hex::encode(init.handshake_hash()), *hash, "vector {n}");
        }
        assert_eq!(resp.remote_static(), Some(init_s.public_key()));

        let (mut init_send, mut init_recv) = init.split().unwrap();
        let (mut resp_send, mut resp_recv) = resp.split().unwrap();
        for (offset, message) in transport.iter().enumerate() {
            let i = pattern.message_count() + offset;
            let (send, recv): (&mut CipherState, &mut CipherState) = if i % 2 == 0 {
                (&mut init_send, &mut resp_recv)
            } else {
                (&mut resp_send, &mut init_recv)
            };
            let (mut wire, mut plain) = (Vec::new(), Vec::new());
            send.encrypt_with_ad(&[], &unhex(&message.payload), &mut wire)
                .unwrap();
            assert_eq!(
                hex::encode(&wire),
                message.ciphertext,
                "vector {n} message {i}"
            );
            recv.decrypt_with_ad(&[], &wire, &mut plain).unwrap();
            assert_eq!(
                hex::encode(&plain),
                message.payload,
                "vector {n} message {i}"
            );
        }
    }
}

#[test]
fn protocol_names_match_the_suite() {
    assert_eq!(
        HandshakePattern::Ik.protocol_name(),
        "Noise_IK_25519_AESGCM_SHA256"
    );
    assert_eq!(
        HandshakePattern::Xk.protocol_name(),
        "Noise_XK_25519_AESGCM_SHA256"
    );
}
