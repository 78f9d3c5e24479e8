//! The PostgreSQL store must behave exactly like the core's `MemoryStore`,
//! the reference: the same deltas, byte for byte, for every cursor after any
//! sequence of changes, compactions and delivered messages included. (The
//! same property the SQLite store is held to.)

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tidings::proto::{CollectionKind, Cursor};
use tidings::store::{ItemStore, MemoryStore};
use tidings::sync::PageLimits;
use tidings_store_postgres::PostgresStore;
use tidings_store_postgres::testing::{TestCluster, TestDatabase};

#[derive(Clone, Debug)]
enum Change {
    Add(u8),
    Replace(usize, u8),
    Flag(usize, u32),
    Remove(usize),
    Compact(u64),
    Deliver(u8),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => any::<u8>().prop_map(Change::Add),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Change::Replace(i, b)),
        2 => (any::<usize>(), 0u32..4).prop_map(|(i, f)| Change::Flag(i, f)),
        1 => any::<usize>().prop_map(Change::Remove),
        1 => (0u64..40).prop_map(Change::Compact),
        1 => any::<u8>().prop_map(Change::Deliver),
    ]
}

/// What both stores offer beyond the traits.
trait Admin: ItemStore {
    fn compact_log(&mut self, collection: u64, up_to: u64);
    fn deliver(&mut self, collection: u64, raw: &[u8]) -> Option<u64>;
}

impl Admin for MemoryStore {
    fn compact_log(&mut self, collection: u64, up_to: u64) {
        self.change_log_mut(collection).expect("log").compact(up_to);
    }
    fn deliver(&mut self, collection: u64, raw: &[u8]) -> Option<u64> {
        self.add_message(collection, raw, 64).ok()
    }
}

impl Admin for PostgresStore {
    fn compact_log(&mut self, collection: u64, up_to: u64) {
        self.compact(collection, up_to).expect("compact");
    }
    fn deliver(&mut self, collection: u64, raw: &[u8]) -> Option<u64> {
        self.add_message(collection, raw, 64).ok()
    }
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
/// Returns the new modseq (or the delivered id), as the store reported it.
fn apply<S: Admin>(
    store: &mut S,
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
            store.compact_log(collection, up_to);
            None
        }
        Change::Deliver(b) => {
            let raw = format!(
                "From: a@town.example\r\nSubject: n{b}\r\n\r\n{}\r\n",
                "text ".repeat(usize::from(b))
            );
            let id = store.deliver(collection, raw.as_bytes())?;
            ids.push(id);
            Some(id)
        }
    }
}

type Input = (Vec<Change>, Vec<(u64, u64, bool, u64)>, usize);

fn fresh(collection_id: u64) -> Cursor {
    Cursor {
        collection_id,
        epoch: 1,
        ..Cursor::default()
    }
}

fn case(
    cluster: &std::sync::Arc<TestCluster>,
    (changes, cursors, max_items): Input,
) -> Result<(), TestCaseError> {
    let db = TestDatabase::create_in(cluster.clone()).expect("database");
    let mut pg = db.store().expect("store");
    let mut memory = MemoryStore::new();
    let owner = memory.add_principal("Ada", "ada@town.example");
    prop_assert_eq!(pg.add_principal("Ada", "ada@town.example"), Ok(owner));
    let inbox = memory
        .add_collection(owner, CollectionKind::Mail, "Inbox")
        .expect("collection");
    prop_assert_eq!(
        pg.add_collection(owner, CollectionKind::Mail, "Inbox"),
        Ok(inbox)
    );
    let (mut memory_ids, mut pg_ids) = (Vec::new(), Vec::new());
    for change in &changes {
        let a = apply(&mut memory, inbox, &mut memory_ids, change);
        let b = apply(&mut pg, inbox, &mut pg_ids, change);
        prop_assert_eq!(a, b, "{:?}", change);
    }
    prop_assert_eq!(memory.items(inbox), pg.items(inbox));
    prop_assert_eq!(memory.collection_state(inbox), pg.collection_state(inbox));
    // Odd page sizes for a device that applies patches, even for one that does not.
    let limits = PageLimits {
        max_items,
        max_bytes: 600,
        patches: max_items % 2 == 1,
    };
    let mut all = Vec::new();
    for (modseq, floor, partial, epoch) in cursors {
        let cursor = Cursor {
            collection_id: inbox,
            epoch,
            modseq,
            floor,
            partial,
        };
        prop_assert_eq!(
            memory.delta(&cursor, &limits),
            pg.delta(&cursor, &limits),
            "{:?}",
            cursor
        );
        all.push(cursor);
    }
    // All at once, as a reconnect reads them, with an empty collection
    // between (PostgreSQL answers in one query).
    let empty = memory
        .add_collection(owner, CollectionKind::Calendar, "Calendar")
        .expect("collection");
    prop_assert_eq!(
        pg.add_collection(owner, CollectionKind::Calendar, "Calendar"),
        Ok(empty)
    );
    all.insert(all.len() / 2, fresh(empty));
    prop_assert_eq!(memory.deltas(&all, &limits), pg.deltas(&all, &limits));
    Ok(())
}

#[test]
fn deltas_match_the_memory_store() {
    // One cluster for every case (held here, so it is not restarted between
    // cases); a fresh database per case, so ids start at 1 as in memory.
    let cluster = TestCluster::shared().expect("PostgreSQL");
    let strategy = (
        proptest::collection::vec(change(), 1..40),
        proptest::collection::vec((0u64..45, 0u64..45, any::<bool>(), 1u64..3), 1..12),
        1usize..6,
    );
    let mut runner = TestRunner::new(Config::with_cases(64));
    if let Err(e) = runner.run(&strategy, |input| case(&cluster, input)) {
        panic!("{e}");
    }
}
