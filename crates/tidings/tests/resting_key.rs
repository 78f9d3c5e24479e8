//! A server session frees its receive key's expanded schedule after every
//! read, and its send key's once every frame is drained (`RestingCipher`),
//! and expands each again for the next message: the session keeps working
//! through pushes, acknowledgements, operations and rekeys, and between
//! them neither schedule is held. (A rekey of a resting state:
//! `crypto::cipherstate` unit tests.)

mod town;

use tidings::crypto::RekeyPolicy;
use tidings::proto::{ParticipationStatus, RespondToInvitation, operation::Kind};
use tidings::session::{ClientConfig, ClientSession, ClientState, ServerConfig, ServerSession};
use tidings::store::ItemStore;
use town::*;

#[test]
fn both_keys_rest_between_messages_and_the_session_goes_on() {
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let mut client =
        ClientSession::enroll(ClientConfig::default(), state, &code, "phone", [4; 32], 0)
            .expect("enroll");
    // A rekey every few messages: a rekey marker is sealed by a resting
    // key too.
    let config = ServerConfig {
        rekey: RekeyPolicy::DEFAULT.with_max_messages(4),
        ..ServerConfig::default()
    };
    let mut server = ServerSession::new(config, town.keys.clone(), [5; 32], 0);
    pump(&mut client, &mut server, &mut town.store, 0);
    assert!(server.is_established());
    assert_rests(&server, "after the initial sync");

    let inbox = town.chief_inbox;
    for round in 1..=30u64 {
        let now = round * 1_000;
        let id = town
            .store
            .upsert(
                inbox,
                None,
                packed(mail(&format!("Round {round}"), "clerk@town.example")),
                0,
            )
            .expect("inbox")
            .0;
        server.push_changes(now, &town.store).expect("push");
        pump(&mut client, &mut server, &mut town.store, now);
        assert_rests(&server, &format!("round {round}"));
        if round % 3 == 0 {
            // An operation: the device speaks first, the server answers.
            town.store.set_flags(inbox, id, 1).expect("live");
            server.push_changes(now, &town.store).expect("push");
            pump(&mut client, &mut server, &mut town.store, now);
        }
    }
    let meeting = town.add_meeting(
        town.chief_calendar,
        "m@town",
        "Budget",
        &["chief@town.example"],
    );
    server.push_changes(40_000, &town.store).expect("push");
    pump(&mut client, &mut server, &mut town.store, 40_000);
    client
        .submit(
            41_000,
            [9; 16],
            Kind::Respond(RespondToInvitation {
                calendar_id: town.chief_calendar,
                item_id: meeting,
                status: ParticipationStatus::Accepted as i32,
                ..RespondToInvitation::default()
            }),
        )
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, 41_000);
    let events = client_events(&mut client);
    assert!(
        events.iter().any(|e| matches!(
            e,
            tidings::session::ClientEvent::OperationResult(r) if r.op_id == [9; 16]
        )),
        "the operation came back: {events:?}"
    );
    assert_eq!(subjects(&client, inbox).len(), 31, "every mail arrived");
    assert!(!client.is_closed() && !server.is_closed());
    assert_rests(&server, "at the end");
}

fn assert_rests(server: &ServerSession, when: &str) {
    assert!(
        !server.is_receive_key_expanded_for_testing_only(),
        "receive key expanded {when}"
    );
    assert!(
        !server.is_send_key_expanded_for_testing_only(),
        "send key expanded {when}"
    );
}
