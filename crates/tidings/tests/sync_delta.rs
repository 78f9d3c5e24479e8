//! Delta semantics: any schedule of server changes, synced in pages of any
//! size with any page delivered twice, leaves the device's replica equal to
//! the server's view; cursors only move forward; stale cursors get an
//! explicit resync-required, never a silent gap.

use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::compress::{InflateLimits, PackOptions, pack};
use tidings::proto::{self, Cursor, Item, MailHeaders, MailItem, ResyncReason, item};
use tidings::sync::{Applied, ChangeLog, CollectionReplica, Delta, PageLimits, ReplicaItem};

const COLLECTION: u64 = 7;

fn mail(id: u64, version: u8) -> Item {
    let subject = format!("item {id} version {version} ").repeat(usize::from(version % 4) * 8 + 1);
    Item {
        kind: Some(item::Kind::Mail(MailItem {
            id,
            folder_id: COLLECTION,
            headers: Some(MailHeaders {
                subject,
                ..MailHeaders::default()
            }),
            ..MailItem::default()
        })),
    }
}

fn packed(item: &Item) -> bytes::Bytes {
    pack(&proto::encode(item), &PackOptions::default()).into()
}

#[derive(Clone, Debug)]
enum Step {
    Upsert {
        id: u64,
        version: u8,
    },
    Flags {
        id: u64,
        flags: u32,
    },
    Remove {
        id: u64,
    },
    Compact,
    Recreate,
    Sync {
        max_items: usize,
        duplicate_every: usize,
        stop_after: Option<usize>,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u64..16, any::<u8>()).prop_map(|(id, version)| Step::Upsert { id, version }),
        4 => (0u64..16, 0u32..32).prop_map(|(id, flags)| Step::Flags { id, flags }),
        2 => (0u64..16).prop_map(|id| Step::Remove { id }),
        1 => Just(Step::Compact),
        1 => Just(Step::Recreate),
        4 => (1usize..6, 1usize..4, proptest::option::of(0usize..3))
            .prop_map(|(max_items, duplicate_every, stop_after)| Step::Sync { max_items, duplicate_every, stop_after }),
    ]
}

/// The server's view, decoded, for comparison with the replica.
fn server_view(log: &ChangeLog) -> Vec<(u64, ReplicaItem)> {
    log.live_items()
        .into_iter()
        .map(|(id, bytes, flags)| {
            let item = proto::decode(
                &tidings::compress::unpack(&bytes, &InflateLimits::default()).expect("unpack"),
            )
            .expect("item");
            (id, ReplicaItem { item, flags })
        })
        .collect()
}

/// Pulls pages from the replica's cursor until caught up (or `stop_after`
/// pages, a dropped connection), delivering every `duplicate_every`-th twice.
fn sync(
    log: &ChangeLog,
    replica: &mut CollectionReplica,
    max_items: usize,
    duplicate_every: usize,
    stop_after: Option<usize>,
) -> bool {
    // Changed items as patches for odd page sizes, whole for even ones.
    let limits = PageLimits {
        max_items,
        max_bytes: 1 << 20,
        patches: max_items % 2 == 1,
    };
    for n in 0.. {
        if stop_after == Some(n) {
            return false;
        }
        let before = replica.cursor();
        let delta = log.delta(&before, &limits);
        // Resent from the same cursor, a page is the same page: the server
        // keeps no per-device queue, only the log and the cursor.
        assert_eq!(log.delta(&before, &limits), delta, "a resent page differs");
        match delta {
            Delta::Resync(resync) => {
                let reason = ResyncReason::try_from(resync.reason).expect("reason");
                // Resync is legitimate only for a stale epoch or a compacted log.
                let stale_epoch = before.epoch != log.epoch() && before.modseq != 0;
                let compacted =
                    before.modseq != 0 && before.modseq < log.floor() && before.floor < log.floor();
                assert!(
                    stale_epoch || compacted,
                    "resync {reason:?} without cause at {before:?}"
                );
                replica.reset(resync.epoch);
            }
            Delta::Page(page) => {
                let applied = replica
                    .apply(&page, &InflateLimits::default())
                    .expect("page applies");
                assert!(
                    matches!(applied, Applied::Advanced { ref refetch, .. } if refetch.is_empty())
                        || page.to_modseq == before.modseq
                );
                if n % duplicate_every == 0 {
                    // A second delivery changes nothing.
                    let once = replica.clone();
                    replica
                        .apply(&page, &InflateLimits::default())
                        .expect("duplicate applies");
                    assert_eq!(*replica, once);
                }
                let after = replica.cursor();
                assert!(
                    after.epoch != before.epoch || after.modseq >= before.modseq,
                    "cursor moved backwards"
                );
                if !page.more {
                    return true;
                }
            }
        }
    }
    unreachable!()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn replicas_converge_under_any_schedule(steps in proptest::collection::vec(step(), 1..60)) {
        let mut log = ChangeLog::new(COLLECTION, 1);
        let mut replica = CollectionReplica::new(COLLECTION);
        for step in steps {
            match step {
                Step::Upsert { id, version } => { log.upsert(id, packed(&mail(id, version)), 0); }
                Step::Flags { id, flags } => { let _ = log.set_flags(id, flags); }
                Step::Remove { id } => { let _ = log.remove(id); }
                Step::Compact => log.compact(log.modseq()),
                Step::Recreate => log.recreate(),
                Step::Sync { max_items, duplicate_every, stop_after } => {
                    if sync(&log, &mut replica, max_items, duplicate_every, stop_after) {
                        let held: Vec<_> = replica.items().iter().map(|(id, item)| (*id, item.clone())).collect();
                        prop_assert_eq!(held, server_view(&log));
                        prop_assert_eq!(replica.cursor().modseq, log.modseq());
                    }
                }
            }
        }
        prop_assert!(sync(&log, &mut replica, 3, 2, None));
        let held: Vec<_> = replica.items().iter().map(|(id, item)| (*id, item.clone())).collect();
        prop_assert_eq!(held, server_view(&log));
    }
}

#[test]
fn a_compacted_removal_makes_an_old_cursor_resync() {
    let mut log = ChangeLog::new(COLLECTION, 1);
    log.upsert(1, packed(&mail(1, 1)), 0);
    let old = Cursor {
        collection_id: COLLECTION,
        epoch: 1,
        modseq: log.modseq(),
        ..Cursor::default()
    };
    log.upsert(2, packed(&mail(2, 1)), 0);
    log.remove(1).expect("live");
    log.compact(log.modseq());
    match log.delta(&old, &PageLimits::default()) {
        Delta::Resync(r) => assert_eq!(r.reason, ResyncReason::LogCompacted as i32),
        Delta::Page(p) => panic!("silent gap: {p:?}"),
    }
    // A fresh device is still served in full.
    let fresh = Cursor {
        collection_id: COLLECTION,
        ..Cursor::default()
    };
    assert!(
        matches!(log.delta(&fresh, &PageLimits::default()), Delta::Page(p) if p.upserts.len() == 1 && p.removals.is_empty())
    );
}

#[test]
fn flag_only_changes_travel_as_flag_changes() {
    let mut log = ChangeLog::new(COLLECTION, 1);
    log.upsert(1, packed(&mail(1, 9)), 0);
    let cursor = Cursor {
        collection_id: COLLECTION,
        epoch: 1,
        modseq: log.modseq(),
        ..Cursor::default()
    };
    log.set_flags(1, 1).expect("live");
    let Delta::Page(page) = log.delta(&cursor, &PageLimits::default()) else {
        panic!("resync")
    };
    assert!(page.upserts.is_empty());
    assert_eq!(
        page.flag_changes,
        vec![proto::FlagChange { id: 1, flags: 1 }]
    );
    // Unchanged flags are not a change.
    let at = log.modseq();
    assert_eq!(log.set_flags(1, 1), Ok(at));
    assert_eq!(
        log.set_flags(99, 1).map_err(|e| e.kind()),
        Err(ErrorKind::NotFound)
    );
}

#[test]
fn a_repair_page_updates_items_without_moving_the_cursor() {
    let mut log = ChangeLog::new(COLLECTION, 1);
    log.upsert(1, packed(&mail(1, 1)), 0);
    let mut replica = CollectionReplica::new(COLLECTION);
    let Delta::Page(page) = log.delta(&replica.cursor(), &PageLimits::default()) else {
        panic!("resync")
    };
    replica
        .apply(&page, &InflateLimits::default())
        .expect("applies");
    let at = replica.cursor();
    let (bytes, flags) = log.get(1).map(|(b, f)| (b.to_vec(), f)).expect("live");
    let repair = proto::DeltaPage {
        collection_id: COLLECTION,
        epoch: at.epoch,
        from_modseq: at.modseq,
        to_modseq: at.modseq,
        upserts: vec![proto::ItemUpsert {
            id: 1,
            packed: bytes,
            flags: flags | 4,
        }],
        ..Default::default()
    };
    replica
        .apply(&repair, &InflateLimits::default())
        .expect("repair applies");
    assert_eq!(replica.cursor(), at);
    assert_eq!(replica.items().get(&1).map(|i| i.flags), Some(4));
}

#[test]
fn a_gap_is_refused_and_the_replica_is_unchanged() {
    let mut log = ChangeLog::new(COLLECTION, 1);
    for id in 0..5 {
        log.upsert(id, packed(&mail(id, 1)), 0);
    }
    let mut replica = CollectionReplica::new(COLLECTION);
    let limits = PageLimits {
        max_items: 2,
        max_bytes: 1 << 20,
        ..PageLimits::default()
    };
    let Delta::Page(first) = log.delta(&replica.cursor(), &limits) else {
        panic!("resync")
    };
    let Delta::Page(second) = log.delta(
        &Cursor {
            epoch: 1,
            modseq: first.to_modseq,
            partial: true,
            ..replica.cursor()
        },
        &limits,
    ) else {
        panic!("resync")
    };
    let err = replica.apply(&second, &InflateLimits::default());
    assert_eq!(err.map_err(|e| e.kind()), Err(ErrorKind::InvalidCursor));
    assert!(replica.items().is_empty());
}
