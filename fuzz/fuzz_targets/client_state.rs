//! Arbitrary bytes as saved client state and as typed activation codes: a
//! typed error, or a value that encodes back to an equal one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::ErrorKind;
use tidings::session::ClientState;
use tidings::store::ActivationCode;

fuzz_target!(|data: &[u8]| {
    match ClientState::from_bytes(data) {
        Ok(state) => {
            let bytes = state.to_bytes();
            let again = ClientState::from_bytes(&bytes).expect("own bytes restore");
            assert_eq!(again.to_bytes(), bytes);
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::StateCorrupt),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        match ActivationCode::parse(text) {
            Ok(code) => assert_eq!(ActivationCode::parse(&code.display()).ok(), Some(code)),
            Err(e) => assert_eq!(e.kind(), ErrorKind::ActivationRejected),
        }
    }
});
