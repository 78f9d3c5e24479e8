//! Saved client state and activation codes: every encode/decode pair round
//! trips, and no bytes make the decoders panic.

mod town;

use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::proto::{self, operation::Kind};
use tidings::session::ClientState;
use tidings::store::ActivationCode;

fn operation() -> impl Strategy<Value = Kind> {
    prop_oneof![
        (
            any::<u64>(),
            proptest::collection::vec(any::<u64>(), 0..4),
            any::<u32>(),
            any::<u32>()
        )
            .prop_map(|(collection_id, item_ids, set, clear)| Kind::SetFlags(
                proto::SetFlags {
                    collection_id,
                    item_ids,
                    set,
                    clear
                }
            )),
        ("\\PC{0,30}", any::<u32>()).prop_map(|(query, limit)| Kind::Search(proto::Search {
            query,
            limit,
            ..Default::default()
        })),
        (any::<u64>(), any::<u64>(), "\\PC{0,30}").prop_map(|(calendar_id, id, summary)| {
            let master = proto::CalendarEvent {
                summary,
                ..Default::default()
            };
            let item = proto::CalendarItem {
                id,
                master: Some(master),
                ..Default::default()
            };
            Kind::CreateEvent(proto::CreateEvent {
                calendar_id,
                item: Some(item),
            })
        }),
        (
            any::<[u8; 16]>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..64),
            any::<u64>()
        )
            .prop_map(|(id, offset, data, total_size)| Kind::UploadPart(
                proto::UploadPart {
                    upload_id: id.to_vec(),
                    offset,
                    data,
                    total_size,
                }
            )),
        (any::<[u8; 16]>(), "\\PC{0,30}").prop_map(|(id, filename)| {
            let file = proto::OutgoingAttachment {
                filename,
                upload_id: id.to_vec(),
                ..Default::default()
            };
            Kind::SendMail(proto::SendMail {
                mail: Some(proto::OutgoingMail {
                    attachments: vec![file],
                    ..Default::default()
                }),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn saved_state_round_trips(secret in any::<[u8; 32]>(), server in any::<[u8; 32]>(), ops in proptest::collection::vec(operation(), 0..5)) {
        let mut state = ClientState::new(secret, server);
        for (n, kind) in ops.into_iter().enumerate() {
            state.queue([n as u8; 16], kind);
        }
        let restored = ClientState::from_bytes(&state.to_bytes()).expect("own bytes restore");
        prop_assert_eq!(restored.outbox(), state.outbox());
        prop_assert_eq!(restored.to_bytes(), state.to_bytes());
    }

    #[test]
    fn any_bytes_restore_or_are_refused_as_corrupt(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = ClientState::from_bytes(&bytes) {
            prop_assert_eq!(e.kind(), ErrorKind::StateCorrupt);
        }
    }

    #[test]
    fn activation_codes_round_trip(random in any::<[u8; 10]>()) {
        let code = ActivationCode::from_random(random);
        prop_assert_eq!(ActivationCode::parse(&code.display()).ok(), Some(code.clone()));
        prop_assert_eq!(ActivationCode::parse(&code.display().to_lowercase().replace('-', " ")).ok(), Some(code));
    }

    #[test]
    fn any_text_parses_or_is_rejected(text in "\\PC{0,40}") {
        if let Err(e) = ActivationCode::parse(&text) {
            prop_assert_eq!(e.kind(), ErrorKind::ActivationRejected);
        }
    }
}

#[test]
fn an_enrolled_state_with_items_round_trips() {
    let mut town = town::Town::new();
    town.add_meeting(
        town.mayor_calendar,
        "m@town",
        "Budget",
        &["mayor@town.example"],
    );
    let (client, _) = town::enroll(&mut town, town::Who::Chief, 7, 1_000);
    let state = client.state();
    assert!(
        state
            .replica()
            .collections()
            .any(|(_, r)| !r.items().is_empty())
    );
    let restored = ClientState::from_bytes(&state.to_bytes()).expect("restore");
    assert!(restored.is_enrolled());
    assert_eq!(restored.device_id(), state.device_id());
    assert_eq!(restored.replica(), state.replica());
    assert_eq!(restored.policy(), state.policy());
}
