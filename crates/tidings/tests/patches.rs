//! Item patches (sync.md §3.1): a changed item reaches a device that holds
//! its previous version as the fields that changed; every other device gets
//! it whole; a patch that does not fit the held copy is refetched, never
//! applied.

mod town;

use tidings::compress::InflateLimits;
use tidings::proto::{
    self, CalendarItem, Cursor, DeltaPage, Feature, Item, ParticipationStatus, item,
};
use tidings::session::{ClientConfig, ClientSession, FEATURES, ServerSession};
use tidings::store::ItemStore;
use tidings::sync::{Applied, ChangeLog, CollectionReplica, Delta, PageLimits};
use town::{CHIEF, Town, enroll, event as event_held, meeting, packed, pump};

const CALENDAR: u64 = 7;

fn answered(event: &CalendarItem, status: ParticipationStatus) -> CalendarItem {
    let mut new = event.clone();
    new.version += 1;
    let master = new.master.as_mut().expect("master");
    master.attendees[0].status = status as i32;
    master.dtstamp = "20261203T101500Z".into();
    new
}

fn calendar_packed(event: &CalendarItem) -> bytes::Bytes {
    packed(item::Kind::Calendar(event.clone()))
}

fn held(replica: &CollectionReplica, id: u64) -> &Item {
    &replica.items()[&id].item
}

fn page(log: &ChangeLog, cursor: &Cursor, patches: bool) -> DeltaPage {
    let limits = PageLimits {
        patches,
        ..PageLimits::default()
    };
    match log.delta(cursor, &limits) {
        Delta::Page(page) => page,
        Delta::Resync(resync) => panic!("resync {resync:?}"),
    }
}

/// A log holding one meeting and a replica that synced it.
fn synced_meeting() -> (ChangeLog, CollectionReplica, CalendarItem) {
    let mut log = ChangeLog::new(CALENDAR, 1);
    let event = meeting(
        1,
        CALENDAR,
        "budget@town",
        "Budget",
        &["mayor@town.example", "chief@town.example"],
    );
    log.upsert(1, calendar_packed(&event), 0);
    let mut replica = CollectionReplica::new(CALENDAR);
    let first = page(&log, &replica.cursor(), true);
    replica
        .apply(&first, &InflateLimits::default())
        .expect("applies");
    (log, replica, event)
}

#[test]
fn an_answer_reaches_a_device_that_held_the_event_as_a_patch() {
    let (mut log, mut replica, event) = synced_meeting();
    let new = answered(&event, ParticipationStatus::Accepted);
    log.upsert(1, calendar_packed(&new), 0);
    let patched = page(&log, &replica.cursor(), true);
    assert_eq!((patched.patches.len(), patched.upserts.len()), (1, 0));
    let whole = page(&log, &replica.cursor(), false);
    assert_eq!((whole.patches.len(), whole.upserts.len()), (0, 1));
    let (patch_bytes, whole_bytes) = (proto::encode(&patched).len(), proto::encode(&whole).len());
    assert!(
        patch_bytes * 2 < whole_bytes,
        "{patch_bytes} B against {whole_bytes} B"
    );
    let applied = replica.apply(&patched, &InflateLimits::default());
    assert!(matches!(applied, Ok(Applied::Advanced { ref refetch, .. }) if refetch.is_empty()));
    assert_eq!(
        held(&replica, 1),
        &Item {
            kind: Some(item::Kind::Calendar(new))
        }
    );
}

#[test]
fn a_cursor_older_than_the_patch_or_partial_gets_the_item_whole() {
    let (mut log, replica, event) = synced_meeting();
    let old_cursor = replica.cursor();
    let second = answered(&event, ParticipationStatus::Tentative);
    log.upsert(1, calendar_packed(&second), 0);
    let third = answered(&second, ParticipationStatus::Accepted);
    log.upsert(1, calendar_packed(&third), 0);
    // The patch starts from the second version; this device holds the first.
    let page_for_old = page(&log, &old_cursor, true);
    assert_eq!(
        (page_for_old.patches.len(), page_for_old.upserts.len()),
        (0, 1)
    );
    let partial = Cursor {
        modseq: log.modseq() - 1,
        partial: true,
        ..old_cursor
    };
    let page_for_partial = page(&log, &partial, true);
    assert_eq!(
        (
            page_for_partial.patches.len(),
            page_for_partial.upserts.len()
        ),
        (0, 1)
    );
    let complete = Cursor {
        partial: false,
        ..partial
    };
    assert_eq!(page(&log, &complete, true).patches.len(), 1);
}

#[test]
fn a_patch_for_a_placeholder_or_an_overlapping_page_is_refetched() {
    let (mut log, _, event) = synced_meeting();
    // A device whose limits refused the event holds a placeholder.
    let tiny = InflateLimits {
        max_output: 8,
        ratio_floor: 8,
        ..InflateLimits::default()
    };
    let mut refused = CollectionReplica::with_kind(CALENDAR, proto::CollectionKind::Calendar);
    refused
        .apply(&page(&log, &refused.cursor(), true), &tiny)
        .expect("applies");
    let placeholder = held(&refused, 1).clone();
    let cursor = refused.cursor();
    log.upsert(
        1,
        calendar_packed(&answered(&event, ParticipationStatus::Declined)),
        0,
    );
    let patched = page(&log, &cursor, true);
    let applied = refused.apply(&patched, &InflateLimits::default());
    assert!(matches!(applied, Ok(Applied::Advanced { ref refetch, .. }) if refetch == &[1]));
    assert_eq!(held(&refused, 1), &placeholder, "the held copy stays");
    assert_eq!(refused.cursor().modseq, log.modseq());

    // A page that starts before the cursor may carry a change already
    // applied: its patches are refetched too.
    let (mut log, mut replica, event) = synced_meeting();
    let before = replica.cursor();
    log.upsert(
        1,
        calendar_packed(&answered(&event, ParticipationStatus::Accepted)),
        0,
    );
    log.upsert(2, calendar_packed(&meeting(2, CALENDAR, "b", "B", &[])), 0);
    let both = page(&log, &before, true);
    let first_only = DeltaPage {
        to_modseq: both.to_modseq - 1,
        upserts: vec![],
        ..both.clone()
    };
    replica
        .apply(&first_only, &InflateLimits::default())
        .expect("applies");
    let again = replica.apply(&both, &InflateLimits::default());
    assert!(matches!(again, Ok(Applied::Advanced { ref refetch, .. }) if refetch == &[1]));
}

fn resume(
    town: &mut Town,
    state: tidings::session::ClientState,
    features: u32,
    seed: u8,
) -> (ClientSession, ServerSession) {
    let config = ClientConfig {
        features,
        ..ClientConfig::default()
    };
    let mut client = ClientSession::resume(config, state, [seed; 32], 2_000).expect("resume");
    client.confirm_state_saved();
    let mut server = town.server_session(seed.wrapping_add(1), 2_000);
    pump(&mut client, &mut server, &mut town.store, 2_000);
    (client, server)
}

/// Bytes the server sends for one change pushed to a caught-up session.
fn push_bytes(client: &mut ClientSession, server: &mut ServerSession, town: &mut Town) -> usize {
    server.push_changes(3_000, &town.store).expect("push");
    let mut sent = 0;
    while let Some(bytes) = server.poll_transmit() {
        sent += bytes.len();
        client.handle_bytes(3_000, &bytes).expect("applies");
    }
    pump(client, server, &mut town.store, 3_000);
    sent
}

#[test]
fn devices_with_and_without_patches_both_converge_and_only_one_gets_them() {
    let mut town = Town::new();
    let id = town.add_meeting(
        town.chief_calendar,
        "review@town",
        "Review",
        &["chief@town.example", "clerk@town.example"],
    );
    let (new_device, _) = enroll(&mut town, CHIEF, 11, 1_000);
    let (old_device, _) = enroll(&mut town, CHIEF, 21, 1_000);
    let (mut new_client, mut new_server) =
        resume(&mut town, new_device.state().clone(), FEATURES, 31);
    let old_features = FEATURES & !(Feature::ItemPatches as u32);
    let (mut old_client, mut old_server) =
        resume(&mut town, old_device.state().clone(), old_features, 41);

    let event = answered(
        &event_held(&new_client, town.chief_calendar, id),
        ParticipationStatus::Accepted,
    );
    town.store
        .upsert(town.chief_calendar, Some(id), calendar_packed(&event), 0)
        .expect("answer");
    let patched = push_bytes(&mut new_client, &mut new_server, &mut town);
    let whole = push_bytes(&mut old_client, &mut old_server, &mut town);
    assert!(
        patched < whole,
        "{patched} B with patches, {whole} B without"
    );
    for client in [&new_client, &old_client] {
        assert_eq!(event_held(client, town.chief_calendar, id), event);
    }
}
