//! The SQLite store must behave exactly like the core's `MemoryStore`, the
//! reference: same deltas for every cursor after any sequence of changes.

use super::{Durability, SqliteStore};
use bytes::Bytes;
use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::proto::{CollectionKind, Cursor, OperationResult};
use tidings::store::{
    APPLIED_OPERATIONS_PER_DEVICE, ActivationCode, DeviceRegistry, Directory, ItemStore,
    MemoryStore, WipeState,
};
use tidings::sync::{PageLimits, Rights};

#[derive(Clone, Debug)]
enum Change {
    Add(u8),
    Replace(usize, u8),
    Flag(usize, u32),
    Remove(usize),
    Compact(u64),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => any::<u8>().prop_map(Change::Add),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Change::Replace(i, b)),
        2 => (any::<usize>(), 0u32..4).prop_map(|(i, f)| Change::Flag(i, f)),
        1 => any::<usize>().prop_map(Change::Remove),
        1 => (0u64..40).prop_map(Change::Compact),
    ]
}

/// A calendar item's packed version `b`: versions share most of their
/// content, so replacing one with another keeps a patch (sync.md §3.1).
fn version(b: u8) -> Bytes {
    use tidings::proto::{Attendee, CalendarEvent, CalendarItem, item::Kind};
    let attendee = Attendee {
        status: i32::from(b % 5),
        ..Attendee::default()
    };
    tidings::sync::pack_item(Kind::Calendar(CalendarItem {
        version: u64::from(b),
        master: Some(CalendarEvent {
            summary: "Council meeting".into(),
            location: format!("Room {}", b % 4),
            description: "Budget, second reading. ".repeat(8),
            attendees: vec![attendee; 3],
            ..CalendarEvent::default()
        }),
        ..CalendarItem::default()
    }))
}

/// Applies one change to a store; `ids` are the items created so far.
fn apply<S: ItemStore>(
    store: &mut S,
    compact: &mut dyn FnMut(&mut S, u64),
    collection: u64,
    ids: &mut Vec<u64>,
    change: &Change,
) -> Option<u64> {
    let pick = |i: usize| ids.get(i % ids.len().max(1)).copied();
    match *change {
        Change::Add(b) => {
            let (id, modseq) = store.upsert(collection, None, version(b), 0).ok()?;
            ids.push(id);
            Some(modseq)
        }
        Change::Replace(i, b) => store
            .upsert(collection, pick(i), version(b), 1)
            .ok()
            .map(|(_, m)| m),
        Change::Flag(i, f) => store.set_flags(collection, pick(i)?, f).ok(),
        Change::Remove(i) => store.remove(collection, pick(i)?).ok(),
        Change::Compact(up_to) => {
            compact(store, up_to);
            None
        }
    }
}

fn stores() -> (MemoryStore, SqliteStore, u64) {
    let mut memory = MemoryStore::new();
    let mut sqlite = SqliteStore::open_in_memory().expect("open");
    let owner = memory.add_principal("Ada", "ada@town.example");
    assert_eq!(sqlite.add_principal("Ada", "ada@town.example"), Ok(owner));
    let inbox = memory
        .add_collection(owner, CollectionKind::Mail, "Inbox")
        .expect("collection");
    assert_eq!(
        sqlite.add_collection(owner, CollectionKind::Mail, "Inbox"),
        Ok(inbox)
    );
    (memory, sqlite, inbox)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn deltas_match_the_memory_store(
        changes in proptest::collection::vec(change(), 1..40),
        cursors in proptest::collection::vec((0u64..45, 0u64..45, any::<bool>(), 1u64..3), 1..12),
        max_items in 1usize..6,
    ) {
        let (mut memory, mut sqlite, inbox) = stores();
        let (mut memory_ids, mut sqlite_ids) = (Vec::new(), Vec::new());
        for change in &changes {
            let a = apply(
                &mut memory,
                &mut |m: &mut MemoryStore, up_to| {
                    m.change_log_mut(inbox).expect("log").compact(up_to);
                },
                inbox,
                &mut memory_ids,
                change,
            );
            let b = apply(
                &mut sqlite,
                &mut |s: &mut SqliteStore, up_to| s.compact(inbox, up_to).expect("compact"),
                inbox,
                &mut sqlite_ids,
                change,
            );
            prop_assert_eq!(a, b, "{:?}", change);
        }
        prop_assert_eq!(memory.items(inbox), sqlite.items(inbox));
        let limits = PageLimits { max_items, max_bytes: 600, patches: max_items % 2 == 0 };
        for (modseq, floor, partial, epoch) in cursors {
            let cursor = Cursor { collection_id: inbox, epoch, modseq, floor, partial };
            prop_assert_eq!(
                memory.delta(&cursor, &limits),
                sqlite.delta(&cursor, &limits),
                "{:?}", cursor
            );
        }
    }
}

#[test]
fn everything_survives_reopening_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("town.db");
    let (device, inbox, cursor);
    {
        let mut store = SqliteStore::open(&path, Durability::PowerLoss).expect("open");
        let ada = store
            .add_principal("Ada", "ada@town.example")
            .expect("principal");
        let sam = store
            .add_principal("Sam", "sam@town.example")
            .expect("principal");
        inbox = store
            .add_collection(ada, CollectionKind::Mail, "Inbox")
            .expect("collection");
        store.grant(inbox, sam, Rights::READ).expect("grant");
        store
            .add_message(inbox, b"From: a@b\r\nSubject: hi\r\n\r\nhello\r\n", 2048)
            .expect("message");
        let code = ActivationCode::from_random([1; 10]);
        store
            .create_activation(sam, &code, u64::MAX, 3)
            .expect("activation");
        device = store
            .redeem_activation(&code.display(), [7; 32], "phone", 0)
            .expect("redeem")
            .id;
        cursor = Cursor {
            collection_id: inbox,
            epoch: 1,
            modseq: 1,
            floor: 0,
            partial: false,
        };
        store.save_cursor(device, cursor).expect("cursor");
        store.record_hello(device, u64::MAX - 1).expect("hello");
        store.set_wipe(device, WipeState::Pending(9)).expect("wipe");
    }
    let store = SqliteStore::open(&path, Durability::Process).expect("reopen");
    let sam = store
        .principal_by_email("SAM@town.example")
        .expect("query")
        .expect("sam");
    assert_eq!(store.rights(sam.id, inbox), Ok(Rights::READ));
    assert_eq!(store.cursors(device), Ok(vec![cursor]));
    let record = store.device(device).expect("device");
    assert_eq!(
        record.last_hello,
        Some(u64::MAX - 1),
        "u64 stored bit for bit"
    );
    assert_eq!(record.wipe, WipeState::Pending(9));
    assert_eq!(
        store.device_by_key(&[7; 32]).map(|d| d.map(|d| d.id)),
        Ok(Some(device))
    );
    assert_eq!(store.items(inbox).map(|i| i.len()), Ok(1));
    let (id, _, _) = store.items(inbox).expect("items").remove(0);
    assert_eq!(
        store.mail_part(inbox, id, 0).expect("part").as_deref(),
        Some(&b"hello\r\n"[..]),
        "raw message kept for range fetches"
    );
}

#[test]
fn activation_rules_are_the_cores() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let code = ActivationCode::from_random([2; 10]);
    store
        .create_activation(ada, &code, 1_000, 2)
        .expect("activation");
    let mut wrong = code.display();
    wrong.replace_range(18.., if wrong.ends_with('0') { "1" } else { "0" });
    let kind = |r: tidings::Result<_>| {
        r.map(|_: tidings::store::DeviceRecord| ())
            .map_err(|e| e.kind())
    };
    assert_eq!(
        kind(store.redeem_activation(&wrong, [1; 32], "x", 0)),
        Err(ErrorKind::ActivationRejected)
    );
    assert_eq!(
        kind(store.redeem_activation(&wrong, [1; 32], "x", 0)),
        Err(ErrorKind::ActivationAttemptsExceeded)
    );
    assert_eq!(
        kind(store.redeem_activation(&code.display(), [1; 32], "x", 0)),
        Err(ErrorKind::ActivationRejected),
        "burned after the last wrong guess"
    );
    let fresh = ActivationCode::from_random([3; 10]);
    store
        .create_activation(ada, &fresh, 1_000, 2)
        .expect("activation");
    assert_eq!(
        kind(store.redeem_activation(&fresh.display(), [1; 32], "x", 1_000)),
        Err(ErrorKind::ActivationRejected),
        "expired"
    );
}

#[test]
fn applied_operations_are_remembered_within_the_window() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let code = ActivationCode::from_random([4; 10]);
    store
        .create_activation(ada, &code, u64::MAX, 1)
        .expect("activation");
    let device = store
        .redeem_activation(&code.display(), [4; 32], "x", 0)
        .expect("redeem")
        .id;
    let result = |n: usize| OperationResult {
        op_id: n.to_le_bytes().to_vec(),
        outcome: None,
    };
    for n in 0..=APPLIED_OPERATIONS_PER_DEVICE {
        store.record_operation(device, result(n)).expect("record");
    }
    assert_eq!(
        store.applied_operation(device, &0usize.to_le_bytes()),
        Ok(None),
        "oldest forgotten"
    );
    assert_eq!(
        store.applied_operation(device, &1usize.to_le_bytes()),
        Ok(Some(result(1)))
    );
    assert_eq!(
        store.applied_operation(device, &APPLIED_OPERATIONS_PER_DEVICE.to_le_bytes()),
        Ok(Some(result(APPLIED_OPERATIONS_PER_DEVICE)))
    );
}

#[test]
fn a_failed_transaction_leaves_nothing_and_a_batch_keeps_its_writes() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let failed: tidings::Result<()> = store.transaction(|s| {
        s.add_principal("Ada", "ada@town.example")?;
        Err(ErrorKind::InvalidData.into())
    });
    assert!(failed.is_err());
    assert_eq!(store.principal_by_email("ada@town.example"), Ok(None));
    let failed: tidings::Result<()> = store.batch(|s| {
        s.add_principal("Ada", "ada@town.example")?;
        Err(ErrorKind::InvalidData.into())
    });
    assert!(failed.is_err());
    assert!(
        store
            .principal_by_email("ada@town.example")
            .expect("query")
            .is_some()
    );
}

#[test]
fn a_reader_never_sees_a_head_without_its_item() {
    // The server's watcher reads heads while other processes write. A new
    // head seen without its item would make it serve a page that skips the
    // item for good, so a change must commit as one, transaction or not.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("race.db");
    let mut writer = SqliteStore::open(&path, Durability::Process).expect("open");
    let owner = writer
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let inbox = writer
        .add_collection(owner, CollectionKind::Mail, "Inbox")
        .expect("collection");
    let reader = SqliteStore::open(&path, Durability::Process).expect("open");
    let writing = std::thread::spawn(move || {
        for n in 0..300 {
            let raw = format!("From: a@b\r\nSubject: {n}\r\n\r\nbody\r\n");
            writer
                .add_message(inbox, raw.as_bytes(), 2048)
                .expect("deliver");
        }
    });
    let mut looks = 0;
    while !writing.is_finished() || looks == 0 {
        reader.conn.execute_batch("BEGIN").expect("begin");
        let head: i64 = reader
            .conn
            .query_row(
                "SELECT modseq FROM collections WHERE id = ?1",
                [inbox as i64],
                |r| r.get(0),
            )
            .expect("head");
        let newest: Option<i64> = reader
            .conn
            .query_row(
                "SELECT max(modseq) FROM items WHERE collection = ?1",
                [inbox as i64],
                |r| r.get(0),
            )
            .expect("items");
        reader.conn.execute_batch("COMMIT").expect("commit");
        assert_eq!(newest.unwrap_or(0), head, "a head without its item");
        looks += 1;
    }
    writing.join().expect("writer");
}

#[test]
fn the_delta_query_stays_prepared_whatever_is_bound() {
    use rusqlite::StatementStatus::RePrepare;
    let (_, mut sqlite, inbox) = stores();
    for n in 0..30u8 {
        sqlite
            .upsert(inbox, None, Bytes::from(vec![n; 8]), 0)
            .expect("upsert");
    }
    for n in 0..50u64 {
        let cursor = Cursor {
            collection_id: inbox,
            epoch: 1,
            modseq: n % 30,
            floor: 0,
            partial: false,
        };
        let limits = PageLimits {
            max_items: 1 + (n as usize % 7),
            max_bytes: 48 * 1024,
            patches: true,
        };
        sqlite.delta(&cursor, &limits).expect("delta");
    }
    let status = |sql: &str| {
        let statement = sqlite.conn.prepare_cached(sql).expect("cached");
        statement.get_status(RePrepare)
    };
    assert_eq!(status(crate::items::DELTA_SQL), 0);
    // The counter does see it: a bound LIMIT, bound anew, re-prepares.
    let limited = format!("{} LIMIT ?3", crate::items::DELTA_SQL);
    for limit in 1..4i64 {
        let mut statement = sqlite.conn.prepare_cached(&limited).expect("cached");
        let rows = statement
            .query_map(rusqlite::params![super::to_sql(inbox), 0i64, limit], |_| {
                Ok(())
            })
            .expect("query")
            .count();
        assert_eq!(rows, usize::try_from(limit).expect("small"));
    }
    assert!(status(&limited) > 0, "the counter missed a re-prepare");
}
