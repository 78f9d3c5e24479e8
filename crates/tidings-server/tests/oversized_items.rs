//! No item is ever undeliverable (issue 15, item 1), against the real server
//! over loopback: each shape that used to end every session with 207 (an
//! Outlook-style invitation with an inline image, a 400 KB description, a
//! mail to 5,000 recipients, a mail with 20,000 parts, a 90 KB subject) is
//! delivered, and then every other item of the user still syncs, to an
//! existing device and to one enrolled afterwards; the abridged items are
//! marked, and the whole item is a range fetch away.

mod common;

use common::*;
use tidings::compress::InflateLimits;
use tidings::proto::{FetchRange, Item, item, operation::Kind, operation_result::Outcome};
use tidings::session::{ClientEvent, MAX_RANGE_BYTES};
use tidings::sync::MAX_PACKED_ITEM;
use tidings::sync::abridge::abridged;
use tidings_server::{admin, seed};

/// Text deflate cannot shrink, so sizes are what they look like.
fn noise(len: usize, seed: u64) -> String {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

fn to_5000() -> Vec<u8> {
    let to: Vec<String> = (0..5000)
        .map(|i| format!("{} <{}@town.example>", noise(24, i), noise(20, i + 7777)))
        .collect();
    format!(
        "From: ops@town.example\r\nTo: {}\r\nSubject: To all staff\r\n\r\nHello all.\r\n",
        to.join(",\r\n ")
    )
    .into_bytes()
}

fn parts_20000() -> Vec<u8> {
    let mut raw = String::from(
        "From: ops@town.example\r\nTo: chief@town.example\r\nSubject: Many parts\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"p\"\r\n\r\n",
    );
    for i in 0..20_000u64 {
        raw += &format!(
            "--p\r\nContent-Type: application/octet-stream; name=\"{0}.bin\"\r\n\
Content-Disposition: attachment; filename=\"{0}.bin\"\r\n\r\nx\r\n",
            noise(24, i)
        );
    }
    raw += "--p--\r\n";
    raw.into_bytes()
}

fn subject_90k() -> Vec<u8> {
    format!(
        "From: ops@town.example\r\nTo: chief@town.example\r\nSubject: {}\r\n\r\nLong subject.\r\n",
        noise(90_000, 3)
    )
    .into_bytes()
}

/// An invitation as Outlook writes one: the HTML description with an inline
/// image in X-ALT-DESC, and a 400 KB plain description in a second event.
fn invitations() -> String {
    let image = noise(200_000, 11);
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n\
BEGIN:VEVENT\r\nUID:outlook-inline-image\r\nDTSTAMP:20261201T090000Z\r\n\
DTSTART:20261203T090000Z\r\nDTEND:20261203T100000Z\r\nSUMMARY:Budget review\r\n\
X-ALT-DESC;FMTTYPE=text/html:<html><body><img src=\"data:image/png;base64,{image}\"></body></html>\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:long-description\r\nDTSTAMP:20261201T090000Z\r\n\
DTSTART:20261204T090000Z\r\nDTEND:20261204T100000Z\r\nSUMMARY:Minutes\r\n\
DESCRIPTION:{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        noise(400_000, 12)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_items_reach_old_and_new_devices_abridged_and_nothing_else_waits() {
    let town = Town::new().await;
    let mut old = town.device(seed::CHIEF, "old phone").await;
    let inbox = collection(&town, seed::CHIEF, "Inbox");
    let calendar = collection(&town, seed::CHIEF, "Calendar");

    let mut big = Vec::new();
    {
        let mut admin_store = town.admin();
        for raw in [to_5000(), parts_20000(), subject_90k()] {
            big.push((
                inbox,
                admin::deliver_mail(&mut admin_store, seed::CHIEF, &raw).expect("delivered"),
            ));
        }
        for id in admin::add_events(&mut admin_store, calendar, &invitations()).expect("added") {
            big.push((calendar, id));
        }
        // Each is too large for one page as it is stored.
        let sizes: Vec<usize> = big
            .iter()
            .map(|&(collection, id)| {
                tidings::store::ItemStore::item(&admin_store, collection, id)
                    .expect("readable")
                    .expect("stored")
                    .0
                    .len()
            })
            .collect();
        assert!(
            sizes.iter().all(|&n| n > MAX_PACKED_ITEM),
            "every shape is oversized: {sizes:?}"
        );
        // Mail after them still arrives.
        admin::deliver_mail(
            &mut admin_store,
            seed::CHIEF,
            &mail("chief", "After the flood"),
        )
        .expect("delivered");
    }

    let expected = town.visible_items(seed::CHIEF);
    let arrived = |s: &tidings::session::ClientSession| {
        holds(s) == expected && subjects(s, inbox).iter().any(|t| t == "After the flood")
    };
    until(&mut old, arrived).await;
    let mut new = town.device(seed::CHIEF, "new phone").await;
    until(&mut new, arrived).await;

    for device in [&old, &new] {
        let replica = device.session().state().replica();
        for &(collection, id) in &big {
            let held = &replica
                .collection(collection)
                .and_then(|c| c.items().get(&id))
                .expect("the oversized item is held")
                .item;
            let mark = abridged(held).expect("held abridged");
            assert!(mark.packed_size > MAX_PACKED_ITEM as u64);
        }
    }

    // The whole invitation, by range, completes the new device's copy.
    let (collection, id) = *big.last().expect("an event");
    let mut whole = Vec::new();
    loop {
        let op = new
            .submit(Kind::FetchBody(FetchRange {
                collection_id: collection,
                item_id: id,
                offset: whole.len() as u64,
                length: MAX_RANGE_BYTES,
                packed_item: true,
                ..FetchRange::default()
            }))
            .await
            .expect("sent");
        let range = new
            .wait_for(LIMIT, |e| match e {
                ClientEvent::OperationResult(r) if r.op_id == op => match &r.outcome {
                    Some(Outcome::Range(range)) => Some(range.clone()),
                    _ => None,
                },
                _ => None,
            })
            .await
            .expect("a range");
        whole.extend_from_slice(&range.data);
        if whole.len() as u64 >= range.total_size {
            break;
        }
    }
    let mut replica = new.session().state().replica().clone();
    let limits = InflateLimits::default();
    replica
        .complete(collection, id, &whole, &limits)
        .expect("the whole item fits the device's limits");
    let Some(Item {
        kind: Some(item::Kind::Calendar(event)),
    }) = replica
        .collection(collection)
        .and_then(|c| c.items().get(&id))
        .map(|h| h.item.clone())
    else {
        panic!("an event");
    };
    assert!(event.abridged.is_none());
    let description = &event.master.expect("master").description;
    assert_eq!(description.len(), 400_000, "the whole description is back");
}
