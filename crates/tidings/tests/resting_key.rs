//! A server session frees its receive key's expanded schedule after every
//! read (`CipherState::rest`) and expands it again for the next: the
//! session keeps working through pushes, acknowledgements and operations,
//! and between reads the schedule is not held. (A rekey while resting:
//! `crypto::cipherstate` unit tests.)

mod town;

use tidings::proto::{ParticipationStatus, RespondToInvitation, operation::Kind};
use tidings::session::{ClientConfig, ClientSession, ClientState, ServerConfig, ServerSession};
use tidings::store::ItemStore;
use town::*;

#[test]
fn the_receive_key_rests_between_reads_and_the_session_goes_on() {
    let mut town = Town::new();
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    let mut client =
        ClientSession::enroll(ClientConfig::default(), state, &code, "phone", [4; 32], 0)
            .expect("enroll");
    let mut server = ServerSession::new(ServerConfig::default(), town.keys.clone(), [5; 32], 0);
    pump(&mut client, &mut server, &mut town.store, 0);
    assert!(server.is_established());
    assert!(!server.is_receive_key_expanded_for_testing_only());

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
        assert!(
            !server.is_receive_key_expanded_for_testing_only(),
            "round {round}"
        );
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
    assert!(!server.is_receive_key_expanded_for_testing_only());
}
