//! Every low-order X25519 point is refused with the one `LowOrderPoint`
//! error, wherever a peer could slip it in.

mod common;

use common::*;
use tidings::crypto::{IkInitiator, IkResponder, PinnedServer, StaticKeypair, XkResponder};
use tidings::error::ErrorKind;

/// Every encoding of a small-order Curve25519 point, as X25519 reads it
/// (RFC 7748 ignores bit 255): 0, 1, the two order-8 points, p-1, and the
/// non-canonical p (= 0) and p+1 (= 1); then all seven with bit 255 set.
const LOW_ORDER: [&str; 14] = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000080",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11d7",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

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
fn every_low_order_point_is_rejected_with_one_error() {
    let keys = [
        device_keys(),
        server_keys(),
        StaticKeypair::from_secret_bytes([0xff; 32]),
    ];
    for point in LOW_ORDER.map(key) {
        for k in &keys {
            let err = k.diffie_hellman(&point).unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::LowOrderPoint,
                "{}",
                hex::encode(point)
            );
        }
        // As the ephemeral key in an IK hello (es fails at the server).
        let mut bad = hello(1, DEVICE_EPHEMERAL);
        bad[..32].copy_from_slice(&point);
        let err = IkResponder::new(&server_keys(), counting(SERVER_EPHEMERAL))
            .read_hello(&bad)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LowOrderPoint);
        // As the server's ephemeral key in an IK response (ee fails at the device).
        let sent = IkInitiator::new(
            &device_keys(),
            server_keys().public_key(),
            counting(DEVICE_EPHEMERAL),
            1,
        )
        .write_hello(b"", &mut Vec::new())
        .unwrap();
        let mut response = vec![0u8; 48];
        response[..32].copy_from_slice(&point);
        let err = sent.read_response(&response, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LowOrderPoint);
        // As a pinned server key (es fails before anything is sent).
        let mut out = Vec::new();
        let err = IkInitiator::new(&device_keys(), point, counting(DEVICE_EPHEMERAL), 1)
            .write_hello(b"", &mut out)
            .unwrap_err();
        assert_eq!((err.kind(), out.len()), (ErrorKind::LowOrderPoint, 0));
        // As a pinned server key, precomputed once.
        let err = PinnedServer::new(&device_keys(), point).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LowOrderPoint);
        // As the ephemeral key in an XK first message.
        let mut first = point.to_vec();
        first.extend_from_slice(&[0; 16]);
        let err = XkResponder::new(&server_keys(), counting(SERVER_EPHEMERAL))
            .respond(&first, &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::LowOrderPoint);
    }
}
