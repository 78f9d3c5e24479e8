//! No item is ever undeliverable (issue 15, item 1), shape by shape, through
//! real client and server sessions: each oversized item reaches an existing
//! device and a freshly enrolled one abridged, every other item of the user
//! still syncs to both, the prepared-page fan-out carries it, the whole item
//! is a range fetch away, and an abridged event cannot overwrite the whole.

mod town;

use tidings::compress::InflateLimits;
use tidings::proto::{
    self, Address, Attachment, CalendarEvent, CalendarItem, FetchRange, MailHeaders, MailItem,
    RawProperty, UpdateEvent, item, operation::Kind, operation_result::Outcome,
};
use tidings::session::{ClientSession, MAX_RANGE_BYTES, PreparedPage};
use tidings::store::ItemStore;
use tidings::sync::abridge::abridged;
use tidings::sync::{MAX_PACKED_ITEM, PageLimits};
use tidings::{ErrorKind, proto::Item};
use town::*;

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

fn inline_image_invitation(id: u64, calendar: u64) -> item::Kind {
    item::Kind::Calendar(CalendarItem {
        id,
        calendar_id: calendar,
        version: 1,
        master: Some(CalendarEvent {
            uid: "outlook-1".into(),
            summary: "Budget review".into(),
            other: vec![RawProperty {
                name: "X-ALT-DESC".into(),
                params: "FMTTYPE=text/html".into(),
                value: format!("<img src=\"data:image/png;base64,{}\">", noise(200_000, 1)),
            }],
            ..CalendarEvent::default()
        }),
        ..CalendarItem::default()
    })
}

fn long_description(id: u64, calendar: u64) -> item::Kind {
    item::Kind::Calendar(CalendarItem {
        id,
        calendar_id: calendar,
        version: 1,
        master: Some(CalendarEvent {
            uid: "minutes-1".into(),
            summary: "Minutes".into(),
            description: noise(400_000, 2),
            ..CalendarEvent::default()
        }),
        ..CalendarItem::default()
    })
}

fn to_5000(id: u64, folder: u64) -> item::Kind {
    let to = (0..5000)
        .map(|i| Address {
            name: noise(24, i),
            email: format!("{}@town.example", noise(20, i + 9999)),
        })
        .collect();
    item::Kind::Mail(MailItem {
        id,
        folder_id: folder,
        headers: Some(MailHeaders {
            subject: "To all staff".into(),
            to,
            ..MailHeaders::default()
        }),
        ..MailItem::default()
    })
}

fn parts_20000(id: u64, folder: u64) -> item::Kind {
    item::Kind::Mail(MailItem {
        id,
        folder_id: folder,
        attachments: (0..20_000u32)
            .map(|i| Attachment {
                part_id: i + 1,
                filename: format!("{}.bin", noise(24, u64::from(i))),
                content_type: "application/octet-stream".into(),
                size: 1,
                ..Attachment::default()
            })
            .collect(),
        ..MailItem::default()
    })
}

fn subject_90k(id: u64, folder: u64) -> item::Kind {
    item::Kind::Mail(MailItem {
        id,
        folder_id: folder,
        headers: Some(MailHeaders {
            subject: noise(90_000, 3),
            ..MailHeaders::default()
        }),
        ..MailItem::default()
    })
}

fn held(client: &ClientSession, collection: u64, id: u64) -> Option<Item> {
    let replica = client.state().replica().collection(collection)?;
    replica.items().get(&id).map(|h| h.item.clone())
}

/// Everything the store says the chief may see, as (collection, ids).
fn server_view(town: &Town) -> Vec<(u64, Vec<u64>)> {
    [town.chief_inbox, town.chief_calendar, town.mayor_calendar]
        .into_iter()
        .map(|c| {
            let ids = town.store.items(c).expect("store");
            (c, ids.into_iter().map(|(id, _, _)| id).collect())
        })
        .collect()
}

fn device_view(client: &ClientSession, town: &Town) -> Vec<(u64, Vec<u64>)> {
    [town.chief_inbox, town.chief_calendar, town.mayor_calendar]
        .into_iter()
        .map(|c| {
            let ids = client
                .state()
                .replica()
                .collection(c)
                .map(|r| r.items().keys().copied().collect())
                .unwrap_or_default();
            (c, ids)
        })
        .collect()
}

/// The whole scenario for one shape, built by `make(id, collection)`.
fn shape(calendar: bool, make: fn(u64, u64) -> item::Kind) {
    let mut town = Town::new();
    let (mut old, mut old_server) = enroll(&mut town, CHIEF, 7, 1_000);
    let collection = if calendar {
        town.chief_calendar
    } else {
        town.chief_inbox
    };
    let id = town.store.allocate_id().expect("id");
    let big = packed(make(id, collection));
    assert!(big.len() > MAX_PACKED_ITEM, "the shape is oversized");
    let from = old
        .state()
        .replica()
        .collection(collection)
        .expect("held")
        .cursor();
    town.store
        .upsert(collection, Some(id), big, 0)
        .expect("stored");
    let inbox = town.chief_inbox;
    town.store
        .upsert(
            inbox,
            None,
            packed(mail("After it", "clerk@town.example")),
            0,
        )
        .expect("stored");

    // Fan-out: the prepared page fits one frame.
    let prepared = PreparedPage::new(&town.store, &from, &PageLimits::default())
        .expect("store")
        .expect("a page");
    assert!(prepared.padded_len() < 65_519);

    // The existing device gets it, and the item after it.
    old_server.push_changes(2_000, &town.store).expect("pushed");
    pump(&mut old, &mut old_server, &mut town.store, 2_000);
    assert!(!old.is_closed(), "the session survives the oversized item");
    assert_eq!(device_view(&old, &town), server_view(&town));
    assert!(subjects(&old, town.chief_inbox).contains(&"After it".to_string()));

    // A new device enrolls with it present and gets everything.
    let (new, _new_server) = enroll(&mut town, CHIEF, 9, 3_000);
    assert!(!new.is_closed());
    assert_eq!(device_view(&new, &town), server_view(&town));

    for client in [&old, &new] {
        let item = held(client, collection, id).expect("held");
        let mark = abridged(&item).expect("abridged");
        assert_eq!(mark.reason, proto::AbridgedReason::TooLarge as i32);
    }

    // The whole item by range completes the old device's copy.
    let mut whole = Vec::new();
    let mut n = 0u8;
    loop {
        n += 1;
        let range = FetchRange {
            collection_id: collection,
            item_id: id,
            offset: whole.len() as u64,
            length: MAX_RANGE_BYTES,
            packed_item: true,
            ..FetchRange::default()
        };
        old.submit(4_000, [n; 16], Kind::FetchBody(range))
            .expect("queued");
        pump(&mut old, &mut old_server, &mut town.store, 4_000);
        let Some(Outcome::Range(r)) = outcomes(&mut old).pop() else {
            panic!("a range");
        };
        whole.extend_from_slice(&r.data);
        if whole.len() as u64 >= r.total_size {
            break;
        }
    }
    let mut replica = old.state().replica().clone();
    let limits = InflateLimits::default();
    replica
        .complete(collection, id, &whole, &limits)
        .expect("fits the default limits");
    let complete = replica
        .collection(collection)
        .and_then(|c| c.items().get(&id))
        .expect("held");
    assert_eq!(
        complete.item,
        Item {
            kind: Some(make(id, collection))
        }
    );

    // An abridged event sent back whole would lose what was cut: refused.
    // (One whose abridging only dropped properties whole is another case:
    // `an_edit_of_an_invitation_abridged_for_its_image_keeps_the_image`.)
    let lost_more =
        |mark: &proto::Abridged| mark.cut_texts > 0 || mark.omitted_entries != mark.dropped_whole;
    let held_event = held(&old, collection, id).and_then(|i| i.kind);
    if let Some(item::Kind::Calendar(cut)) = held_event
        .filter(|kind| matches!(kind, item::Kind::Calendar(c) if c.abridged.as_ref().is_some_and(lost_more)))
    {
        let update = UpdateEvent {
            calendar_id: collection,
            item: Some(cut),
            expected_version: 1,
        };
        old.submit(5_000, [0xee; 16], Kind::UpdateEvent(update))
            .expect("queued");
        pump(&mut old, &mut old_server, &mut town.store, 5_000);
        assert_eq!(
            outcomes(&mut old).pop(),
            Some(Outcome::Error(proto::ErrorInfo {
                code: ErrorKind::ItemAbridged.code().into(),
                hello_floor: 0,
            }))
        );
        let (stored, _) = town
            .store
            .item(collection, id)
            .expect("store")
            .expect("kept");
        assert_eq!(stored, packed(make(id, collection)), "nothing was lost");
    }

    // The session completes its own replica the same way (what the bindings
    // call), so the whole item is what it holds and saves from then on.
    old.complete_item(collection, id, &whole)
        .expect("fits the session's limits");
    assert_eq!(
        held(&old, collection, id),
        Some(Item {
            kind: Some(make(id, collection))
        })
    );
    let kind = |r: Result<(), tidings::Error>| r.err().map(|e| e.kind());
    assert_eq!(
        kind(old.complete_item(collection, u64::MAX, &whole)),
        Some(ErrorKind::NotFound)
    );
    assert_eq!(
        kind(old.complete_item(u64::MAX, id, &whole)),
        Some(ErrorKind::NotFound)
    );
}

#[test]
fn an_outlook_invitation_with_an_inline_image() {
    shape(true, inline_image_invitation);
}

#[test]
fn an_edit_of_an_invitation_abridged_for_its_image_keeps_the_image() {
    let mut town = Town::new();
    let (mut device, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let calendar = town.chief_calendar;
    let id = town.store.allocate_id().expect("id");
    let whole = inline_image_invitation(id, calendar);
    town.store
        .upsert(calendar, Some(id), packed(whole.clone()), 0)
        .expect("stored");
    server.push_changes(2_000, &town.store).expect("pushed");
    pump(&mut device, &mut server, &mut town.store, 2_000);
    let Some(item::Kind::Calendar(mut edit)) = held(&device, calendar, id).and_then(|i| i.kind)
    else {
        panic!("the invitation is held");
    };
    let mark = edit.abridged.expect("abridged for its image");
    assert_eq!(
        (mark.cut_texts, mark.omitted_entries, mark.dropped_whole),
        (0, 1, 1)
    );

    // The device moves the meeting from the copy it holds, image and all.
    edit.master.as_mut().expect("master").summary = "Budget review (moved)".into();
    let update = UpdateEvent {
        calendar_id: calendar,
        item: Some(edit),
        expected_version: 1,
    };
    device
        .submit(3_000, [0xed; 16], Kind::UpdateEvent(update))
        .expect("queued");
    pump(&mut device, &mut server, &mut town.store, 3_000);
    assert!(matches!(
        outcomes(&mut device).pop(),
        Some(Outcome::Done(_))
    ));

    let (stored, _) = town.store.item(calendar, id).expect("store").expect("kept");
    let mut expected = whole;
    if let item::Kind::Calendar(event) = &mut expected {
        event.version = 2;
        event.master.as_mut().expect("master").summary = "Budget review (moved)".into();
    }
    assert_eq!(
        stored,
        packed(expected),
        "the edit, with the image it never saw"
    );
}

/// A placeholder (ids only, as a device makes of an upsert it cannot
/// unpack) sent back as an edit of a large event is refused: stored, it
/// would have emptied the event on the server and every device.
#[test]
fn a_placeholder_sent_back_as_an_edit_is_refused() {
    let mut town = Town::new();
    let (mut device, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let calendar = town.chief_calendar;
    let id = town.store.allocate_id().expect("id");
    let whole = packed(inline_image_invitation(id, calendar));
    town.store
        .upsert(calendar, Some(id), whole.clone(), 0)
        .expect("stored");
    for (op, reason) in [
        (0xa1, proto::AbridgedReason::RefusedByDevice),
        (0xa2, proto::AbridgedReason::Unreadable),
    ] {
        let placeholder = CalendarItem {
            id,
            calendar_id: calendar,
            version: 1,
            abridged: Some(proto::Abridged {
                reason: reason as i32,
                ..Default::default()
            }),
            ..CalendarItem::default()
        };
        let update = UpdateEvent {
            calendar_id: calendar,
            item: Some(placeholder),
            expected_version: 1,
        };
        device
            .submit(3_000, [op; 16], Kind::UpdateEvent(update))
            .expect("queued");
        pump(&mut device, &mut server, &mut town.store, 3_000);
        let outcome = outcomes(&mut device).pop();
        assert!(
            matches!(&outcome, Some(Outcome::Error(e)) if e.code == u32::from(ErrorKind::ItemAbridged.code())),
            "{reason:?}: {outcome:?}"
        );
    }
    let (stored, _) = town.store.item(calendar, id).expect("store").expect("kept");
    assert_eq!(stored, whole, "the event is as it was");
}

/// Ten large mails in a row: a page carries at most four of them abridged
/// (each is cut again whenever it is sent), the rest follow in the next
/// pages, and a device catching up gets every one.
#[test]
fn a_page_carries_at_most_four_abridged_items() {
    use tidings::sync::{Delta, MAX_ABRIDGED_PER_PAGE};
    let mut town = Town::new();
    let inbox = town.chief_inbox;
    let from = tidings::proto::Cursor {
        collection_id: inbox,
        epoch: town.store.collection_state(inbox).expect("state").0,
        modseq: town.store.collection_state(inbox).expect("state").1,
        ..Default::default()
    };
    let mut ids = Vec::new();
    for _ in 0..10 {
        let id = town.store.allocate_id().expect("id");
        town.store
            .upsert(inbox, Some(id), packed(to_5000(id, inbox)), 0)
            .expect("stored");
        ids.push(id);
    }
    let Delta::Page(page) = town
        .store
        .delta(&from, &PageLimits::default())
        .expect("delta")
    else {
        panic!("a page");
    };
    assert_eq!(page.upserts.len(), MAX_ABRIDGED_PER_PAGE);
    assert!(page.more, "the rest follow");
    assert!(
        page.upserts
            .iter()
            .all(|u| u.packed.len() <= MAX_PACKED_ITEM)
    );

    let (mut device, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    pump(&mut device, &mut server, &mut town.store, 2_000);
    let held = device.state().replica().collection(inbox).expect("held");
    assert!(
        ids.iter().all(|id| held.items().contains_key(id)),
        "every one arrives"
    );
}

#[test]
fn an_event_with_a_400_kb_description() {
    shape(true, long_description);
}

#[test]
fn a_mail_to_5000_recipients() {
    shape(false, to_5000);
}

#[test]
fn a_mail_with_20000_parts() {
    shape(false, parts_20000);
}

#[test]
fn a_mail_with_a_90_kb_subject() {
    shape(false, subject_90k);
}

#[test]
fn an_upsert_the_device_cannot_unpack_is_a_placeholder_and_the_rest_applies() {
    use tidings::proto::{CollectionInfo, CollectionKind, DeltaPage, ItemUpsert};
    use tidings::sync::Replica;
    let mut replica = Replica::default();
    replica.set_collections(vec![CollectionInfo {
        id: 4,
        kind: CollectionKind::Mail as i32,
        epoch: 1,
        ..CollectionInfo::default()
    }]);
    // 1 MiB of text packs small, but this device allows 64 KiB per item.
    let huge = packed(item::Kind::Mail(MailItem {
        id: 1,
        preview: "a".repeat(1 << 20),
        ..MailItem::default()
    }));
    let page = DeltaPage {
        collection_id: 4,
        epoch: 1,
        from_modseq: 0,
        to_modseq: 2,
        upserts: vec![
            ItemUpsert {
                id: 1,
                packed: huge.to_vec(),
                flags: 1,
            },
            ItemUpsert {
                id: 2,
                packed: packed(mail("Fine", "a@town.example")).to_vec(),
                flags: 0,
            },
        ],
        ..DeltaPage::default()
    };
    let limits = InflateLimits {
        max_output: 64 << 10,
        ..InflateLimits::default()
    };
    replica.apply(&page, &limits).expect("the page applies");
    let items = replica.collection(4).expect("held").items();
    let placeholder = &items.get(&1).expect("a placeholder").item;
    let mark = abridged(placeholder).expect("marked");
    assert_eq!(mark.reason, proto::AbridgedReason::RefusedByDevice as i32);
    assert_eq!(mark.packed_size, huge.len() as u64);
    assert_eq!(items.get(&1).map(|h| h.flags), Some(1));
    assert!(items.get(&2).is_some(), "the next item is not held up");
    assert_eq!(replica.collection(4).map(|c| c.cursor().modseq), Some(2));
}

/// A mail whose 70 KB subject repeats one word (real mail: a runaway
/// mail merge): it packs far under 48 KiB, but better than 128:1.
fn repeated_subject_70k(id: u64, folder: u64) -> item::Kind {
    item::Kind::Mail(MailItem {
        id,
        folder_id: folder,
        headers: Some(MailHeaders {
            subject: "Long".repeat(17_500),
            ..MailHeaders::default()
        }),
        ..MailItem::default()
    })
}

/// An event whose 100 KB description is one dashed line, over and over.
fn repetitive_description(id: u64, calendar: u64) -> item::Kind {
    item::Kind::Calendar(CalendarItem {
        id,
        calendar_id: calendar,
        version: 1,
        master: Some(CalendarEvent {
            uid: "bigdesc-1".into(),
            summary: "Huge repetitive description".into(),
            description: "-".repeat(100_000),
            ..CalendarEvent::default()
        }),
        ..CalendarItem::default()
    })
}

/// An item small when packed but beyond a default device's inflate ratio
/// reaches existing and new devices abridged, with its texts, never as a
/// `RefusedByDevice` placeholder.
fn too_compressible(calendar: bool, make: fn(u64, u64) -> item::Kind) -> Vec<Item> {
    let mut town = Town::new();
    let (mut old, mut old_server) = enroll(&mut town, CHIEF, 7, 1_000);
    let collection = if calendar {
        town.chief_calendar
    } else {
        town.chief_inbox
    };
    let id = town.store.allocate_id().expect("id");
    let small = packed(make(id, collection));
    assert!(small.len() <= MAX_PACKED_ITEM, "the shape packs small");
    assert!(
        tidings::compress::unpack(&small, &InflateLimits::default()).is_err(),
        "and a default device cannot inflate it"
    );
    town.store
        .upsert(collection, Some(id), small, 0)
        .expect("stored");
    old_server.push_changes(2_000, &town.store).expect("pushed");
    pump(&mut old, &mut old_server, &mut town.store, 2_000);
    assert!(!old.is_closed());
    let (new, _new_server) = enroll(&mut town, CHIEF, 9, 3_000);
    [&old, &new]
        .into_iter()
        .map(|client| {
            let item = held(client, collection, id).expect("held");
            let mark = abridged(&item).expect("abridged");
            assert_eq!(mark.reason, proto::AbridgedReason::TooLarge as i32);
            item
        })
        .collect()
}

#[test]
fn a_mail_with_a_70_kb_repeated_subject_arrives_abridged_not_blank() {
    for item in too_compressible(false, repeated_subject_70k) {
        let Some(item::Kind::Mail(mail)) = item.kind else {
            panic!("a mail");
        };
        let subject = mail.headers.expect("headers").subject;
        assert_eq!(subject, "Long".repeat(256), "cut to 1 KiB, not lost");
    }
}

#[test]
fn an_event_with_a_huge_repetitive_description_arrives_abridged_not_blank() {
    for item in too_compressible(true, repetitive_description) {
        let Some(item::Kind::Calendar(cal)) = item.kind else {
            panic!("an event");
        };
        let master = cal.master.expect("master");
        assert_eq!(master.summary, "Huge repetitive description");
        assert_eq!(master.description, "-".repeat(8 << 10));
    }
}

#[test]
fn an_operation_no_frame_can_carry_is_refused_and_not_queued() {
    // Queued, it would be sent again at every resume and end each session
    // with 207: the device could never sync again.
    let mut town = Town::new();
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    let huge = proto::OutgoingMail {
        to: vec![Address {
            name: String::new(),
            email: "clerk@town.example".into(),
        }],
        attachments: vec![proto::OutgoingAttachment {
            filename: "photo.jpg".into(),
            content_type: "image/jpeg".into(),
            data: noise(70_000, 3).into_bytes(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let send = |mail| Kind::SendMail(proto::SendMail { mail: Some(mail) });
    let refused = chief
        .submit(2_000, [1; 16], send(huge))
        .expect_err("too large for a frame");
    assert_eq!(refused.kind(), ErrorKind::MessageTooLarge);
    assert!(chief.state().outbox().is_empty(), "nothing queued");
    assert!(!chief.is_closed(), "the session goes on");
    let small = proto::OutgoingMail {
        to: vec![Address {
            name: String::new(),
            email: "clerk@town.example".into(),
        }],
        text: "Photo follows by other means.".into(),
        ..Default::default()
    };
    chief.submit(2_000, [2; 16], send(small)).expect("fits");
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    assert!(
        !chief.is_closed() && chief.state().outbox().is_empty(),
        "answered"
    );
}
