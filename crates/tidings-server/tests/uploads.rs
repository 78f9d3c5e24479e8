//! A file far larger than one operation, through the running server: the
//! chief's phone uploads 2 MiB in parts, sends it to the mayor, and the
//! mayor's phone downloads the attachment by ranges, byte for byte; the
//! chief's Sent folder holds the mail too. And a forward carries its
//! original whole even when the original is deleted in the same turn.

mod common;
#[path = "uploads/forward_and_delete.rs"]
mod forward_and_delete;

use common::{LIMIT, Town, collection, operate_within, until};
use tidings::proto::{
    Address, FetchRange, Item, OutgoingAttachment, OutgoingMail, SendMail, UploadPart, item,
    operation::Kind, operation_result::Outcome,
};
use tidings::session::{ClientSession, MAX_RANGE_BYTES, MAX_UPLOAD_PART_BYTES};
use tidings_server::seed;

const SUBJECT: &str = "Harbour survey";

/// Bytes that do not repeat, so a misplaced piece would show.
fn survey(len: usize) -> Vec<u8> {
    let mut x = 0x2545_f491u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

/// The attachment of the mail with [`SUBJECT`]: (item, part id, size).
fn attachment(session: &ClientSession, folder: u64) -> Option<(u64, u32, u64)> {
    let replica = session.state().replica().collection(folder)?;
    replica
        .items()
        .iter()
        .find_map(|(id, held)| match &held.item {
            Item {
                kind: Some(item::Kind::Mail(m)),
            } if m.headers.as_ref().is_some_and(|h| h.subject == SUBJECT) => m
                .attachments
                .iter()
                .find(|a| a.filename == "survey.pdf")
                .map(|a| (*id, a.part_id, a.size)),
            _ => None,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_mib_file_is_uploaded_sent_and_downloaded_whole() {
    let town = Town::new().await;
    let file = survey(2 << 20);
    let mut chief = town.device(seed::CHIEF, "chief's phone").await;
    let upload_id = vec![0x5A; 16];
    for (n, chunk) in file.chunks(MAX_UPLOAD_PART_BYTES).enumerate() {
        let offset = (n * MAX_UPLOAD_PART_BYTES) as u64;
        let part = Kind::UploadPart(UploadPart {
            upload_id: upload_id.clone(),
            offset,
            data: chunk.to_vec(),
            total_size: file.len() as u64,
        });
        match operate_within(&mut chief, LIMIT, part).await {
            Outcome::Done(done) => assert_eq!(done.version, offset + chunk.len() as u64),
            other => panic!("part {n}: {other:?}"),
        }
    }
    let send = Kind::SendMail(SendMail {
        mail: Some(OutgoingMail {
            to: vec![Address {
                name: "Mayor".into(),
                email: seed::MAYOR.into(),
            }],
            subject: SUBJECT.into(),
            text: "The survey is attached.".into(),
            attachments: vec![OutgoingAttachment {
                filename: "survey.pdf".into(),
                content_type: "application/pdf".into(),
                upload_id,
                ..Default::default()
            }],
            ..Default::default()
        }),
    });
    let sent = operate_within(&mut chief, LIMIT, send).await;
    assert!(matches!(sent, Outcome::Done(_)), "{sent:?}");
    let chief_sent = collection(&town, seed::CHIEF, "Sent");
    until(&mut chief, |s| attachment(s, chief_sent).is_some()).await;

    let inbox = collection(&town, seed::MAYOR, "Inbox");
    let mut mayor = town.device(seed::MAYOR, "mayor's phone").await;
    until(&mut mayor, |s| attachment(s, inbox).is_some()).await;
    let (item, part, size) = attachment(mayor.session(), inbox).expect("attachment");
    assert_eq!(size, file.len() as u64);
    let mut downloaded = Vec::with_capacity(file.len());
    while downloaded.len() < file.len() {
        let range = Kind::FetchAttachment(FetchRange {
            collection_id: inbox,
            item_id: item,
            part_id: part,
            offset: downloaded.len() as u64,
            length: MAX_RANGE_BYTES,
            packed_item: false,
        });
        match operate_within(&mut mayor, LIMIT, range).await {
            Outcome::Range(r) if !r.data.is_empty() => downloaded.extend_from_slice(&r.data),
            other => panic!("at {}: {other:?}", downloaded.len()),
        }
    }
    assert!(downloaded == file, "the file arrives byte for byte");
}
