//! A transport between fixed keys, driven by a script of genuine, tampered
//! and arbitrary messages.
//!
//! Checks the fail-closed contract: a genuine message in order opens; any
//! failure is `DecryptFailed`, leaves `out` unchanged and the receive counter
//! where it was; after it, every call is `TransportClosed`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::crypto::{IkInitiator, IkResponder, Opened, StaticKeypair, Transport};
use tidings::error::ErrorKind;

/// One IK handshake with fixed keys: (device, server).
fn pair() -> (Transport, Transport) {
    let device = StaticKeypair::from_secret_bytes([0x00; 32]);
    let server = StaticKeypair::from_secret_bytes([0x40; 32]);
    let (mut hello, mut response) = (Vec::new(), Vec::new());
    let sent = IkInitiator::new(&device, server.public_key(), [0x20; 32], 1)
        .write_hello(b"", &mut hello)
        .expect("fixed keys handshake");
    let server_side = IkResponder::new(&server, [0x60; 32])
        .read_hello(&hello)
        .and_then(|h| h.accept(None, b"", &mut response))
        .expect("fixed keys handshake");
    let device_side = sent
        .read_response(&response, &mut Vec::new())
        .expect("fixed keys handshake");
    (device_side, server_side)
}

// Opcodes: 0 genuine payload, 1 genuine rekey marker, 2 genuine payload
// with one bit flipped, 3 arbitrary bytes, 4 replay of the last message.
fuzz_target!(|script: Vec<(u8, u16, Vec<u8>)>| {
    let (mut device, mut server) = pair();
    let mut last: Vec<u8> = Vec::new();
    for (op, at, bytes) in script {
        let mut wire = Vec::new();
        let genuine = match op % 5 {
            0 if !bytes.is_empty() => device.seal(&bytes, &mut wire).is_ok(),
            1 => device.seal_rekey(0, &mut wire).is_ok(),
            2 if !bytes.is_empty() => {
                if device.seal(&bytes, &mut wire).is_ok() {
                    let bit = usize::from(at) % (wire.len() * 8);
                    wire[bit / 8] ^= 1 << (bit % 8);
                }
                false
            }
            4 => {
                wire = last.clone();
                false
            }
            _ => {
                wire = bytes;
                false
            }
        };
        let nonce = server.receive_nonce();
        let mut out = b"prefix".to_vec();
        match server.open(&wire, &mut out) {
            Ok(Opened::Payload) => assert!(genuine && out.len() > 6),
            Ok(Opened::Rekeyed) => assert!(genuine && out == b"prefix"),
            Err(e) => {
                assert!(!genuine || server.is_closed());
                assert!(matches!(
                    e.kind(),
                    ErrorKind::DecryptFailed | ErrorKind::TransportClosed
                ));
                assert_eq!(out, b"prefix");
                assert_eq!(server.receive_nonce(), nonce);
                assert!(server.is_closed());
            }
        }
        last = wire;
    }
});
