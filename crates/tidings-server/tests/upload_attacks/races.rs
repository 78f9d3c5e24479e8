//! Uploads racing: two sessions of one device sending the same parts, and
//! parts arriving while the device is revoked (SQLite, in process).

use crate::common::hostile::Raw;
use crate::common::{LIMIT, Town};
use crate::support::*;
use std::time::{Duration, Instant};
use tidings::proto::operation_result::Outcome;
use tidings::session::MAX_UPLOAD_PART_BYTES;
use tidings::store::DeviceRegistry;
use tidings_server::clock::random;
use tidings_server::{admin, seed};

/// Two sessions of one device resend the same queued parts (same op ids,
/// as after a reconnect while the old connection still lives, sync.md
/// §5.9), then two more send them under op ids of their own: no part is
/// refused, and the file ends whole. Found before: each turn of one
/// session reserved the device's whole sending budget, so the other
/// session's overlapping turns were refused 608 with the budget barely
/// touched; 608 is not remembered while the Conflict that follows is, so
/// with the same op ids the upload ended stuck (6 of 41 parts held).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_session_gets_no_608_for_parts_and_the_file_stays_whole() {
    let town = Town::new().await;
    let addr = town.server.tcp_addr().expect("tcp").to_string();
    let dev = town.device(seed::CHIEF, "twin").await;
    let state = dev.close().await.expect("close");
    let device = state.device_id();
    let bytes = file(40 * MAX_UPLOAD_PART_BYTES + 123, 3);
    let mut verdicts = Vec::new();
    for same_op_ids in [true, false] {
        let id = upload_id();
        let mut a = state.clone();
        let mut b = state.clone();
        for (n, chunk) in bytes.chunks(MAX_UPLOAD_PART_BYTES).enumerate() {
            let kind = part(&id, n * MAX_UPLOAD_PART_BYTES, chunk, bytes.len());
            let op_id = random();
            a.queue(op_id, kind.clone());
            b.queue(if same_op_ids { op_id } else { random() }, kind);
        }
        // Each resume takes the next hello timestamp; b's is later.
        let order: Vec<Vec<Vec<u8>>> = [&a, &b]
            .iter()
            .map(|s| s.outbox().iter().map(|o| o.op_id.clone()).collect())
            .collect();
        // a's hello is stored before b's is sent (a hello stored after a
        // later one is refused as a replay); their parts then race.
        let a = resumed(&addr, a).await;
        let first = tokio::spawn(drain(a));
        let second = tokio::spawn(drain_outbox(addr.clone(), b));
        let (first, second) = (first.await.expect("a"), second.await.expect("b"));
        let conflicts = first
            .iter()
            .chain(&second)
            .filter(|(_, o)| matches!(o, Outcome::Conflict(_)))
            .count();
        let held = town
            .admin()
            .upload_bytes(device, &id.clone().try_into().expect("16"))
            .expect("read");
        println!("same op ids: {same_op_ids}: {conflicts} conflicts");
        for (name, answers, order) in [("a", &first, &order[0]), ("b", &second, &order[1])] {
            let line: Vec<String> = order
                .iter()
                .filter_map(|id| answers.iter().find(|(i, _)| i == id).map(|(_, o)| o))
                .map(|o| match o {
                    Outcome::Done(d) => format!("D{}", d.version / MAX_UPLOAD_PART_BYTES as u64),
                    Outcome::Conflict(c) => {
                        format!("C{}", c.current_version / MAX_UPLOAD_PART_BYTES as u64)
                    }
                    other => format!("E{:?}", error_code(other)),
                })
                .collect();
            println!("{name}: {}", line.join(" "));
        }
        if let Some(h) = &held {
            let first_diff = h.iter().zip(&bytes).position(|(x, y)| x != y);
            println!(
                "held {} of {}, first difference at {first_diff:?}",
                h.len(),
                bytes.len()
            );
        }
        let refused = first
            .iter()
            .chain(&second)
            .filter(|(_, o)| error_code(o) == Some(608))
            .count();
        let whole = held.as_deref() == Some(&bytes[..]);
        let prefix = held.as_deref().is_some_and(|h| bytes.starts_with(h));
        verdicts.push((same_op_ids, refused, whole, prefix));
    }
    println!(
        "(same op ids, parts refused 608, file whole, what is held is a prefix): {verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .all(|(_, refused, whole, prefix)| *refused == 0 && *whole && *prefix),
        "parts refused for a budget the device has barely touched, the upload left incomplete"
    );
}

/// A device streams new uploads while an admin revokes it: its next
/// operation after the revoke ends the session (the core reads the device
/// under the write lock), and the store holds none of its uploads (sync.md
/// §6: "A revoked device's uploads are discarded"). About 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_racing_a_revoke_leave_no_upload_behind() {
    let mut leaked_runs = 0;
    for round in 0..2 {
        let town = Town::new().await;
        let addr = town.server.tcp_addr().expect("tcp").to_string();
        let state = town
            .device(seed::CHIEF, "revoked")
            .await
            .close()
            .await
            .expect("close");
        let device = state.device_id();
        let mut raw = Raw::resume(&addr, state).await;
        let chunk = file(MAX_UPLOAD_PART_BYTES, 4);
        // Each op starts a new one-part upload: 600 × 48 KiB, within the budget.
        let bytes = raw.prepare_ops(600, || {
            part(&upload_id(), 0, &chunk, MAX_UPLOAD_PART_BYTES + 1)
        });
        let sender = tokio::spawn(async move {
            let _ = raw.send(&bytes).await;
            raw
        });
        tokio::time::sleep(Duration::from_millis(30 + 20 * round)).await;
        town.server
            .with_store(|s| admin::revoke(s, device))
            .expect("revoke");
        let started = Instant::now();
        let raw = tokio::time::timeout(LIMIT, sender)
            .await
            .expect("sent")
            .expect("task");
        while !raw.closed() && started.elapsed() < LIMIT {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(raw.closed(), "the revoked session ends");
        let left = town.admin().uploads(device).expect("uploads");
        println!("round {round}: {} uploads left after revoke", left.len());
        leaked_runs += usize::from(!left.is_empty());
    }
    assert_eq!(
        leaked_runs, 0,
        "a revoked device kept uploads in {leaked_runs} of 2 runs"
    );
}

/// The same parts resent by two sessions of one device, each on its own
/// server process over one PostgreSQL database (a reconnect that a load
/// balancer sent elsewhere). The core checks the part's offset against a
/// read that takes no lock; the store then appends at whatever is held by
/// then (`SELECT held ... FOR UPDATE`), so two sessions may each append
/// the same part: what is held must still be a prefix of the file (found
/// before the store checked the offset itself: 1 round in 4 held a part
/// twice). Starts PostgreSQL and two server processes: about 6 s.
#[test]
fn postgres_two_sessions_sending_the_same_parts_keep_a_prefix() {
    use crate::site::{Site, serve};
    let site = Site::postgres();
    let mut verdicts = Vec::new();
    crate::big_send::run(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = serve(&site, dir.path(), "a", 4096);
        let b = serve(&site, dir.path(), "b", 4096);
        let dev = site.device(&a.tcp, seed::CHIEF).await;
        let state = dev.close().await.expect("close");
        let device = state.device_id();
        let bytes = file(60 * MAX_UPLOAD_PART_BYTES, 9);
        for round in 0..4 {
            let id = upload_id();
            let (mut first, mut second) = (state.clone(), state.clone());
            for (n, chunk) in bytes.chunks(MAX_UPLOAD_PART_BYTES).enumerate() {
                let kind = part(&id, n * MAX_UPLOAD_PART_BYTES, chunk, bytes.len());
                let op_id = random();
                first.queue(op_id, kind.clone());
                second.queue(op_id, kind);
            }
            // The first hello stored before the second is read (a hello
            // committed after a later one is refused as a replay, 205).
            let first = resumed(&a.tcp, first).await;
            let x = tokio::spawn(drain(first));
            tokio::time::sleep(Duration::from_millis(5 * round)).await;
            let y = tokio::spawn(drain_outbox(b.tcp.clone(), second));
            let (x, y) = (x.await.expect("x"), y.await.expect("y"));
            let held = site.upload_bytes(device, &id).unwrap_or_default();
            let prefix = bytes.starts_with(&held);
            let differs = held.iter().zip(&bytes).position(|(h, f)| h != f);
            let done_past = x
                .iter()
                .chain(&y)
                .filter_map(|(_, o)| match o {
                    Outcome::Done(d) => Some(d.version),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            println!(
                "round {round}: held {} of {} bytes (largest Done {done_past}), a prefix of the file: {prefix} (first wrong byte at {differs:?})",
                held.len(),
                bytes.len()
            );
            verdicts.push(prefix);
        }
    });
    assert!(
        verdicts.iter().all(|p| *p),
        "an upload holds bytes the file does not: {verdicts:?}"
    );
}
