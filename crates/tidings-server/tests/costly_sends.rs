//! A costly mail a device sends is composed and read as the store will
//! keep it before its operation takes the store's write lock (security.md:
//! a text of thousands of tiny pasted files, mailed to oneself, held every
//! other device's writes for seconds). Through the running server.

mod common;

use common::{LIMIT, Town, collection, operate_within};
use std::time::{Duration, Instant};
use tidings::proto::{
    Address, OutgoingAttachment, OutgoingMail, SendMail, SetFlags, UploadPart, operation::Kind,
    operation_result::Outcome,
};
use tidings::session::{ClientEvent, MAX_UPLOAD_PART_BYTES};
use tidings::store::ItemStore;
use tidings_server::client::Connection;
use tidings_server::seed;

/// A text file of `blocks` tiny uuencoded files (`begin`, one data line,
/// `end`), as if pasted: the reader looks at every block.
fn pasted_files(blocks: usize) -> Vec<u8> {
    let mut text = Vec::new();
    for n in 0..blocks {
        text.extend_from_slice(format!("begin 644 f{n}.txt\n#86)C\n`\nend\n").as_bytes());
    }
    text
}

async fn upload(device: &mut Connection, upload_id: &[u8], file: &[u8]) {
    for (n, chunk) in file.chunks(MAX_UPLOAD_PART_BYTES).enumerate() {
        let part = Kind::UploadPart(UploadPart {
            upload_id: upload_id.to_vec(),
            offset: (n * MAX_UPLOAD_PART_BYTES) as u64,
            data: chunk.to_vec(),
            total_size: file.len() as u64,
        });
        let outcome = operate_within(device, LIMIT, part).await;
        assert!(matches!(outcome, Outcome::Done(_)), "part {n}: {outcome:?}");
    }
}

/// When the result of `op_id` reaches `device`, and what it was.
async fn answered(device: &mut Connection, op_id: [u8; 16]) -> (Instant, Outcome) {
    let outcome = device
        .wait_for(LIMIT, |e| match e {
            ClientEvent::OperationResult(r) if r.op_id == op_id => r.outcome.clone(),
            _ => None,
        })
        .await
        .expect("an answer");
    (Instant::now(), outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_devices_write_does_not_wait_while_a_costly_mail_is_read() {
    let town = Town::new().await;
    let mut sender = town.device(seed::CHIEF, "sender").await;
    let mut writer = town.device(seed::MAYOR, "writer").await;
    let upload_id = [0x3C; 16];
    upload(&mut sender, &upload_id, &pasted_files(300_000)).await;
    let inbox = collection(&town, seed::MAYOR, "Inbox");
    let item = town.admin().items(inbox).expect("items")[0].0;

    let send = Kind::SendMail(SendMail {
        mail: Some(OutgoingMail {
            to: vec![Address {
                name: "Chief".into(),
                email: seed::CHIEF.into(),
            }],
            subject: "Pasted".into(),
            text: "See the file.".into(),
            attachments: vec![OutgoingAttachment {
                filename: "pasted.txt".into(),
                content_type: "text/plain".into(),
                upload_id: upload_id.to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        }),
    });
    let held = |name| {
        let folder = collection(&town, seed::CHIEF, name);
        town.admin().items(folder).expect("items").len()
    };
    let before = [held("Inbox"), held("Sent")];
    let submitted = Instant::now();
    let send = sender.submit(send).await.expect("submit");
    // Once the server is reading the mail (its read takes seconds here),
    // another principal's device changes a flag.
    let flag = SetFlags {
        collection_id: inbox,
        item_ids: vec![item],
        set: 1,
        clear: 0,
    };
    let ((sent_at, sent), (flagged_at, flagged)) =
        tokio::join!(answered(&mut sender, send), async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let flag = writer.submit(Kind::SetFlags(flag)).await.expect("submit");
            answered(&mut writer, flag).await
        });
    assert!(matches!(sent, Outcome::Done(_)), "{sent:?}");
    assert!(matches!(flagged, Outcome::Done(_)), "{flagged:?}");
    let (send_took, flag_took) = (sent_at - submitted, flagged_at - submitted);
    eprintln!("send answered after {send_took:?}, the flag after {flag_took:?}");
    assert!(
        flagged_at < sent_at,
        "the flag waited for the send: answered after {flag_took:?}, the send after {send_took:?}"
    );
    // And the mail went: into the chief's Inbox and Sent.
    assert_eq!([held("Inbox"), held("Sent")], before.map(|n| n + 1));
}
