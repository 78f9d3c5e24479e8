//! What the server relies on besides deltas: everything persists across
//! connections, the activation rules are the core's, rights queries, the
//! applied-operations window, transactions and batches, migrations.

use std::sync::{Arc, Barrier};
use tidings::ErrorKind;
use tidings::proto::{CollectionKind, Cursor, OperationResult};
use tidings::store::{
    APPLIED_OPERATIONS_PER_DEVICE, ActivationCode, DeviceRecord, DeviceRegistry, Directory,
    ItemStore, MemoryStore, Store, WipeState,
};
use tidings::sync::{PageLimits, Rights};
use tidings_store_postgres::PostgresStore;
use tidings_store_postgres::migrate::MIGRATIONS;
use tidings_store_postgres::testing::TestDatabase;

fn database() -> TestDatabase {
    TestDatabase::create().expect("PostgreSQL")
}

fn kind(r: tidings::Result<DeviceRecord>) -> Result<(), ErrorKind> {
    r.map(drop).map_err(|e| e.kind())
}

#[test]
fn everything_survives_a_new_connection() {
    let db = database();
    let (device, inbox, cursor);
    {
        let mut store = db.store().expect("store");
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
        store.set_meta("key", b"\x00secret").expect("meta");
    }
    let store = db.store().expect("reconnect");
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
    assert_eq!(store.meta("key"), Ok(Some(b"\x00secret".to_vec())));
    assert_eq!(store.meta("missing"), Ok(None));
    let (id, _, _) = store.items(inbox).expect("items").remove(0);
    assert_eq!(
        store.mail_part(inbox, id, 0).expect("part").as_deref(),
        Some(&b"hello\r\n"[..]),
        "raw message kept for range fetches"
    );
    assert_eq!(store.devices().map(|d| d.len()), Ok(1));
    assert_eq!(store.principals().map(|p| p.len()), Ok(2));
}

#[test]
fn the_replay_guard_refuses_a_hello_that_does_not_increase() {
    let db = database();
    let mut store = db.store().expect("store");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let code = ActivationCode::from_random([5; 10]);
    store
        .create_activation(ada, &code, u64::MAX, 1)
        .expect("activation");
    let device = store
        .redeem_activation(&code.display(), [5; 32], "x", 0)
        .expect("redeem")
        .id;
    assert_eq!(store.record_hello(device, 10), Ok(()));
    for stale in [10, 9] {
        assert_eq!(
            store.record_hello(device, stale).map_err(|e| e.kind()),
            Err(ErrorKind::Replay)
        );
    }
    assert_eq!(store.record_hello(device, 11), Ok(()));
    // Compared as the core compares them, unsigned: a timestamp above
    // 2^63 (negative as a BIGINT) is later than 11, and 11 is no longer
    // accepted after it.
    let high = (1 << 63) + 5;
    assert_eq!(store.record_hello(device, high), Ok(()));
    for stale in [12, high] {
        assert_eq!(
            store.record_hello(device, stale).map_err(|e| e.kind()),
            Err(ErrorKind::Replay)
        );
    }
    assert_eq!(store.record_hello(device, u64::MAX), Ok(()));
    assert_eq!(
        store.device(device).map(|d| d.last_hello),
        Ok(Some(u64::MAX))
    );
    assert_eq!(
        store.record_hello(404, 1).map_err(|e| e.kind()),
        Err(ErrorKind::NotFound)
    );
}

#[test]
fn activation_rules_are_the_cores() {
    let db = database();
    let mut store = db.store().expect("store");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let code = ActivationCode::from_random([2; 10]);
    store
        .create_activation(ada, &code, 1_000, 2)
        .expect("activation");
    assert_eq!(
        store
            .create_activation(ada, &code, 1_000, 2)
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidArgument),
        "a live code's id is not replaced"
    );
    let mut wrong = code.display();
    wrong.replace_range(18.., if wrong.ends_with('0') { "1" } else { "0" });
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
    store
        .create_activation(ada, &code, 5_000, 2)
        .expect("a burned code's id may be drawn again");
    let fresh = ActivationCode::from_random([3; 10]);
    store
        .create_activation(ada, &fresh, 1_000, 2)
        .expect("activation");
    assert_eq!(
        kind(store.redeem_activation(&fresh.display(), [1; 32], "x", 1_000)),
        Err(ErrorKind::ActivationRejected),
        "expired"
    );
    assert_eq!(
        kind(store.redeem_activation(&code.display(), [1; 32], "x", 0)),
        Ok(())
    );
    assert_eq!(
        kind(store.redeem_activation(&code.display(), [2; 32], "y", 0)),
        Err(ErrorKind::ActivationRejected),
        "used once"
    );
}

#[test]
fn a_wrong_guess_counts_even_in_a_failing_batch() {
    let db = database();
    let mut store = db.store().expect("store");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let code = ActivationCode::from_random([6; 10]);
    store
        .create_activation(ada, &code, u64::MAX, 2)
        .expect("activation");
    let mut wrong = code.display();
    wrong.replace_range(18.., if wrong.ends_with('0') { "1" } else { "0" });
    let failed = store.batch(|s| s.redeem_activation(&wrong, [1; 32], "x", 0));
    assert_eq!(kind(failed), Err(ErrorKind::ActivationRejected));
    let failed = store.transaction(|s| s.redeem_activation(&wrong, [1; 32], "x", 0));
    assert_eq!(
        kind(failed),
        Err(ErrorKind::ActivationAttemptsExceeded),
        "the first guess stuck"
    );
}

#[test]
fn one_code_enrolls_one_device_however_many_processes_race() {
    // Two connections (two server processes) redeem the same code at once:
    // the activation row is locked while it is decided, so one wins.
    let db = database();
    let mut store = db.store().expect("store");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    for round in 0..20u8 {
        let code = ActivationCode::from_random([round; 10]);
        store
            .create_activation(ada, &code, u64::MAX, 3)
            .expect("activation");
        let start = Arc::new(Barrier::new(2));
        let racers: Vec<_> = (0..2u8)
            .map(|n| {
                let mut racer = db.store().expect("store");
                let (start, code) = (start.clone(), code.display());
                std::thread::spawn(move || {
                    start.wait();
                    let mut key = [0; 32];
                    key[..2].copy_from_slice(&[round, n + 1]);
                    racer.redeem_activation(&code, key, "x", 0)
                })
            })
            .collect();
        let won = racers
            .into_iter()
            .map(|r| r.join().expect("racer"))
            .filter(Result::is_ok)
            .count();
        assert_eq!(won, 1, "round {round}");
    }
    assert_eq!(store.devices().map(|d| d.len()), Ok(20));
}

#[test]
fn rights_and_visible_collections_match_the_memory_store() {
    let db = database();
    let mut pg = db.store().expect("store");
    let mut memory = MemoryStore::new();
    let names = ["Mayor", "Chief", "Clerk"];
    let mut people = Vec::new();
    for name in names {
        let email = format!("{}@town.example", name.to_lowercase());
        let id = memory.add_principal(name, &email);
        assert_eq!(pg.add_principal(name, &email), Ok(id));
        people.push(id);
    }
    let mut collections = Vec::new();
    for &owner in &people {
        for (kind, name) in [
            (CollectionKind::Mail, "Inbox"),
            (CollectionKind::Calendar, "Calendar"),
        ] {
            let id = memory
                .add_collection(owner, kind, name)
                .expect("collection");
            assert_eq!(pg.add_collection(owner, kind, name), Ok(id));
            collections.push(id);
        }
    }
    let grants = [
        (collections[1], people[1], Rights::READ.union(Rights::WRITE)),
        (collections[0], people[1], Rights::READ),
        (collections[1], people[2], Rights::RESPOND),
        (collections[3], people[0], Rights::READ),
        (collections[3], people[0], Rights::NONE),
    ];
    for (collection, principal, rights) in grants {
        memory.grant(collection, principal, rights).expect("grant");
        pg.grant(collection, principal, rights).expect("grant");
    }
    for &principal in &people {
        assert_eq!(
            memory.visible_collections(principal),
            pg.visible_collections(principal),
            "principal {principal}"
        );
        // Answered in one query by PostgreSQL, composed by the memory store.
        assert_eq!(memory.collection_infos_at_once(principal), Ok(None));
        assert_eq!(
            pg.collection_infos_at_once(principal),
            memory.collection_infos(principal).map(Some)
        );
        for &collection in &collections {
            assert_eq!(
                memory.rights(principal, collection),
                pg.rights(principal, collection),
                "{principal} on {collection}"
            );
            let cursor = Cursor {
                collection_id: collection,
                epoch: 1,
                ..Cursor::default()
            };
            assert_eq!(
                memory.delta_for(principal, &cursor, &PageLimits::default()),
                pg.delta_for(principal, &cursor, &PageLimits::default())
            );
        }
    }
    assert_eq!(
        pg.rights(people[0], 9_999).map_err(|e| e.kind()),
        Err(ErrorKind::NotFound)
    );
    assert_eq!(
        pg.delta_for(
            people[2],
            &Cursor {
                collection_id: collections[0],
                ..Cursor::default()
            },
            &PageLimits::default()
        )
        .map_err(|e| e.kind()),
        Err(ErrorKind::PermissionDenied)
    );
    assert_eq!(
        pg.add_principal("Other", "MAYOR@town.example")
            .map_err(|e| e.kind()),
        Err(ErrorKind::InvalidArgument),
        "addresses are unique ignoring case"
    );
    assert_eq!(
        pg.principal_by_email("Chief@Town.Example")
            .map(|p| p.map(|p| p.id)),
        Ok(Some(people[1]))
    );
}

#[test]
fn applied_operations_are_remembered_within_the_window() {
    let db = database();
    let mut store = db.store().expect("store");
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
    store
        .transaction(|s| {
            for n in 0..=APPLIED_OPERATIONS_PER_DEVICE {
                s.record_operation(device, result(n))?;
            }
            Ok(())
        })
        .expect("record");
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
    let rows: i64 = db
        .client()
        .expect("client")
        .query_one("SELECT count(*) FROM applied_operations", &[])
        .expect("count")
        .get(0);
    assert_eq!(
        rows, APPLIED_OPERATIONS_PER_DEVICE as i64,
        "bounded per device"
    );
}

/// One operation run by two processes at once (a device that reconnected
/// elsewhere and sent it again while the first still ran, sync.md §6):
/// the second waits for the first's transaction and finds its record, so
/// the operation is applied once and the second answered from the record.
#[test]
fn an_operation_run_by_two_processes_at_once_is_applied_once() {
    let db = database();
    let mut store = db.store().expect("store");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let inbox = store
        .add_collection(ada, CollectionKind::Mail, "Inbox")
        .expect("inbox");
    let code = ActivationCode::from_random([5; 10]);
    store
        .create_activation(ada, &code, u64::MAX, 1)
        .expect("activation");
    let device = store
        .redeem_activation(&code.display(), [5; 32], "x", 0)
        .expect("redeem")
        .id;
    let racers: Vec<_> = (0..2u8)
        .map(|n| {
            let mut racer = db.store().expect("store");
            std::thread::spawn(move || {
                // The second starts while the first is still running.
                std::thread::sleep(std::time::Duration::from_millis(150 * u64::from(n)));
                racer.transaction(|s| {
                    if s.applied_operation(device, &[9; 16])?.is_some() {
                        return Ok(false);
                    }
                    s.upsert(inbox, None, bytes::Bytes::from(vec![n]), 0)?;
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    s.record_operation(
                        device,
                        OperationResult {
                            op_id: vec![9; 16],
                            outcome: None,
                        },
                    )?;
                    Ok(true)
                })
            })
        })
        .collect();
    let answers: Vec<_> = racers
        .into_iter()
        .map(|r| r.join().expect("racer"))
        .collect();
    assert_eq!(answers, [Ok(true), Ok(false)], "applied once, then read");
    let items: i64 = db
        .client()
        .expect("client")
        .query_one("SELECT count(*) FROM items", &[])
        .expect("count")
        .get(0);
    assert_eq!(items, 1);
}

#[test]
fn a_failed_transaction_leaves_nothing_and_a_batch_keeps_its_writes() {
    let db = database();
    let mut store = db.store().expect("store");
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
    // A failed write inside (no such collection) is undone alone: the
    // batch's other writes still commit.
    let kept: tidings::Result<u64> = store.batch(|s| {
        let sam = s.add_principal("Sam", "sam@town.example")?;
        assert!(
            s.upsert(404, None, bytes::Bytes::from_static(b"x"), 0)
                .is_err()
        );
        Ok(sam)
    });
    assert!(kept.is_ok());
    assert!(
        store
            .principal_by_email("sam@town.example")
            .expect("query")
            .is_some()
    );
}

#[test]
fn a_statement_that_fails_inside_a_batch_is_reported_not_hidden() {
    // PostgreSQL aborts the whole transaction when a statement fails, and
    // answers a later COMMIT with a silent ROLLBACK. A write that is its own
    // unit (a savepoint) is undone alone; any other failure makes the batch
    // report an error instead of claiming its writes stuck.
    let db = database();
    let mut store = db.store().expect("store");
    let email = |s: &PostgresStore, e: &str| s.principal_by_email(e).expect("query").is_some();
    let outcome = store.batch(|s| {
        s.add_principal("Tom", "tom@town.example")?;
        // Text cannot hold NUL: the database refuses the insert.
        assert_eq!(
            s.add_principal("Bad\0name", "bad@town.example")
                .map_err(|e| e.kind()),
            Err(ErrorKind::Storage)
        );
        s.add_principal("Sue", "sue@town.example")?;
        Ok(())
    });
    assert_eq!(outcome, Ok(()));
    assert!(email(&store, "tom@town.example") && email(&store, "sue@town.example"));
    assert!(!email(&store, "bad@town.example"));
    let outcome = store.batch(|s| {
        s.add_principal("Uma", "uma@town.example")?;
        let _ignored = s.set_meta("bad\0key", b"x");
        Ok(())
    });
    assert_eq!(outcome.map_err(|e| e.kind()), Err(ErrorKind::Storage));
    assert!(
        !email(&store, "uma@town.example"),
        "rolled back, and said so"
    );
    store
        .add_principal("Vic", "vic@town.example")
        .expect("the connection is usable afterwards");
}

#[test]
fn a_panic_inside_a_transaction_rolls_it_back() {
    let db = database();
    let mut store = db.store().expect("store");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _: tidings::Result<()> = store.transaction(|s| {
            s.add_principal("Ada", "ada@town.example")?;
            panic!("a bug in the closure");
        });
    }));
    assert!(panicked.is_err());
    assert_eq!(store.principal_by_email("ada@town.example"), Ok(None));
    // The connection is out of the transaction: this write commits on its own.
    store
        .add_principal("Sam", "sam@town.example")
        .expect("principal");
    let other = db.store().expect("store");
    assert!(
        other
            .principal_by_email("sam@town.example")
            .expect("query")
            .is_some()
    );
}

#[test]
fn migrations_apply_once_and_a_newer_schema_is_refused() {
    let db = TestDatabase::create_empty().expect("PostgreSQL");
    // Several processes start at once: each migration is applied once.
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url();
            std::thread::spawn(move || PostgresStore::connect(&url).map(drop))
        })
        .collect();
    for racer in racers {
        assert_eq!(racer.join().expect("racer"), Ok(()));
    }
    let mut client = db.client().expect("client");
    let versions: Vec<i64> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .expect("versions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    let known: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
    assert_eq!(versions, known);
    client
        .batch_execute("INSERT INTO schema_migrations (version, file) VALUES (999, 'future.sql')")
        .expect("future");
    assert_eq!(
        PostgresStore::connect(&db.url())
            .map(drop)
            .map_err(|e| e.kind()),
        Err(ErrorKind::Storage)
    );
}

#[test]
fn every_migration_file_is_listed_in_order() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("migrations")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .collect();
    files.sort();
    let listed: Vec<&str> = MIGRATIONS.iter().map(|m| m.file).collect();
    assert_eq!(files, listed);
    for (n, migration) in MIGRATIONS.iter().enumerate() {
        assert_eq!(migration.version, n as i64 + 1);
        assert!(
            migration
                .file
                .starts_with(&format!("{:04}_", migration.version))
        );
    }
}

#[test]
fn uploads_keep_the_stores_contract_and_outlive_a_connection() {
    let db = database();
    let mut store = db.store().expect("store");
    let ada = store
        .add_principal("Ada", "ada@town.example")
        .expect("principal");
    let mut enroll = |n: u8| {
        let code = ActivationCode::from_random([n; 10]);
        store
            .create_activation(ada, &code, u64::MAX, 1)
            .expect("activation");
        store
            .redeem_activation(&code.display(), [n; 32], "x", 0)
            .expect("redeem")
            .id
    };
    let (device, other, third) = (enroll(1), enroll(2), enroll(3));
    assert_eq!(
        tidings::store::contract::check_uploads(&mut store, device, other),
        Ok(())
    );
    let inbox = store
        .add_collection(ada, CollectionKind::Mail, "Inbox")
        .expect("inbox");
    assert_eq!(
        tidings::store::contract::check_items_after(&mut store, inbox),
        Ok(())
    );
    // Parts of 48 KiB, read back whole by another connection.
    let file: Vec<u8> = (0..150_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    let id = [9; 16];
    store
        .transaction(|s| {
            s.start_upload(third, &id, file.len() as u64, 1_000)?;
            for (n, part) in file.chunks(48 << 10).enumerate() {
                s.append_upload(third, &id, (n * (48 << 10)) as u64, part, 1_000)?;
            }
            Ok(())
        })
        .expect("upload");
    let again = db.store().expect("another connection");
    assert_eq!(again.upload_bytes(third, &id), Ok(Some(file)));
    let rows: i64 = db
        .client()
        .expect("client")
        .query_one(
            "SELECT count(*) FROM upload_parts p JOIN uploads u ON u.seq = p.upload
             WHERE u.device = $1",
            &[&i64::try_from(device).expect("id")],
        )
        .expect("count")
        .get(0);
    assert_eq!(rows, 0, "a revoked device's parts are gone");
}
