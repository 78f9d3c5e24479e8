//! Byte-range fetches of a real message's attachment, resumed after a restart.

mod items;
mod town;

use tidings::proto::{self, FetchRange, operation::Kind, operation_result::Outcome};
use tidings::session::{ClientConfig, ClientEvent, ClientSession, ClientState};
use tidings::sync::mail::part_bytes;
use town::*;

fn email_data() -> std::path::PathBuf {
    items::python_dir(
        "__import__('os').path.join(__import__('os').path.dirname(__import__('test.test_email').test_email.__file__), 'data')",
        "CPython's test/test_email/data is needed",
    )
}

fn ranges(client: &mut ClientSession) -> Vec<proto::RangeData> {
    client_events(client)
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::OperationResult(proto::OperationResult {
                outcome: Some(Outcome::Range(r)),
                ..
            }) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn an_attachment_downloads_in_ranges_and_resumes_after_a_restart() {
    let raw = std::fs::read(email_data().join("msg_07.txt")).expect("msg_07.txt");
    let mut town = Town::new();
    let id = town
        .store
        .add_message(town.chief_inbox, &raw, 2048)
        .expect("a real message");
    let (mut client, mut server) = enroll(&mut town, Who::Chief, 7, 1_000);
    let held = client
        .state()
        .replica()
        .collection(town.chief_inbox)
        .and_then(|r| r.items().get(&id))
        .cloned()
        .expect("pushed");
    let Some(proto::item::Kind::Mail(mail)) = held.item.kind else {
        panic!("not a mail")
    };
    let attachment = mail
        .attachments
        .iter()
        .find(|a| a.filename == "dingusfish.gif")
        .expect("the gif")
        .clone();
    assert_eq!(attachment.size, 3512);

    let fetch = |offset: u64, n: u8| {
        let range = FetchRange {
            collection_id: town.chief_inbox,
            item_id: id,
            part_id: attachment.part_id,
            offset,
            length: 1000,
            packed_item: false,
        };
        ([n; 16], Kind::FetchAttachment(range))
    };
    let mut bytes = Vec::new();
    // Two ranges, then the handset restarts.
    for n in 0..2u8 {
        let (op_id, kind) = fetch(bytes.len() as u64, n + 1);
        client.submit(2_000, op_id, kind).expect("submit");
        pump(&mut client, &mut server, &mut town.store, 2_000);
        for range in ranges(&mut client) {
            assert_eq!(range.offset, bytes.len() as u64);
            assert_eq!(range.total_size, attachment.size);
            bytes.extend_from_slice(&range.data);
        }
    }
    assert_eq!(bytes.len(), 2000);
    let saved = client.state().to_bytes();
    drop((client, server));
    let mut client = ClientSession::resume(
        ClientConfig::default(),
        ClientState::from_bytes(&saved).expect("restore"),
        [3; 32],
        9_000,
    )
    .expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(40, 9_000);
    pump(&mut client, &mut server, &mut town.store, 9_000);
    let mut n = 10;
    while (bytes.len() as u64) < attachment.size {
        n += 1;
        let (op_id, kind) = fetch(bytes.len() as u64, n);
        client.submit(9_000, op_id, kind).expect("submit");
        pump(&mut client, &mut server, &mut town.store, 9_000);
        for range in ranges(&mut client) {
            bytes.extend_from_slice(&range.data);
        }
    }
    assert_eq!(bytes, part_bytes(&raw, attachment.part_id).expect("part"));
    assert_eq!(&bytes[..6], b"GIF87a");
}

#[test]
fn a_device_asking_for_a_shorter_preview_gets_one_and_others_do_not() {
    let raw = std::fs::read(email_data().join("msg_07.txt")).expect("msg_07.txt");
    let mut town = Town::new();
    let id = town
        .store
        .add_message(town.chief_inbox, &raw, 2048)
        .expect("a real message");
    let preview_for = |town: &mut Town, preview_bytes: u32, seed: u8| {
        let code = town.activation(town.chief, seed);
        let config = ClientConfig {
            preview_bytes,
            ..ClientConfig::default()
        };
        let state = ClientState::new([seed; 32], town.server_public());
        let mut client =
            ClientSession::enroll(config, state, &code, "phone", [seed; 32], 0).expect("enroll");
        let mut server = town.server_session(seed, 0);
        pump(&mut client, &mut server, &mut town.store, 0);
        let held = client
            .state()
            .replica()
            .collection(town.chief_inbox)
            .and_then(|r| r.items().get(&id))
            .cloned()
            .expect("synced");
        match held.item.kind {
            Some(proto::item::Kind::Mail(mail)) => (mail.preview, mail.preview_truncated),
            _ => panic!("not a mail"),
        }
    };
    let (full, _) = preview_for(&mut town, 2048, 50);
    let (short, truncated) = preview_for(&mut town, 16, 51);
    assert!(
        full.len() > 16,
        "the message has more than 16 bytes of text"
    );
    assert!(short.len() <= 16 && truncated);
    assert!(full.starts_with(&short));
}
