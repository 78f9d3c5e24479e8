//! Device management and refusals: activation codes, revocation, wipe, policy, unknown devices and versions, the early-data rule.

mod town;

use tidings::ErrorKind;
use tidings::proto::{self, operation::Kind};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState, ServerEvent};
use tidings::store::{DeviceRegistry, ItemStore};
use town::*;

#[test]
fn revoked_devices_are_told_and_refused_and_wipes_are_acknowledged() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server.order_wipe(2_000, &mut town.store, 77).expect("wipe");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(client_events(&mut client).contains(&ClientEvent::WipeRequested { wipe_id: 77 }));
    client.acknowledge_wipe(2_100, 77).expect("ack");
    pump(&mut client, &mut server, &mut town.store, 2_100);
    assert!(
        server_events(&mut server)
            .iter()
            .any(|e| matches!(e, ServerEvent::WipeAcknowledged { wipe_id: 77, .. }))
    );

    // What follows a wipe (sync.md §5.8): the device is revoked at once.
    let saved = client.state().to_bytes();
    assert!(client.is_closed() && server.is_closed());
    assert!(client_events(&mut client).contains(&ClientEvent::Revoked));
    let device = town
        .store
        .device(client.state().device_id())
        .expect("device");
    assert!(device.revoked);
    assert_eq!(device.wipe, tidings::store::WipeState::Done(77));

    let state = ClientState::from_bytes(&saved).expect("restore");
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [9; 32], 4_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(12, 4_000);
    pump(&mut client, &mut server, &mut town.store, 4_000);
    assert!(client.is_closed() && server.is_closed());
    assert!(client_events(&mut client).contains(&ClientEvent::Revoked));
}

/// A revocation committed outside the session (an admin command, another
/// process) stops the device's operations at once, before the session
/// hears of it: the next one is not applied, and the device is told.
#[test]
fn an_operation_after_a_revocation_elsewhere_is_not_applied() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    let (id, _) = town
        .store
        .upsert(
            town.chief_inbox,
            None,
            packed(mail("Flood warning", "ops@town.example")),
            0,
        )
        .expect("inbox");
    town.store
        .revoke(client.state().device_id())
        .expect("revoked elsewhere");
    let set = proto::SetFlags {
        collection_id: town.chief_inbox,
        item_ids: vec![id],
        set: 1,
        clear: 0,
    };
    client
        .submit(2_000, [1; 16], Kind::SetFlags(set))
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert_eq!(town.flags(town.chief_inbox, id), Some(0), "not applied");
    assert!(client.is_closed() && server.is_closed());
    assert!(client_events(&mut client).contains(&ClientEvent::Revoked));
}

#[test]
fn wrong_and_reused_activation_codes_are_refused_with_a_typed_error() {
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let mut wrong = code.clone();
    wrong.replace_range(18.., if code.ends_with('0') { "1" } else { "0" });
    let try_enroll = |town: &mut Town, code: &str, seed: u8| {
        let state = ClientState::new([seed; 32], town.server_public());
        let mut client =
            ClientSession::enroll(ClientConfig::default(), state, code, "phone", [seed; 32], 0)
                .expect("start");
        let mut server = town.server_session(seed, 0);
        pump(&mut client, &mut server, &mut town.store, 0);
        client_events(&mut client)
            .into_iter()
            .find_map(|e| match e {
                ClientEvent::Closed { error } => error.map(|e| e.kind()),
                _ => None,
            })
    };
    assert_eq!(
        try_enroll(&mut town, &wrong, 20),
        Some(ErrorKind::ActivationRejected)
    );
    assert_eq!(
        try_enroll(&mut town, &code, 21),
        None,
        "the right code still works"
    );
    assert_eq!(
        try_enroll(&mut town, &code, 22),
        Some(ErrorKind::ActivationRejected),
        "used codes are burned"
    );
}

#[test]
fn a_new_policy_is_pushed_kept_in_the_saved_state_and_reported_on_resume() {
    let mut town = Town::new();
    let (mut client, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    client_events(&mut client);
    let policy = proto::Policy {
        version: 2,
        require_passcode: true,
        max_preview_bytes: 512,
        keepalive_seconds: 120,
        ..Default::default()
    };
    server
        .send_policy(2_000, &mut town.store, policy)
        .expect("policy");
    pump(&mut client, &mut server, &mut town.store, 2_000);
    assert!(client_events(&mut client).contains(&ClientEvent::Policy(policy)));
    let restored = ClientState::from_bytes(&client.state().to_bytes()).expect("restore");
    assert_eq!(restored.policy(), &policy);
    // The store keeps it: a reconnecting device is told it in the Welcome.
    let mut client =
        ClientSession::resume(ClientConfig::default(), restored, [8; 32], 3_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(13, 3_000);
    pump(&mut client, &mut server, &mut town.store, 3_000);
    assert_eq!(client.state().policy(), &policy);
}

#[test]
fn a_first_frame_of_an_unknown_version_gets_a_plaintext_refusal() {
    let town = Town::new();
    let mut store = town.store.clone();
    let mut server = town.server_session(5, 0);
    let err = server
        .handle_bytes(0, &[0, 3, 9, 2, 0], &mut store)
        .expect_err("version 9");
    assert_eq!(err, tidings::Error::UnknownVersion(9));
    assert_eq!(
        server.poll_transmit(),
        Some(vec![0, 2, 0, tidings::frame::PROTOCOL_VERSION])
    );
    assert!(server.is_closed());

    // A client that receives such a refusal closes with a typed error.
    let state = ClientState::new([3; 32], town.server_public());
    let mut client = ClientSession::enroll(
        ClientConfig::default(),
        state,
        "0000-0000-0000-0000",
        "phone",
        [4; 32],
        0,
    )
    .expect("enroll");
    let err = client.handle_bytes(0, &[0, 2, 0, 7]).expect_err("refused");
    assert_eq!(err, tidings::Error::VersionRefused { supported: 7 });
}

#[test]
fn a_state_changing_request_in_the_ik_early_payload_is_refused_and_changes_nothing() {
    use tidings::crypto::{IkInitiator, StaticKeypair};
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let device_id = client.state().device_id();
    let mail = *town
        .store
        .items(town.chief_inbox)
        .expect("inbox")
        .first()
        .map(|(id, _, _)| id)
        .expect("mail");
    let modseq = town
        .store
        .collection_state(town.chief_inbox)
        .expect("inbox")
        .1;

    // A hello whose early payload is an operation, not a Hello.
    let op = proto::Operation {
        op_id: vec![1; 16],
        kind: Some(Kind::DeleteItems(proto::DeleteItems {
            collection_id: town.chief_inbox,
            item_ids: vec![mail],
        })),
    };
    let mut early = Vec::new();
    tidings::compress::pad(
        &proto::encode(&proto::Envelope {
            body: Some(proto::envelope::Body::Operation(op)),
        }),
        &mut early,
    );
    let device = StaticKeypair::from_secret_bytes([7; 32]);
    let mut body = vec![tidings::session::HANDSHAKE_IK];
    let sent = IkInitiator::new(&device, town.server_public(), [8; 32], 5_000)
        .write_hello(&early, &mut body)
        .expect("hello");
    let mut frame = Vec::new();
    tidings::frame::FrameEncoder::new()
        .encode(&body, &mut frame)
        .expect("frame");

    let mut server = town.server_session(9, 5_000);
    let err = server
        .handle_bytes(5_000, &frame, &mut town.store)
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::EarlyDataNotAllowed);
    assert!(server.is_closed());
    // The device is told why, in message 2, and nothing else is sent.
    let answer = server.poll_transmit().expect("message 2");
    assert_eq!(server.poll_transmit(), None);
    let frame = tidings::frame::FrameDecoder::new()
        .decode(&mut &answer[..])
        .expect("frame")
        .expect("whole");
    let mut payload = Vec::new();
    sent.read_response(&frame, &mut payload)
        .expect("encrypted to the device");
    let told: proto::Envelope =
        proto::decode(tidings::compress::unpad(&payload).expect("padded")).expect("envelope");
    assert!(
        matches!(
            told.body,
            Some(proto::envelope::Body::Error(proto::ErrorInfo {
                code: 209,
                ..
            }))
        ),
        "{told:?}"
    );
    assert_eq!(
        town.store
            .collection_state(town.chief_inbox)
            .expect("inbox")
            .1,
        modseq,
        "nothing changed"
    );
    assert_eq!(
        town.store.device(device_id).expect("device").last_hello,
        None,
        "the timestamp was not consumed"
    );
}

#[test]
fn a_device_the_server_does_not_know_is_told_so() {
    let mut town = Town::new();
    let (client, _) = enroll(&mut town, CHIEF, 7, 1_000);
    let saved = client.state().to_bytes();
    // A server that lost its device registry (a fresh store with the same key).
    let mut other = Town::new();
    let mut client = ClientSession::resume(
        ClientConfig::default(),
        ClientState::from_bytes(&saved).expect("restore"),
        [2; 32],
        2_000,
    )
    .expect("resume");
    client.confirm_state_saved();
    let mut server = other.server_session(3, 2_000);
    pump(&mut client, &mut server, &mut other.store, 2_000);
    assert!(client.is_closed() && server.is_closed());
    let error = client_events(&mut client)
        .into_iter()
        .find_map(|e| match e {
            ClientEvent::Closed { error } => error.map(|e| e.kind()),
            _ => None,
        });
    assert_eq!(error, Some(ErrorKind::UnknownPeer));
}

#[test]
fn a_failed_handshake_is_reported_on_both_sides() {
    let mut town = Town::new();
    // The device pins a key that is not the server's.
    let code = town.activation(town.chief, 3);
    let state = ClientState::new(
        [3; 32],
        tidings::crypto::StaticKeypair::from_secret_bytes([99; 32]).public_key(),
    );
    let mut client =
        ClientSession::enroll(ClientConfig::default(), state, &code, "phone", [4; 32], 0)
            .expect("enroll");
    let mut server = town.server_session(5, 0);
    pump(&mut client, &mut server, &mut town.store, 0);
    let closed_with =
        |events: Vec<Option<tidings::Error>>| events.into_iter().flatten().map(|e| e.kind()).next();
    let server_error = closed_with(
        server_events(&mut server)
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::Closed { error } => Some(error),
                _ => None,
            })
            .collect(),
    );
    assert_eq!(
        server_error,
        Some(ErrorKind::DecryptFailed),
        "the server cannot read a message 1 sealed to another key"
    );
    assert!(server.is_closed());
    assert!(!client.is_established());
}

/// The server's events of one connection of a device of the chief's,
/// resumed from `saved` (IK) or, without it, enrolling with a new code (XK).
fn connect_after(town: &mut Town, saved: Option<&[u8]>, seed: u8) -> Vec<ServerEvent> {
    let mut client = match saved {
        Some(saved) => {
            let state = ClientState::from_bytes(saved).expect("restore");
            let mut client =
                ClientSession::resume(ClientConfig::default(), state, [seed; 32], 9_000)
                    .expect("resume");
            client.confirm_state_saved();
            client
        }
        None => {
            let code = town.activation(town.chief, seed);
            let state = ClientState::new([seed; 32], town.server_public());
            ClientSession::enroll(
                ClientConfig::default(),
                state,
                &code,
                "tablet",
                [seed; 32],
                9_000,
            )
            .expect("enroll")
        }
    };
    let mut server = town.server_session(seed, 9_000);
    // The server's refusal is what this looks at, not the pump's result.
    let _ = tidings::session::pump(&mut client, &mut server, &mut town.store, 9_000);
    server_events(&mut server)
}

#[test]
fn a_welcome_too_large_names_the_device_its_principal_and_the_list() {
    let mut town = Town::new();
    let (client, _server) = enroll(&mut town, CHIEF, 7, 1_000);
    let saved = client.state().to_bytes();
    let device = client.state().device_id();
    // A folder flood (one folder per plus-address): the list no longer
    // fits the Welcome, a single message.
    for n in 0..2_000 {
        let name = format!("Inbox/plus-addressed-{n:05}-{}", "x".repeat(24));
        town.store
            .add_collection(town.chief, proto::CollectionKind::Mail, &name)
            .expect("collection");
    }
    let chief = town.chief;
    for (saved, seed) in [(Some(saved.as_slice()), 40), (None, 41)] {
        let events = connect_after(&mut town, saved, seed);
        let refused = events.iter().find_map(|e| match e {
            ServerEvent::WelcomeTooLarge {
                device_id,
                principal_id,
                collections,
                bytes,
            } => Some((*device_id, *principal_id, *collections, *bytes)),
            _ => None,
        });
        let (device_id, principal_id, collections, bytes) =
            refused.unwrap_or_else(|| panic!("no WelcomeTooLarge in {events:?}"));
        assert_eq!(principal_id, chief);
        if saved.is_some() {
            assert_eq!(device_id, device, "the reconnecting device is named");
        }
        // The chief's Inbox and Calendar, the mayor's shared calendar, the flood.
        assert_eq!(collections, 2_003);
        assert!(bytes > 65_535, "{bytes} bytes");
        let closed = events.iter().find_map(|e| match e {
            ServerEvent::Closed { error: Some(e) } => Some(e.clone()),
            _ => None,
        });
        let closed = closed.expect("closed with an error");
        assert_eq!(closed.kind(), ErrorKind::MessageTooLarge);
        assert!(closed.to_string().contains("Welcome"), "{closed}");
    }
}
