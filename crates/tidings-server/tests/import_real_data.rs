//! Importing real mail and calendars nobody here wrote: CPython's
//! `test_email` messages (as a Maildir and as an mbox) and the Python
//! `icalendar` package's test calendars; then a device syncs all of it.
//!
//! The data is found through python3; `cargo xtask test` installs the
//! pinned `icalendar` package first.

mod common;

use common::{Town, holds, until};
use std::path::{Path, PathBuf};
use std::process::Command;
use tidings_server::client::Connection;
use tidings_server::{admin, import, seed};

fn python_dir(expr: &str) -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", &format!("print({expr})")])
        .output()
        .expect("python3 runs");
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        dir.is_dir(),
        "no data at {dir:?}: install python3 and icalendar==7.3.2"
    );
    dir
}

fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpython_mail_and_icalendar_calendars_import_and_sync() {
    let town = Town::new().await;
    let email = seed::COUNCILLORS[2];
    let mail_dir = python_dir(
        "__import__('os').path.join(__import__('os').path.dirname(__import__('test.test_email').test_email.__file__), 'data')",
    );
    let messages: Vec<PathBuf> = files(&mail_dir, "")
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("msg_"))
        })
        .collect();
    assert!(messages.len() >= 40, "{} messages", messages.len());

    // A Maildir: the messages as files under cur/.
    let scratch = tempfile::tempdir().expect("tempdir");
    let cur = scratch.path().join("Maildir/cur");
    std::fs::create_dir_all(&cur).expect("mkdir");
    let mut mbox = Vec::new();
    for (i, path) in messages.iter().enumerate() {
        let raw = std::fs::read(path).expect("read");
        std::fs::write(cur.join(format!("{i:04}.test:2,S")), &raw).expect("write");
        mbox.extend_from_slice(b"From importer@town.example Sun Nov 29 00:00:00 2026\n");
        for line in raw.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"From ") {
                mbox.push(b'>');
            }
            mbox.extend_from_slice(line);
        }
        if !raw.ends_with(b"\n") {
            mbox.push(b'\n');
        }
        mbox.push(b'\n');
    }
    let mbox_path = scratch.path().join("archive.mbox");
    std::fs::write(&mbox_path, &mbox).expect("write mbox");

    let mut store = town.admin();
    let principal = admin::principal(&store, email).expect("principal").id;
    let maildir_folder = admin::folder(&mut store, principal, "Imported").expect("folder");
    let from_maildir = store
        .transaction(|s| import::maildir(s, maildir_folder, &scratch.path().join("Maildir")))
        .expect("maildir import");
    let mbox_folder = admin::folder(&mut store, principal, "Archive").expect("folder");
    let from_mbox = store
        .transaction(|s| import::mbox(s, mbox_folder, &mbox_path))
        .expect("mbox import");
    // Some test messages share a Message-ID: one copy each is kept.
    assert_eq!(
        from_maildir.stored + from_maildir.unchanged + from_maildir.refused.len(),
        messages.len()
    );
    assert_eq!(
        (from_mbox.stored, from_mbox.refused.len()),
        (from_maildir.stored, from_maildir.refused.len()),
        "the same messages either way"
    );
    assert!(
        from_maildir.stored + from_maildir.unchanged >= messages.len() - 2,
        "{from_maildir:?}"
    );

    // Calendars: every event is imported or refused with a reason.
    let ics_dir = python_dir(
        "__import__('os').path.dirname(__import__('importlib.util').util.find_spec('icalendar').origin)",
    );
    let calendars = files(&ics_dir.join("tests"), ".ics");
    assert!(calendars.len() >= 100, "{} calendars", calendars.len());
    let calendar = admin::calendar(&store, principal).expect("calendar");
    let (mut imported, mut events, mut refused) = (0, 0, 0);
    for path in &calendars {
        let done = import::ics(&mut store, calendar, path).expect("the store works");
        if done.refused.is_empty() {
            imported += 1;
        } else {
            refused += 1;
        }
        events += done.stored + done.updated;
    }
    println!(
        "imported {} of {} CPython messages; {imported} of {} icalendar files ({events} events), {refused} refused",
        from_maildir.stored,
        messages.len(),
        calendars.len()
    );
    assert!(imported >= 75, "{imported} calendars imported");

    // A device of this principal syncs every imported item.
    let mut device = Connection::enroll(&town.activation(email), "Zsofia's tablet")
        .await
        .expect("enroll");
    let expected = town.visible_items(email);
    until(&mut device, |s| holds(s) == expected).await;
    town.server.shutdown().await;
}
