//! A removed mail's raw message is deleted in the removal's transaction,
//! unless its id is still live in another collection (moved there); raw
//! messages an older build kept are freed by housekeeping in batches.

use tidings::proto::CollectionKind;
use tidings::store::ItemStore;
use tidings_store_postgres::PostgresStore;
use tidings_store_postgres::testing::TestDatabase;

const RAW: &[u8] = b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
Hello.\r\n--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\nfile bytes\r\n--b--\r\n";

fn messages(db: &TestDatabase) -> i64 {
    db.client()
        .expect("client")
        .query_one("SELECT count(*) FROM messages", &[])
        .expect("count")
        .get(0)
}

fn folders(store: &mut PostgresStore, n: usize) -> Vec<u64> {
    let p = store
        .add_principal("P", "p@example.org")
        .expect("principal");
    (0..n)
        .map(|i| {
            store
                .add_collection(p, CollectionKind::Mail, &format!("F{i}"))
                .expect("folder")
        })
        .collect()
}

#[test]
fn a_removed_mail_frees_its_raw_message() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 1);
    let id = store.add_message(f[0], RAW, 64).expect("mail");
    let kept = store.add_message(f[0], RAW, 64).expect("mail");
    store.remove(f[0], id).expect("removed");
    assert_eq!(store.raw_message(id).expect("raw"), None);
    assert_eq!(store.mail_part(f[0], id, 2).expect("part"), None);
    assert_eq!(messages(&db), 1);
    assert_eq!(store.raw_message(kept).expect("raw").as_deref(), Some(RAW));
    // Delivered again, the same bytes are a new mail that reads them.
    let again = store.add_message(f[0], RAW, 64).expect("again");
    assert_eq!(store.raw_message(again).expect("raw").as_deref(), Some(RAW));
    for id in [kept, again] {
        store.remove(f[0], id).expect("removed");
    }
    assert_eq!(messages(&db), 0);
}

#[test]
fn a_moved_mail_keeps_its_raw_message_until_removed_from_the_target() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 2);
    let id = store.add_message(f[0], RAW, 64).expect("mail");
    // What `MoveItems` does, in one transaction.
    store
        .transaction(|store| {
            let (packed, flags) = store.item(f[0], id)?.expect("live");
            store.upsert(f[1], Some(id), packed, flags)?;
            store.remove(f[0], id)
        })
        .expect("moved");
    assert_eq!(store.raw_message(id).expect("raw").as_deref(), Some(RAW));
    assert_eq!(
        store.mail_part(f[1], id, 2).expect("part").as_deref(),
        Some(&b"file bytes"[..])
    );
    store.remove(f[1], id).expect("removed");
    assert_eq!(messages(&db), 0);
}

#[test]
fn housekeeping_frees_what_an_older_build_kept_in_batches() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 1);
    let live = store.add_message(f[0], RAW, 64).expect("mail");
    let leaked: Vec<u64> = (0..5)
        .map(|_| store.add_message(f[0], RAW, 64).expect("mail"))
        .collect();
    // What an older build's removal did: the tombstone only.
    let mut client = db.client().expect("client");
    for &id in &leaked {
        client
            .execute(
                "UPDATE items SET packed = NULL WHERE id = $1",
                &[&i64::try_from(id).expect("id")],
            )
            .expect("tombstone");
    }
    assert_eq!(messages(&db), 6);
    // Windows of two ids, in id order: the live one first, then the rest.
    let mut ids = leaked.clone();
    ids.push(live);
    ids.sort_unstable();
    let mut after = 0;
    for window in ids.chunks(2) {
        let next = store.free_removed_messages(after, 2).expect("window");
        assert_eq!(
            next,
            window.last().copied(),
            "goes on from the window's last id"
        );
        after = next.expect("a window");
    }
    assert_eq!(store.free_removed_messages(after, 2).expect("end"), None);
    assert_eq!(messages(&db), 1);
    assert_eq!(store.raw_message(live).expect("raw").as_deref(), Some(RAW));
}

#[test]
fn a_database_that_received_and_deleted_mail_does_not_keep_it() {
    const N: usize = 20;
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 1);
    // Incompressible, so TOAST's compression does not hide the size.
    let mut raw = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while raw.len() < 1 << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        raw.extend(format!("{x:016x}\r\n").bytes());
    }
    let mut client = db.client().expect("client");
    let size = |client: &mut postgres::Client| -> i64 {
        client.execute("VACUUM messages", &[]).expect("vacuum");
        client
            .query_one("SELECT pg_total_relation_size('messages')", &[])
            .expect("size")
            .get(0)
    };
    let empty = size(&mut client);
    let ids: Vec<u64> = (0..N)
        .map(|_| store.add_message(f[0], &raw, 64).expect("mail"))
        .collect();
    let full = size(&mut client);
    for id in ids {
        store.remove(f[0], id).expect("removed");
    }
    let after = size(&mut client);
    eprintln!("messages table: empty {empty} B, {N} x 1 MiB delivered {full} B, removed {after} B");
    assert_eq!(messages(&db), 0);
    assert!(full - empty > (N as i64) << 19, "{full}");
    // VACUUM hands the dead rows' space back for the next mail (and
    // truncates the empty pages at the table's end).
    assert!(after < full, "{after} of {full}");
}

/// A server batch composes the mails its operations sent after applying
/// them all: a mail removed in the batch keeps its raw message until the
/// batch commits, so a forward of it sent before the removal attaches it.
#[test]
fn a_batch_deletes_what_it_removed_only_as_it_commits() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 1);
    let id = store.add_message(f[0], RAW, 64).expect("mail");
    drop(store);
    let pool = tidings_store_postgres::PostgresPool::connect(
        &db.url(),
        1,
        std::time::Duration::from_secs(5),
    )
    .expect("pool");
    let mut batch = pool.batch().expect("batch");
    batch.remove(f[0], id).expect("removed");
    assert_eq!(batch.item(f[0], id).expect("item"), None, "tombstoned");
    assert_eq!(
        batch
            .w()
            .expect("store")
            .raw_message(id)
            .expect("raw")
            .as_deref(),
        Some(RAW),
        "still readable in the batch"
    );
    batch.finish().expect("commit");
    assert_eq!(messages(&db), 0, "deleted as the batch committed");
}

fn count(db: &TestDatabase, table: &str) -> i64 {
    let sql = match table {
        "messages" => "SELECT count(*) FROM messages",
        _ => "SELECT count(*) FROM message_copies",
    };
    db.client()
        .expect("client")
        .query_one(sql, &[])
        .expect("count")
        .get(0)
}

/// A send to several local recipients stores the bytes once; each copy
/// reads them whichever goes first, and the last one frees them.
#[test]
fn copies_store_the_bytes_once_and_free_them_with_the_last_copy() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 3);
    let ids = store.add_message_copies(&f, RAW, 64).expect("sent");
    assert_eq!((count(&db, "messages"), count(&db, "copies")), (1, 2));
    for (&folder, &id) in f.iter().zip(&ids) {
        assert_eq!(store.raw_message(id).expect("raw").as_deref(), Some(RAW));
        assert_eq!(
            store.mail_part(folder, id, 2).expect("part").as_deref(),
            Some(&b"file bytes"[..])
        );
    }
    // The holder goes first: its id no longer reads, the copies still do.
    store.remove(f[0], ids[0]).expect("removed");
    assert_eq!(store.raw_message(ids[0]).expect("raw"), None);
    assert_eq!(
        store.raw_message(ids[2]).expect("raw").as_deref(),
        Some(RAW)
    );
    // A copy moved keeps reading; removed from its source only, nothing goes.
    store
        .transaction(|store| {
            let (packed, flags) = store.item(f[2], ids[2])?.expect("live");
            store.upsert(f[0], Some(ids[2]), packed, flags)?;
            store.remove(f[2], ids[2])
        })
        .expect("moved");
    assert_eq!(
        store.mail_part(f[0], ids[2], 2).expect("part").as_deref(),
        Some(&b"file bytes"[..])
    );
    store.remove(f[0], ids[2]).expect("removed");
    assert_eq!(
        store.raw_message(ids[1]).expect("raw").as_deref(),
        Some(RAW)
    );
    assert_eq!((count(&db, "messages"), count(&db, "copies")), (1, 1));
    store.remove(f[1], ids[1]).expect("removed");
    assert_eq!((count(&db, "messages"), count(&db, "copies")), (0, 0));
}

/// Two processes removing the last two readers at once each see the
/// other's still there: the bytes are left to housekeeping, which frees
/// them, and never frees a holder a copy still reads.
#[test]
fn housekeeping_frees_a_holder_nobody_reads_and_keeps_one_a_copy_reads() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 2);
    let left = store.add_message_copies(&f, RAW, 64).expect("sent");
    let read = store.add_message_copies(&f, RAW, 64).expect("sent");
    // Both holders go: each is kept for its copy.
    store.remove(f[0], left[0]).expect("removed");
    store.remove(f[0], read[0]).expect("removed");
    // What the race leaves: the first one's copy gone, its holder kept.
    let mut client = db.client().expect("client");
    let copy = i64::try_from(left[1]).expect("id");
    client
        .execute("UPDATE items SET packed = NULL WHERE id = $1", &[&copy])
        .expect("tombstone");
    client
        .execute("DELETE FROM message_copies WHERE id = $1", &[&copy])
        .expect("copy row");
    assert_eq!(count(&db, "messages"), 2);
    assert_eq!(
        store.free_removed_messages(0, 100).expect("sweep"),
        Some(read[0])
    );
    assert_eq!(
        count(&db, "messages"),
        1,
        "the holder nobody reads is freed"
    );
    assert_eq!(
        store.raw_message(read[1]).expect("raw").as_deref(),
        Some(RAW),
        "the one a copy reads is kept"
    );
}

fn pieces(db: &TestDatabase) -> i64 {
    db.client()
        .expect("client")
        .query_one("SELECT count(*) FROM message_part_pieces", &[])
        .expect("count")
        .get(0)
}

/// Every range of a 20 MB attachment parsed the whole message again (12
/// minutes for the file): parts are kept in pieces at delivery, a range
/// reads only those it needs, and they go with the message.
#[test]
fn a_range_reads_the_parts_pieces_and_they_go_with_the_message() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut store = db.store().expect("store");
    let f = folders(&mut store, 2);
    let lines: Vec<String> = (0..20_000).map(|i| format!("{i:08}")).collect();
    let file = lines.join("\r\n");
    let raw = format!(
        "From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nHello.\r\n--b\r\n\
         Content-Type: text/csv\r\n\
         Content-Disposition: attachment; filename=\"a.csv\"\r\n\r\n{file}\r\n--b--\r\n"
    );
    let ids = store
        .add_message_copies(&f, raw.as_bytes(), 64)
        .expect("sent");
    assert_eq!(
        pieces(&db),
        4 + 1,
        "a 200 kB file in 64 KiB pieces, and the text"
    );
    for (&folder, &id) in f.iter().zip(&ids) {
        let mut joined = Vec::new();
        while let Some((size, bytes)) = store
            .mail_part_range(folder, id, 2, joined.len() as u64, 49_152)
            .expect("range")
            .filter(|(_, b)| !b.is_empty())
        {
            assert_eq!(size, file.len() as u64);
            joined.extend_from_slice(&bytes);
        }
        assert_eq!(joined, file.as_bytes());
    }
    for (&folder, &id) in f.iter().zip(&ids) {
        store.remove(folder, id).expect("removed");
    }
    assert_eq!((messages(&db), pieces(&db)), (0, 0));
}
