//! Two transactions removing the last two readers of some bytes at once.

use std::sync::mpsc;
use std::time::Duration;

use tidings::proto::CollectionKind;

use super::{free_messages, remove};
use crate::testing::TestDatabase;

const RAW: &[u8] = b"From: a@example.org\r\nSubject: s\r\n\r\nHello.\r\n";

fn count(db: &TestDatabase, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    db.client()
        .expect("client")
        .query_one(sql.as_str(), &[])
        .expect("count")
        .get(0)
}

/// Each transaction removes one of the two readers (the holder, its copy)
/// and frees before the other commits. Without the holder's lock each saw
/// the other's reader still there and neither freed the bytes.
#[test]
fn the_last_two_readers_removed_at_once_still_free_the_bytes() {
    let db = TestDatabase::create().expect("PostgreSQL");
    let mut first = db.store().expect("store");
    let second = db.store().expect("store");
    let owner = first
        .add_principal("P", "p@example.org")
        .expect("principal");
    let folders: Vec<u64> = (0..2)
        .map(|n| {
            let name = format!("F{n}");
            first
                .add_collection(owner, CollectionKind::Mail, &name)
                .expect("folder")
        })
        .collect();
    let ids = first.add_message_copies(&folders, RAW, 64).expect("copies");
    let (holder, copy) = (ids[0], ids[1]);
    assert_eq!(
        (count(&db, "messages"), count(&db, "message_copies")),
        (1, 1)
    );

    let mut a = first.conn();
    a.begin().expect("begin");
    remove(&mut a, folders[1], copy, false).expect("copy removed");
    let (removed, holder_removed) = mpsc::channel();
    let other = std::thread::spawn(move || {
        let mut b = second.conn();
        b.begin()?;
        remove(&mut b, folders[0], holder, false)?;
        removed.send(()).expect("signal");
        free_messages(&mut b, &[holder])?;
        b.end(true)
    });
    holder_removed
        .recv()
        .expect("the holder is removed, not committed");
    free_messages(&mut a, &[copy]).expect("freed");
    // Time for the other transaction to reach its free: with the lock it
    // waits for this commit, and then sees it.
    std::thread::sleep(Duration::from_millis(300));
    a.end(true).expect("commit");
    drop(a);
    other.join().expect("thread").expect("other transaction");
    assert_eq!(
        (count(&db, "messages"), count(&db, "message_copies")),
        (0, 0)
    );
}
