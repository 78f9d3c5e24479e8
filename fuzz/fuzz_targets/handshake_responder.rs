//! Hostile handshake messages into both Tidings responders (fixed server key).
//!
//! Nothing may panic, and nothing unauthenticated may get through: random
//! bytes cannot carry a valid AES-GCM tag, so they must never yield an
//! `IkHello` or an `XkEnrollment`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::crypto::{IkResponder, StaticKeypair, XkResponder};

const SERVER_SECRET: [u8; 32] = [0x40; 32];
const SERVER_EPHEMERAL: [u8; 32] = [0x60; 32];

fuzz_target!(|input: (bool, Vec<u8>, Vec<u8>)| {
    let (ik, first, last) = input;
    let server = StaticKeypair::from_secret_bytes(SERVER_SECRET);
    if ik {
        let hello = IkResponder::new(&server, SERVER_EPHEMERAL).read_hello(&first);
        assert!(hello.is_err(), "forged IK hello accepted");
        return;
    }
    // XK: anyone may start an enrollment, so a valid first message is
    // possible in principle (then the reply is 48 bytes). Random bytes
    // cannot carry a valid tag, so no enrollment may come out.
    let mut reply = Vec::new();
    if let Ok(responded) = XkResponder::new(&server, SERVER_EPHEMERAL).respond(&first, &mut reply) {
        assert_eq!(reply.len(), 48);
        assert!(
            responded.read_enrollment(&last).is_err(),
            "forged enrollment accepted"
        );
    } else {
        assert!(reply.is_empty());
    }
});
