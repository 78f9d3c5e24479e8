//! Arbitrary bytes as saved client state and as typed activation codes: a
//! typed error, or a value that encodes back to an equal one. A restored
//! state is resumed at the extremes of time: never a panic or an overflow,
//! and the hello counter always moves past the timestamp it sends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings::ErrorKind;
use tidings::session::{ClientConfig, ClientSession, ClientState};
use tidings::store::ActivationCode;

fuzz_target!(|data: &[u8]| {
    match ClientState::from_bytes(data) {
        Ok(state) => {
            let bytes = state.to_bytes();
            let again = ClientState::from_bytes(&bytes).expect("own bytes restore");
            assert_eq!(again.to_bytes(), bytes);
            for now in [0, 1 << 40, u64::MAX] {
                let counter = again.next_hello_timestamp();
                match ClientSession::resume(ClientConfig::default(), again.clone(), [7; 32], now) {
                    Ok(mut session) => {
                        assert!(session.poll_transmit().is_none(), "held until saved");
                        let next = session.state().next_hello_timestamp();
                        assert!(next >= counter.max(now));
                        assert!(next > counter.max(now) || next == u64::MAX);
                        session.confirm_state_saved();
                        assert!(session.poll_transmit().is_some());
                    }
                    Err(e) => assert!(
                        matches!(e.kind(), ErrorKind::InvalidState | ErrorKind::LowOrderPoint),
                        "{e}"
                    ),
                }
            }
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
