//! The server acts on its own items whatever they inflate to: an item that
//! packs better than a device's inflate ratio allows (sync.md §3 rule 9: a
//! subject of one repeated word) reaches devices abridged, and every
//! operation on the server's whole copy still works. Read with a device's
//! limits, such an event could be neither answered nor deleted, and such a
//! mail neither replied to, forwarded nor found.

mod town;

use tidings::compress::InflateLimits;
use tidings::proto::{
    self, DeleteEvent, ForwardMail, FreeBusyQuery, ParticipationStatus, ReplyMail,
    RespondToInvitation, Search, item, operation::Kind, operation_result::Outcome,
};
use tidings::session::ServerEvent;
use tidings::store::ItemStore;
use town::*;

/// The item `make` gives for a new id, stored in `collection`; it packs
/// small but beyond a default device's inflate ratio.
fn store_compressible(
    town: &mut Town,
    collection: u64,
    make: impl FnOnce(u64) -> item::Kind,
) -> u64 {
    let id = town.store.allocate_id().expect("id");
    let bytes = packed(make(id));
    assert!(
        tidings::compress::unpack(&bytes, &InflateLimits::default()).is_err(),
        "a default device cannot inflate it"
    );
    town.store
        .upsert(collection, Some(id), bytes, 0)
        .expect("stored");
    id
}

#[test]
fn an_item_beyond_a_devices_inflate_ratio_is_answered_replied_found_counted_and_deleted() {
    let mut town = Town::new();
    let mayor_calendar = town.mayor_calendar;
    let event_id = store_compressible(&mut town, mayor_calendar, |id| {
        let mut event = meeting(
            id,
            mayor_calendar,
            "merge@town",
            "Mail merge",
            &["mayor@town.example"],
        );
        if let Some(master) = event.master.as_mut() {
            master.description = "-".repeat(100_000);
        }
        item::Kind::Calendar(event)
    });
    let inbox = town.chief_inbox;
    let mail_id = store_compressible(&mut town, inbox, |id| {
        let mut long = mail(&"Long".repeat(17_500), "clerk@town.example");
        if let item::Kind::Mail(m) = &mut long {
            (m.id, m.folder_id) = (id, inbox);
        }
        long
    });
    let (mut chief, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
    server_events(&mut server);

    let ops = [
        Kind::Respond(RespondToInvitation {
            calendar_id: mayor_calendar,
            item_id: event_id,
            status: ParticipationStatus::Accepted as i32,
            ..Default::default()
        }),
        Kind::Search(Search {
            query: "longlong".into(),
            collection_ids: vec![inbox],
            limit: 10,
        }),
        Kind::ReplyMail(ReplyMail {
            collection_id: inbox,
            item_id: mail_id,
            reply_all: false,
            mail: None,
        }),
        Kind::ForwardMail(ForwardMail {
            collection_id: inbox,
            item_id: mail_id,
            mail: Some(proto::OutgoingMail {
                to: vec![proto::Address {
                    name: String::new(),
                    email: "mayor@town.example".into(),
                }],
                ..Default::default()
            }),
        }),
        Kind::FreeBusy(FreeBusyQuery {
            principal_id: town.mayor,
            start: 1_796_256_000,
            end: 1_796_342_400,
        }),
    ];
    for (n, op) in ops.into_iter().enumerate() {
        chief.submit(2_000, [40 + n as u8; 16], op).expect("submit");
    }
    pump(&mut chief, &mut server, &mut town.store, 2_000);
    let answers = outcomes(&mut chief);
    assert_eq!(answers.len(), 5, "{answers:?}");
    assert!(
        matches!(answers[0], Outcome::Done(_)),
        "answered: {:?}",
        answers[0]
    );
    assert!(
        matches!(&answers[1], Outcome::Search(s) if s.hits.iter().any(|h| h.item_id == mail_id)),
        "found: {:?}",
        answers[1]
    );
    assert!(
        matches!(answers[2], Outcome::Done(_)),
        "replied: {:?}",
        answers[2]
    );
    assert!(
        matches!(answers[3], Outcome::Done(_)),
        "forwarded: {:?}",
        answers[3]
    );
    assert!(
        matches!(&answers[4], Outcome::FreeBusy(f) if f.periods.len() == 1 && f.skipped.is_empty()),
        "counted: {:?}",
        answers[4]
    );
    // The reply goes to the original's sender, found in the whole copy.
    let sent: Vec<_> = server_events(&mut server)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Outgoing(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].mail.to[0].email, "clerk@town.example");

    // The answered event is version 2 now; deleting it needs no device limits.
    let delete = Kind::DeleteEvent(DeleteEvent {
        calendar_id: mayor_calendar,
        item_id: event_id,
        expected_version: 2,
    });
    chief.submit(3_000, [50; 16], delete).expect("submit");
    pump(&mut chief, &mut server, &mut town.store, 3_000);
    let deleted = outcomes(&mut chief);
    assert!(
        matches!(deleted[..], [Outcome::Done(_)]),
        "deleted: {deleted:?}"
    );
    assert!(
        town.store
            .item(mayor_calendar, event_id)
            .expect("store")
            .is_none()
    );
}
