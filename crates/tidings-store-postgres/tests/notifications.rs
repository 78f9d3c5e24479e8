//! Several server processes on one database: what one store instance writes,
//! another hears through `LISTEN`/`NOTIFY`, once committed and in commit
//! order; and concurrent writers keep every collection's modseqs gap-free
//! and ordered with their commits.

use std::time::{Duration, Instant};
use tidings::proto::{CollectionKind, Cursor};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, WipeState};
use tidings::sync::{Delta, LogHead, PageLimits, Rights};
use tidings_store_postgres::testing::TestDatabase;
use tidings_store_postgres::{DeviceOrder, Listener, Notice, PostgresStore};

const WAIT: Duration = Duration::from_secs(10);

fn database() -> TestDatabase {
    TestDatabase::create().expect("PostgreSQL")
}

/// The next notice, which must come within [`WAIT`].
fn hear(listener: &mut Listener) -> Notice {
    listener
        .next(WAIT)
        .expect("listen")
        .expect("a notice within the wait")
}

fn town(store: &mut PostgresStore) -> (u64, u64, u64) {
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let sam = store
        .add_principal("Sam", "sam@town.example")
        .expect("principal");
    let inbox = store
        .add_collection(ada, CollectionKind::Mail, "Inbox")
        .expect("collection");
    (ada, sam, inbox)
}

#[test]
fn a_write_through_one_store_is_heard_through_another_connection() {
    let db = database();
    let mut writer = db.store().expect("store");
    let (ada, sam, inbox) = town(&mut writer);
    let mut listener = Listener::connect(&db.url()).expect("listener");

    let id = writer
        .add_message(inbox, b"Subject: hi\r\n\r\nhello\r\n", 2048)
        .expect("deliver");
    let head = LogHead {
        collection_id: inbox,
        epoch: 1,
        modseq: 1,
        floor: 0,
    };
    assert_eq!(hear(&mut listener), Notice::Collection(head));

    writer.grant(inbox, sam, Rights::READ).expect("grant");
    assert_eq!(
        hear(&mut listener),
        Notice::Grants {
            principal: sam,
            collection: inbox
        }
    );

    let code = ActivationCode::from_random([1; 10]);
    writer
        .create_activation(ada, &code, u64::MAX, 3)
        .expect("activation");
    let device = writer
        .redeem_activation(&code.display(), [1; 32], "phone", 0)
        .expect("redeem")
        .id;
    writer
        .set_wipe(device, WipeState::Pending(7))
        .expect("wipe");
    assert_eq!(
        hear(&mut listener),
        Notice::Device {
            device,
            order: DeviceOrder::Wipe(WipeState::Pending(7))
        }
    );
    writer.revoke(device).expect("revoke");
    assert_eq!(
        hear(&mut listener),
        Notice::Device {
            device,
            order: DeviceOrder::Revoked
        }
    );

    // A change in a transaction is heard when it commits, not before, and a
    // rolled-back one never.
    let mut other = db.store().expect("store");
    let rolled_back: tidings::Result<()> = other.transaction(|s| {
        s.set_flags(inbox, id, 1)?;
        Err(tidings::ErrorKind::InvalidData.into())
    });
    assert!(rolled_back.is_err());
    other
        .transaction(|s| {
            s.set_flags(inbox, id, 2)?;
            assert_eq!(
                listener.next(Duration::from_millis(300)).expect("listen"),
                None,
                "not before the commit"
            );
            s.remove(inbox, id)
        })
        .expect("commit");
    let flagged = LogHead { modseq: 2, ..head };
    assert_eq!(
        hear(&mut listener),
        Notice::Collection(flagged),
        "the rollback burned no modseq"
    );
    assert_eq!(
        hear(&mut listener),
        Notice::Collection(LogHead { modseq: 3, ..head })
    );
    other.compact(inbox, 3).expect("compact");
    assert_eq!(
        hear(&mut listener),
        Notice::Collection(LogHead {
            modseq: 3,
            floor: 3,
            ..head
        })
    );
    assert_eq!(
        listener.next(Duration::from_millis(200)).expect("listen"),
        None
    );
}

#[test]
fn the_listener_reconnects_and_says_it_may_have_missed_notices() {
    let db = database();
    let mut writer = db.store().expect("store");
    let (_, _, inbox) = town(&mut writer);
    let mut listener = Listener::connect(&db.url()).expect("listener");
    let mut admin = db.client().expect("client");
    let killed: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE application_name = 'tidings-listener' AND datname = current_database()",
            &[],
        )
        .expect("terminate")
        .get(0);
    assert_eq!(killed, 1);
    assert_eq!(hear(&mut listener), Notice::Reconnected);
    writer
        .upsert(inbox, None, bytes::Bytes::from_static(b"x"), 0)
        .expect("write");
    assert_eq!(
        hear(&mut listener),
        Notice::Collection(LogHead {
            collection_id: inbox,
            epoch: 1,
            modseq: 1,
            floor: 0
        })
    );
}

#[test]
fn concurrent_writers_keep_modseqs_gap_free_and_in_commit_order() {
    // Two processes deliver to one folder at once while a third watches:
    // the heads it hears rise by one with no gap, every head it reads has
    // its item, and the folder ends with modseqs 1..=n, one per message.
    const PER_WRITER: u64 = 60;
    let db = database();
    let mut store = db.store().expect("store");
    let (_, _, inbox) = town(&mut store);
    let mut listener = Listener::connect(&db.url()).expect("listener");
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let mut writer = db.store().expect("store");
            std::thread::spawn(move || {
                for n in 0..PER_WRITER {
                    let raw = format!("Subject: {w}-{n}\r\n\r\nbody\r\n");
                    if n % 3 == 0 {
                        // Some in longer transactions, which hold the head.
                        writer
                            .transaction(|s| {
                                s.add_message(inbox, raw.as_bytes(), 2048)?;
                                std::thread::sleep(Duration::from_millis(2));
                                Ok(())
                            })
                            .expect("deliver");
                    } else {
                        writer
                            .add_message(inbox, raw.as_bytes(), 2048)
                            .expect("deliver");
                    }
                }
            })
        })
        .collect();
    let total = 2 * PER_WRITER;
    let mut expected = 1;
    let started = Instant::now();
    while expected <= total {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "writers stalled"
        );
        match hear(&mut listener) {
            Notice::Collection(head) if head.collection_id == inbox => {
                assert_eq!(
                    head.modseq, expected,
                    "heads are heard in order, without gaps"
                );
                // What was heard is committed: a delta up to it carries it.
                let cursor = Cursor {
                    collection_id: inbox,
                    epoch: 1,
                    modseq: expected - 1,
                    floor: 0,
                    partial: false,
                };
                let Ok(Delta::Page(page)) = store.delta(&cursor, &PageLimits::default()) else {
                    panic!("no page");
                };
                assert!(page.to_modseq >= expected);
                assert!(!page.upserts.is_empty(), "the head's item is there");
                expected += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    for writer in writers {
        writer.join().expect("writer");
    }
    let mut client = db.client().expect("client");
    let modseqs: Vec<i64> = client
        .query(
            "SELECT modseq FROM items WHERE collection = $1 ORDER BY modseq",
            &[&(inbox as i64)],
        )
        .expect("modseqs")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(modseqs, (1..=total as i64).collect::<Vec<_>>());
    assert_eq!(store.collection_state(inbox), Ok((1, total)));
}
