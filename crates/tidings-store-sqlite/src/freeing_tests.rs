//! A removed mail's stored bytes are freed: its raw message, parts and
//! pieces go with the last item that reads them, in the removal's
//! transaction, and survive a move.

use crate::SqliteStore;
use tidings::proto::CollectionKind;
use tidings::store::ItemStore;

const RAW: &[u8] = b"From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
Hello.\r\n--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\nfile bytes\r\n--b--\r\n";

const TABLES: [&str; 5] = ["messages", "copies", "kept", "parts", "part_chunks"];

fn count(store: &SqliteStore, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

fn assert_all_freed(store: &SqliteStore) {
    for table in TABLES {
        assert_eq!(count(store, table), 0, "{table}");
    }
}

/// A store with `n` mail folders of one principal.
fn folders(n: usize) -> (SqliteStore, Vec<u64>) {
    let mut store = SqliteStore::open_in_memory().expect("store");
    let p = store
        .add_principal("P", "p@example.org")
        .expect("principal");
    let folders = (0..n)
        .map(|i| {
            store
                .add_collection(p, CollectionKind::Mail, &format!("F{i}"))
                .expect("folder")
        })
        .collect();
    (store, folders)
}

/// What `MoveItems` does: upsert the id into the target, then remove it
/// from the source.
fn move_item(store: &mut SqliteStore, from: u64, to: u64, id: u64) {
    let (packed, flags) = store.item(from, id).expect("item").expect("live");
    store.upsert(to, Some(id), packed, flags).expect("upsert");
    store.remove(from, id).expect("remove");
}

#[test]
fn a_removed_mail_frees_its_bytes_and_parts() {
    let (mut store, f) = folders(1);
    let id = store.add_message(f[0], RAW, 64).expect("mail");
    assert!(count(&store, "part_chunks") > 0);
    store.remove(f[0], id).expect("removed");
    assert_eq!(store.raw_message(id).expect("raw"), None);
    assert_eq!(
        store.mail_part_range(f[0], id, 2, 0, 100).expect("range"),
        None
    );
    assert_all_freed(&store);
}

#[test]
fn a_moved_mail_keeps_its_bytes_until_removed_from_the_target() {
    let (mut store, f) = folders(3);
    let id = store.add_message(f[0], RAW, 64).expect("mail");
    move_item(&mut store, f[0], f[1], id);
    assert_eq!(store.raw_message(id).expect("raw").as_deref(), Some(RAW));
    let (_, bytes) = store
        .mail_part_range(f[1], id, 2, 0, 100)
        .expect("range")
        .expect("part");
    assert_eq!(&bytes[..], b"file bytes");
    // The source's tombstone still names the id: deleting the source
    // folder must not free what the target reads.
    store.delete_collection(f[0]).expect("deleted");
    move_item(&mut store, f[1], f[2], id);
    store.recreate_collection(f[1]).expect("recreated");
    assert_eq!(store.raw_message(id).expect("raw").as_deref(), Some(RAW));
    store.remove(f[2], id).expect("removed");
    assert_all_freed(&store);
}

#[test]
fn copies_free_their_bytes_with_the_last_removal_whichever_goes_first() {
    for holder_first in [true, false] {
        let (mut store, f) = folders(3);
        let ids = store.add_message_copies(&f, RAW, 64).expect("sent");
        let order: Vec<usize> = match holder_first {
            true => vec![0, 2, 1],
            false => vec![2, 1, 0],
        };
        for (n, &at) in order.iter().enumerate() {
            assert_eq!(count(&store, "messages"), 1, "{holder_first} {n}");
            store.remove(f[at], ids[at]).expect("removed");
            assert_eq!(store.raw_message(ids[at]).expect("raw"), None);
            for &rest in &order[n + 1..] {
                let (_, bytes) = store
                    .mail_part_range(f[rest], ids[rest], 2, 0, 100)
                    .expect("range")
                    .expect("part");
                assert_eq!(&bytes[..], b"file bytes", "{holder_first} {n}");
            }
        }
        assert_all_freed(&store);
    }
}

#[test]
fn a_moved_holder_is_not_kept_for_its_copies() {
    let (mut store, f) = folders(3);
    let ids = store.add_message_copies(&f[..2], RAW, 64).expect("sent");
    move_item(&mut store, f[0], f[2], ids[0]);
    store.remove(f[1], ids[1]).expect("copy removed");
    assert_eq!(
        store.raw_message(ids[0]).expect("raw").as_deref(),
        Some(RAW)
    );
    store.remove(f[2], ids[0]).expect("holder removed");
    assert_all_freed(&store);
}

#[test]
fn a_mail_removed_and_delivered_again_reads_its_bytes() {
    let (mut store, f) = folders(1);
    let old = store.add_message(f[0], RAW, 64).expect("mail");
    store.remove(f[0], old).expect("removed");
    let new = store.add_message(f[0], RAW, 64).expect("again");
    assert_eq!(store.raw_message(new).expect("raw").as_deref(), Some(RAW));
    assert_eq!(count(&store, "messages"), 1);
    store.remove(f[0], new).expect("removed");
    assert_all_freed(&store);
}

#[test]
fn housekeeping_frees_what_an_older_build_kept_in_batches() {
    let (mut store, f) = folders(2);
    let live = store.add_message(f[0], RAW, 64).expect("mail");
    let copies = store.add_message_copies(&f, RAW, 64).expect("sent");
    let leaked: Vec<u64> = (0..3)
        .map(|_| store.add_message(f[1], RAW, 64).expect("mail"))
        .chain(copies)
        .collect();
    // What an older build's removal did: the tombstone only.
    for &id in &leaked {
        store
            .conn
            .execute(
                "UPDATE items SET packed = NULL WHERE id = ?1",
                [crate::to_sql(id)],
            )
            .expect("tombstone");
    }
    assert_eq!(count(&store, "messages"), 5);
    // Windows of two ids, each going on from the last one looked at.
    let (mut after, mut windows) = (0, 0);
    while let Some(next) = store.free_removed_messages(after, 2).expect("freed") {
        assert!(next > after, "the sweep goes forward");
        (after, windows) = (next, windows + 1);
    }
    assert!(windows >= 3, "{windows} windows");
    assert_eq!(count(&store, "messages"), 1);
    assert_eq!(count(&store, "copies"), 0);
    assert_eq!(store.raw_message(live).expect("raw").as_deref(), Some(RAW));
    assert_eq!(
        store.free_removed_messages(0, 2).expect("again"),
        Some(live)
    );
}

#[test]
fn a_file_that_received_and_deleted_mail_does_not_grow() {
    // N mails of 1 MiB delivered and removed, twice: the second round
    // reuses the pages the first freed.
    const N: usize = 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("grow.db");
    let mut store = SqliteStore::open(&path, crate::Durability::Process).expect("store");
    let p = store
        .add_principal("P", "p@example.org")
        .expect("principal");
    let inbox = store
        .add_collection(p, CollectionKind::Mail, "Inbox")
        .expect("inbox");
    let mut raw = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b"0123456789abcdef\r\n".as_slice(), (1 << 20) / 18).flatten());
    let used = |store: &SqliteStore| -> i64 {
        store
            .conn
            .query_row(
                "SELECT (SELECT page_count FROM pragma_page_count())
                      - (SELECT freelist_count FROM pragma_freelist_count())",
                [],
                |r| r.get(0),
            )
            .expect("pages")
    };
    let empty = used(&store);
    let mut after = Vec::new();
    for _ in 0..2 {
        let ids: Vec<u64> = (0..N)
            .map(|_| store.add_message(inbox, &raw, 64).expect("mail"))
            .collect();
        for id in ids {
            store.remove(inbox, id).expect("removed");
        }
        after.push(used(&store));
    }
    let page: i64 = store
        .conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page size");
    let file = std::fs::metadata(&path).expect("file").len();
    eprintln!(
        "{N} x 1 MiB delivered and removed, twice: pages in use {empty} -> {after:?} \
         ({page} B each), file {file} B"
    );
    // Tombstones and the change log remain; the megabytes do not.
    for used in after {
        assert!(
            (used - empty) * page < 256 << 10,
            "{} B in use",
            (used - empty) * page
        );
    }
    // One round's worth (each mail is held twice: raw, and its decoded
    // part in pieces), not two.
    assert!(file < (2 * N as u64 + 8) << 20, "file of {file} B");
}

/// An application may compose the mails a batch's operations sent after
/// applying them all: a mail removed in the batch keeps its bytes until
/// the batch ends, so a forward of it sent before the removal still
/// attaches it.
#[test]
fn a_batch_frees_what_it_removed_only_as_it_commits() {
    let (store, f) = folders(2);
    let pool = crate::SqlitePool::new(store);
    let (removed, moved) = pool
        .write(|s| Ok((s.add_message(f[0], RAW, 64)?, s.add_message(f[0], RAW, 64)?)))
        .expect("mail");
    let mut batch = pool.batch().expect("batch");
    batch.remove(f[0], removed).expect("removed");
    move_item(batch.w().expect("writer"), f[0], f[1], moved);
    batch.remove(f[1], moved).expect("removed after its move");
    let writer = batch.w().expect("writer");
    assert_eq!(
        writer.item(f[0], removed).expect("item"),
        None,
        "tombstoned"
    );
    for id in [removed, moved] {
        assert_eq!(
            writer.raw_message(id).expect("raw").as_deref(),
            Some(RAW),
            "still readable in the batch"
        );
    }
    batch.finish().expect("commit");
    pool.read(|s| {
        for id in [removed, moved] {
            assert_eq!(s.raw_message(id)?, None, "freed as the batch committed");
        }
        assert_all_freed(s);
        Ok(())
    })
    .expect("read");
    // Outside a batch a removal frees at once again.
    let id = pool.write(|s| s.add_message(f[0], RAW, 64)).expect("mail");
    pool.write(|s| s.remove(f[0], id)).expect("removed");
    pool.read(|s| s.raw_message(id))
        .map(|raw| assert_eq!(raw, None))
        .expect("read");
}
