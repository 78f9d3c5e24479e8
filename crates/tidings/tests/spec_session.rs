//! Session rules the spec states and an outside implementation met (issue
//! 19): the device's page size (sync.md §3 rule 3), the `Enroll` limits
//! (§7, handshake.md §5), the policy a device is sent (§5.7) and what follows
//! a wipe (§5.8). Keepalives and the idle close (§5.4): `keepalive.rs`.

mod town;

use tidings::ErrorKind;
use tidings::proto::{Policy, envelope::Body};
use tidings::session::{
    ClientConfig, ClientEvent, ClientSession, ClientState, MAX_DEVICE_NAME_BYTES, ServerConfig,
    ServerSession,
};
use tidings::store::DeviceRegistry;
use town::*;

/// The modseqs the chief's calendar reached, page by page, when the
/// device asks for `page_items`, with 120 meetings waiting.
fn page_sizes(page_items: u32) -> Vec<u64> {
    let mut town = Town::new();
    for n in 0..120 {
        town.add_meeting(town.chief_calendar, &format!("m{n}@town"), "Weekly", &[]);
    }
    let config = ClientConfig {
        page_items,
        ..ClientConfig::default()
    };
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let mut client =
        ClientSession::enroll(config, state, &code, "phone", [4; 32], 1_000).expect("enroll");
    let mut server = town.server_session(5, 1_000);
    pump(&mut client, &mut server, &mut town.store, 1_000);
    let mut previous = 0;
    client_events(&mut client)
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Changed {
                collection_id,
                modseq,
            } if *collection_id == town.chief_calendar => {
                let size = modseq - previous;
                previous = *modseq;
                Some(size)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_device_page_size_applies_within_the_servers_maximum() {
    assert_eq!(page_sizes(1)[..3], [1, 1, 1]);
    assert_eq!(page_sizes(50), vec![50, 50, 20]);
    assert_eq!(page_sizes(99), vec![99, 21]);
    assert_eq!(page_sizes(0), vec![100, 20], "0: the server's default");
    assert_eq!(page_sizes(101), vec![100, 20], "capped at the maximum");
    assert_eq!(page_sizes(200), vec![100, 20]);
}

/// Enrolls the chief's device named `name`.
fn enroll_named(town: &mut Town, name: &str) -> (ClientSession, ServerSession) {
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let mut client = ClientSession::enroll(ClientConfig::default(), state, &code, name, [4; 32], 1)
        .expect("enroll");
    let mut server = town.server_session(5, 1);
    pump(&mut client, &mut server, &mut town.store, 1);
    (client, server)
}

#[test]
fn a_long_device_name_is_cut_on_a_character_boundary_within_64_bytes() {
    let mut town = Town::new();
    // 64 four-byte characters: 256 bytes, cut to 16 characters (64 bytes).
    let name = "\u{1F4F1}".repeat(64);
    let (client, _server) = enroll_named(&mut town, &name);
    assert!(client.is_established(), "enrolled");
    let device = town
        .store
        .device(client.state().device_id())
        .expect("device");
    assert_eq!(device.name.len(), MAX_DEVICE_NAME_BYTES);
    assert_eq!(device.name, "\u{1F4F1}".repeat(16));
    // 65 ASCII characters: cut to 64.
    let mut town = Town::new();
    let (client, _server) = enroll_named(&mut town, &"n".repeat(65));
    let device = town
        .store
        .device(client.state().device_id())
        .expect("device");
    assert_eq!(device.name, "n".repeat(64));
}

#[test]
fn an_enroll_field_over_its_limit_is_answered_with_an_error_info() {
    use tidings::proto::Enroll;
    use tidings::session::{MAX_ENROLL_CODE_BYTES, MAX_PLATFORM_BYTES};
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    // The code itself, padded with spaces a typist might leave: it would
    // be redeemed, were the field not over its limit.
    let padded = format!("{code:<width$}", width = MAX_ENROLL_CODE_BYTES + 1);
    let cases = [
        Enroll {
            activation_code: code.clone(),
            device_name: "n".repeat(MAX_DEVICE_NAME_BYTES + 1),
            platform: String::new(),
        },
        Enroll {
            activation_code: padded,
            device_name: "phone".into(),
            platform: String::new(),
        },
        Enroll {
            activation_code: code.clone(),
            device_name: "phone".into(),
            platform: "p".repeat(MAX_PLATFORM_BYTES + 1),
        },
    ];
    for (n, enroll) in cases.into_iter().enumerate() {
        let refusal = enroll_refused(&mut town, &enroll, n as u8);
        assert_eq!(refusal, Some(608), "case {n}");
    }
    // Nothing was redeemed: the code still works.
    let (client, _) = {
        let state = ClientState::new([9; 32], town.server_public());
        let mut client =
            ClientSession::enroll(ClientConfig::default(), state, &code, "ok", [4; 32], 2)
                .expect("enroll");
        let mut server = town.server_session(6, 2);
        pump(&mut client, &mut server, &mut town.store, 2);
        (client, server)
    };
    assert!(client.is_established());
}

/// Sends `enroll` by hand (XK) and returns the code of the `ErrorInfo`
/// that refused it, read through the encrypted channel.
fn enroll_refused(town: &mut Town, enroll: &tidings::proto::Enroll, seed: u8) -> Option<u32> {
    use tidings::crypto::{StaticKeypair, XkInitiator};
    use tidings::frame::{FrameDecoder, FrameEncoder};
    use tidings::proto::{self, Envelope};
    let device = StaticKeypair::from_secret_bytes([30 + seed; 32]);
    let mut first = vec![tidings::session::HANDSHAKE_XK];
    let started = XkInitiator::new(&device, town.server_public(), [40 + seed; 32])
        .start(&mut first)
        .expect("start");
    let (mut encoder, mut decoder) = (FrameEncoder::new(), FrameDecoder::new());
    let mut framed = Vec::new();
    encoder.encode(&first, &mut framed).expect("frame");
    let mut server = town.server_session(5, 1);
    server
        .handle_bytes(1, &framed, &mut town.store)
        .expect("first");
    let bytes = server.poll_transmit().expect("reply");
    let reply = decoder
        .decode(&mut bytes.as_slice())
        .expect("frame")
        .expect("whole");
    let mut last = Vec::new();
    let mut transport = started
        .finish(&reply, &proto::encode(enroll), &mut last)
        .expect("finish");
    let mut framed = Vec::new();
    encoder.encode(&last, &mut framed).expect("frame");
    let refused = server.handle_bytes(1, &framed, &mut town.store);
    assert_eq!(refused.map_err(|e| e.kind()), Err(ErrorKind::LimitExceeded));
    // The refusal travelled encrypted and typed.
    let sealed = server.poll_transmit().expect("an answer");
    let frame = decoder
        .decode(&mut sealed.as_slice())
        .expect("frame")
        .expect("whole");
    let mut plain = Vec::new();
    let _ = transport.open(&frame, &mut plain).expect("open");
    let envelope: Envelope =
        proto::decode(tidings::compress::unpad(&plain).expect("unpad")).expect("envelope");
    match envelope.body {
        Some(Body::Error(info)) => Some(info.code),
        _ => None,
    }
}

#[test]
fn a_device_without_a_policy_gets_the_servers_real_one_and_keeps_its_rhythm() {
    let mut town = Town::new();
    let (mut client, _server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    let held = *client.state().policy();
    assert_eq!(
        held,
        Policy {
            version: 1,
            require_passcode: false,
            max_inactivity_seconds: 0,
            allow_attachments: true,
            max_preview_bytes: 2048,
            keepalive_seconds: 240,
        }
    );
    assert_eq!(held, ServerConfig::default().default_policy());
}
