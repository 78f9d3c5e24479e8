//! A device forwards a mail and deletes the original in one write (one
//! turn of the server, in practice): the forward still carries the
//! original whole, and the original's bytes are freed once the turn has
//! composed it (server.md, "Removed mail is freed").

use super::common::hostile::Raw;
use super::common::{LIMIT, Town, collection};
use std::time::Instant;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{
    self, Address, DeleteItems, ForwardMail, Item, OutgoingMail, item, operation::Kind,
};
use tidings::store::ItemStore;
use tidings_server::seed;

/// Found only in the original's attachment.
const MARKER: &str = "tide-gauge readings 4242, north pier";

fn original() -> Vec<u8> {
    format!(
        "From: Harbour Office <harbour@town.example>\r\nTo: {}\r\nSubject: Gauge readings\r\n\
Message-ID: <gauge@town.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
Readings attached.\r\n--b\r\nContent-Type: text/csv\r\n\
Content-Disposition: attachment; filename=\"gauge.csv\"\r\n\r\n{MARKER}\r\n--b--\r\n",
        seed::CHIEF
    )
    .into_bytes()
}

/// The subjects and raw bytes of the mail in `folder`.
fn mail_in(town: &Town, folder: u64) -> Vec<(String, Vec<u8>)> {
    let store = town.admin();
    let items = store.items(folder).expect("items");
    items
        .into_iter()
        .filter_map(|(id, packed, _)| {
            let item: Item =
                proto::decode(&unpack(&packed, &InflateLimits::default()).ok()?).ok()?;
            let Some(item::Kind::Mail(mail)) = item.kind else {
                return None;
            };
            let raw = store.raw_message(id).ok()??;
            Some((mail.headers?.subject, raw.to_vec()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_sent_with_its_originals_deletion_carries_the_original() {
    let town = Town::new().await;
    let inbox = collection(&town, seed::CHIEF, "Inbox");
    let mayor_inbox = collection(&town, seed::MAYOR, "Inbox");
    let id = town
        .admin()
        .add_message(inbox, &original(), 64)
        .expect("delivered");
    let device = town.device(seed::CHIEF, "chief's phone").await;
    let state = device.close().await.expect("close");
    let mut raw = Raw::resume(&town.server.tcp_addr().expect("tcp").to_string(), state).await;
    let mut ops = [
        Kind::ForwardMail(ForwardMail {
            collection_id: inbox,
            item_id: id,
            mail: Some(OutgoingMail {
                to: vec![Address {
                    name: "Mayor".into(),
                    email: seed::MAYOR.into(),
                }],
                subject: "Fwd: Gauge readings".into(),
                text: "For the board.".into(),
                ..Default::default()
            }),
        }),
        Kind::DeleteItems(DeleteItems {
            collection_id: inbox,
            item_ids: vec![id],
        }),
    ]
    .into_iter();
    // Both in one write: the server reads them as one turn.
    let bytes = raw.prepare_ops(2, || ops.next().expect("two operations"));
    raw.send(&bytes).await.expect("send");

    let started = Instant::now();
    let forwarded = loop {
        let held = mail_in(&town, mayor_inbox);
        if let Some((_, bytes)) = held.into_iter().find(|(s, _)| s == "Fwd: Gauge readings") {
            break bytes;
        }
        assert!(started.elapsed() < LIMIT, "no forward reached the mayor");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let forwarded = String::from_utf8_lossy(&forwarded);
    assert!(forwarded.contains(MARKER), "the original travels whole");
    assert!(forwarded.contains("message/rfc822"), "{forwarded}");
    // The original is gone, and so are its bytes.
    let started = Instant::now();
    while town.admin().item(inbox, id).expect("read").is_some() {
        assert!(started.elapsed() < LIMIT, "the original was not deleted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(town.admin().raw_message(id).expect("raw"), None);
}
