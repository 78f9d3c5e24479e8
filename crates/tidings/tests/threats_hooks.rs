//! Limit threats that need the `testing` feature's hooks to reach in time:
//! nonce exhaustion and the AES-GCM hard stop.

mod common;

use common::ik_pair;
use tidings::crypto::{MAX_MESSAGES_PER_KEY, Opened};
use tidings::error::ErrorKind;

#[test]
fn nonce_two_pow_64_minus_2_is_the_last_one() {
    let (mut device, mut server) = ik_pair();
    device.set_nonces_for_testing_only(u64::MAX - 1, 0);
    server.set_nonces_for_testing_only(0, u64::MAX - 1);

    let (mut wire, mut plain) = (Vec::new(), Vec::new());
    device.seal(b"last", &mut wire).unwrap();
    assert_eq!(server.open(&wire, &mut plain).unwrap(), Opened::Payload);
    assert_eq!(plain, b"last");
    assert_eq!(device.send_nonce(), u64::MAX);

    // 2^64 - 1 is reserved: nothing more can be sealed, not even a rekey marker.
    let mut out = b"kept".to_vec();
    assert_eq!(
        device.seal(b"one more", &mut out).unwrap_err().kind(),
        ErrorKind::NonceExhausted
    );
    assert_eq!(
        device.seal_rekey(0, &mut out).unwrap_err().kind(),
        ErrorKind::NonceExhausted
    );
    assert_eq!(out, b"kept");
    assert_eq!(device.send_nonce(), u64::MAX);
    // Refusing to seal is not an attack: the transport stays open.
    assert!(!device.is_closed());
    // The receiver cannot open at the reserved nonce either.
    assert_eq!(
        server.open(&wire, &mut Vec::new()).unwrap_err().kind(),
        ErrorKind::DecryptFailed
    );
}

#[test]
fn aes_gcm_hard_stop_at_2_pow_23_messages_per_key() {
    let (mut device, mut server) = ik_pair();
    assert_eq!(MAX_MESSAGES_PER_KEY, 1 << 23);
    device.set_sent_under_key_for_testing_only(MAX_MESSAGES_PER_KEY - 2);
    assert!(device.rekey_due(0), "the default policy is long past due");

    let mut wire = Vec::new();
    device
        .seal(b"last payload under this key", &mut wire)
        .unwrap();
    assert_eq!(
        server.open(&wire, &mut Vec::new()).unwrap(),
        Opened::Payload
    );

    let mut out = Vec::new();
    let err = device.seal(b"over the limit", &mut out).unwrap_err();
    assert_eq!((err.kind(), out.len()), (ErrorKind::NonceExhausted, 0));

    // The 2^23rd slot is the rekey marker; after it, sealing works again.
    device.seal_rekey(0, &mut out).unwrap();
    assert_eq!(server.open(&out, &mut Vec::new()).unwrap(), Opened::Rekeyed);
    let mut wire = Vec::new();
    device.seal(b"fresh key", &mut wire).unwrap();
    let mut plain = Vec::new();
    assert_eq!(server.open(&wire, &mut plain).unwrap(), Opened::Payload);
    assert_eq!(plain, b"fresh key");
}
