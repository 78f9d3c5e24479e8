//! `UploadPart` and uploaded attachments at their edges, against the
//! running server: every bad input gets its typed answer and the session
//! goes on; what is held stays as it was.

use crate::common::{LIMIT, Town, operate_within};
use crate::support::*;
use tidings::proto::{
    OutgoingAttachment, OutgoingMail, SendMail, operation::Kind, operation_result::Outcome,
};
use tidings::session::{MAX_UPLOAD_BYTES, MAX_UPLOAD_PART_BYTES};
use tidings_server::seed;

const INVALID: u32 = 801;
const LIMIT_EXCEEDED: u32 = 608;
const NOT_FOUND: u32 = 502;

/// A case: its name, the part, and whether the answer is the right one.
type Case = (&'static str, Kind, Box<dyn Fn(&Outcome) -> bool>);

fn held(outcome: &Outcome) -> Option<u64> {
    match outcome {
        Outcome::Done(d) => Some(d.version),
        _ => None,
    }
}

fn conflict(outcome: &Outcome) -> Option<u64> {
    match outcome {
        Outcome::Conflict(c) => Some(c.current_version),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_at_their_edges_get_typed_answers() {
    let town = Town::new().await;
    let mut dev = town.device(seed::CHIEF, "edges").await;
    let id = upload_id();
    let big = MAX_UPLOAD_BYTES as usize;
    let p = MAX_UPLOAD_PART_BYTES;
    let d = file(p + 1, 1);
    let cases: Vec<Case> = vec![
        (
            "15-byte id",
            part(&id[..15], 0, &d[..10], 10),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "17-byte id",
            part(&[7; 17], 0, &d[..10], 10),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "part over 48 KiB",
            part(&id, 0, &d, big),
            Box::new(|o| error_code(o) == Some(LIMIT_EXCEEDED)),
        ),
        (
            "file over 25 MiB",
            part(&id, 0, &d[..10], big + 1),
            Box::new(|o| error_code(o) == Some(LIMIT_EXCEEDED)),
        ),
        (
            "total u64::MAX",
            Kind::UploadPart(tidings::proto::UploadPart {
                upload_id: id.clone(),
                offset: 0,
                data: d[..10].to_vec(),
                total_size: u64::MAX,
            }),
            Box::new(|o| error_code(o) == Some(LIMIT_EXCEEDED)),
        ),
        (
            "offset u64::MAX",
            Kind::UploadPart(tidings::proto::UploadPart {
                upload_id: id.clone(),
                offset: u64::MAX,
                data: d[..10].to_vec(),
                total_size: 100,
            }),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "offset u64::MAX, no data",
            Kind::UploadPart(tidings::proto::UploadPart {
                upload_id: id.clone(),
                offset: u64::MAX,
                data: vec![],
                total_size: 100,
            }),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "ends past total",
            part(&id, 0, &d[..100], 99),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "unknown upload at 5",
            part(&id, 5, &d[..10], 100),
            Box::new(|o| conflict(o) == Some(0)),
        ),
        (
            "start",
            part(&id, 0, &d[..100], 300),
            Box::new(|o| held(o) == Some(100)),
        ),
        (
            "gap",
            part(&id, 150, &d[..10], 300),
            Box::new(|o| conflict(o) == Some(100)),
        ),
        (
            "behind",
            part(&id, 50, &d[..10], 300),
            Box::new(|o| conflict(o) == Some(100)),
        ),
        (
            "other total",
            part(&id, 100, &d[..10], 301),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "other total, wrong place",
            part(&id, 7, &d[..10], 301),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "empty part in place",
            part(&id, 100, &[], 300),
            Box::new(|o| held(o) == Some(100)),
        ),
        (
            "next",
            part(&id, 100, &d[100..300], 300),
            Box::new(|o| held(o) == Some(300)),
        ),
        (
            "past the end of a whole file",
            part(&id, 300, &d[..1], 300),
            Box::new(|o| error_code(o) == Some(INVALID)),
        ),
        (
            "empty part at the end",
            part(&id, 300, &[], 300),
            Box::new(|o| held(o) == Some(300)),
        ),
        (
            "zero-byte file",
            part(&[3; 16], 0, &[], 0),
            Box::new(|o| held(o) == Some(0)),
        ),
    ];
    for (name, kind, ok) in cases {
        let outcome = operate_within(&mut dev, LIMIT, kind).await;
        assert!(ok(&outcome), "{name}: {outcome:?}");
    }
    // Both files (300 bytes and 0 bytes) attach; naming them again finds nothing.
    let mut mail = OutgoingMail {
        to: vec![address(seed::MAYOR)],
        subject: "edges".into(),
        attachments: vec![
            OutgoingAttachment {
                filename: "a".into(),
                upload_id: id.clone(),
                ..Default::default()
            },
            OutgoingAttachment {
                filename: "empty".into(),
                upload_id: vec![3; 16],
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let send = |mail: &OutgoingMail| {
        Kind::SendMail(SendMail {
            mail: Some(mail.clone()),
        })
    };
    let twice = {
        let mut m = mail.clone();
        m.attachments.push(m.attachments[0].clone());
        m
    };
    let outcome = operate_within(&mut dev, LIMIT, send(&twice)).await;
    assert_eq!(
        error_code(&outcome),
        Some(INVALID),
        "named twice: {outcome:?}"
    );
    let with_data = {
        let mut m = mail.clone();
        m.attachments[0].data = vec![1];
        m
    };
    let outcome = operate_within(&mut dev, LIMIT, send(&with_data)).await;
    assert_eq!(
        error_code(&outcome),
        Some(INVALID),
        "with data: {outcome:?}"
    );
    let outcome = operate_within(&mut dev, LIMIT, send(&mail)).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let outcome = operate_within(&mut dev, LIMIT, send(&mail)).await;
    assert_eq!(error_code(&outcome), Some(NOT_FOUND), "taken: {outcome:?}");
    mail.attachments[0].upload_id = vec![9; 15];
    let outcome = operate_within(&mut dev, LIMIT, send(&mail)).await;
    assert_eq!(error_code(&outcome), Some(INVALID), "short id: {outcome:?}");
}

/// An upload of one device cannot be named by another device of the same
/// principal, nor continued by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_devices_upload_is_not_found() {
    let town = Town::new().await;
    let mut phone = town.device(seed::CHIEF, "phone").await;
    let mut tablet = town.device(seed::CHIEF, "tablet").await;
    let id = upload_id();
    let bytes = file(1000, 2);
    upload(&mut phone, &id, &bytes, 4).await;
    let outcome = operate_within(&mut tablet, LIMIT, part(&id, 1000, &[], 1000)).await;
    assert_eq!(conflict(&outcome), Some(0), "{outcome:?}");
    let outcome = operate_within(
        &mut tablet,
        LIMIT,
        send_upload(&[seed::MAYOR.into()], "theft", &id),
    )
    .await;
    assert_eq!(error_code(&outcome), Some(NOT_FOUND), "{outcome:?}");
}

/// A mail the server will not parse once composed (here an attached
/// `.eml` nesting more messages than the mail guard allows) is refused as
/// `InvalidData` (sync.md §6), not answered `Done` and dropped: nothing
/// reaches the recipient or the sender's Sent folder, and the upload is
/// kept, so the device may send the same file another way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_that_cannot_be_composed_is_refused_and_nothing_is_sent() {
    const INVALID_DATA: u32 = 505;
    let town = Town::new().await;
    let mut dev = town.device(seed::CHIEF, "nest").await;
    let levels = tidings::sync::mail::MAX_ATTACHED_MESSAGES + 100;
    let mut nest = b"Subject: nest\r\nContent-Type: message/rfc822\r\n\r\n".repeat(levels);
    nest.extend_from_slice(b"Subject: core\r\n\r\nthe innermost message\r\n");
    let id = upload_id();
    upload(&mut dev, &id, &nest, 4).await;
    let before = (
        town.visible_items(seed::MAYOR),
        town.visible_items(seed::CHIEF),
    );
    let attaching = |content_type: &str| {
        Kind::SendMail(SendMail {
            mail: Some(OutgoingMail {
                to: vec![address(seed::MAYOR)],
                subject: "nested".into(),
                attachments: vec![OutgoingAttachment {
                    filename: "nest.eml".into(),
                    content_type: content_type.into(),
                    upload_id: id.clone(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        })
    };
    let outcome = operate_within(&mut dev, LIMIT, attaching("message/rfc822")).await;
    assert_eq!(error_code(&outcome), Some(INVALID_DATA), "{outcome:?}");
    let after = (
        town.visible_items(seed::MAYOR),
        town.visible_items(seed::CHIEF),
    );
    assert_eq!(before, after, "a refused send stored nothing");
    // The same file as opaque bytes is a mail the server parses.
    let outcome = operate_within(&mut dev, LIMIT, attaching("application/octet-stream")).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert_ne!(town.visible_items(seed::MAYOR), before.0, "delivered");
}
