//! Importing public test corpora nobody here wrote, item by item: the
//! calendars that `recurring-ical-events` (PyPI) tests with, and the mails
//! of the `mail-parser` (PyPI, SpamScope) test suite, among them an Outlook
//! `.msg`, GB2312 and Windows-1251 mail and deliberately malformed mail.
//! Both are downloaded with pip (`cargo xtask test` does it first, see
//! `xtask/src/install.rs`; this test does it itself when they are missing)
//! and never installed. Prints a table: file, then what became of it.

use std::path::{Path, PathBuf};
use std::process::Command;
use tidings::store::ItemStore;
use tidings_server::admin;
use tidings_server::import::{self, Report};
use tidings_server::store::SqliteStore;

/// (package, version, whether to take the source archive, where its data is).
const CORPORA: [(&str, &str, bool, &str); 2] = [
    (
        "recurring-ical-events",
        "3.8.2",
        false,
        "recurring_ical_events/test/calendars",
    ),
    (
        "mail-parser",
        "4.8.0",
        true,
        "mail_parser-4.8.0/tests/mails",
    ),
];

fn python(args: &[&str]) {
    let out = Command::new("python3")
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "python3 {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The corpus's data directory, downloaded and unpacked once.
fn corpus(index: usize) -> PathBuf {
    let (package, version, sdist, data) = CORPORA[index];
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpora");
    let dir = root.join(format!("{package}-{version}"));
    if !dir.join(data).is_dir() {
        let download = root.join("downloads");
        let spec = format!("{package}=={version}");
        let mut args = vec!["-m", "pip", "download", "--quiet", "--no-deps", "-d"];
        let download_dir = download.display().to_string();
        args.push(&download_dir);
        if sdist {
            args.extend(["--no-binary", ":all:"]);
        }
        args.push(&spec);
        python(&args);
        let stem = package.replace('-', "_");
        let archive = std::fs::read_dir(&download)
            .expect("downloads")
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase());
                name.is_some_and(|n| n.starts_with(&format!("{stem}-{version}")))
            })
            .expect("the downloaded archive");
        let module = if sdist { "tarfile" } else { "zipfile" };
        let (archive, dir_text) = (archive.display().to_string(), dir.display().to_string());
        python(&["-m", module, "-e", &archive, &dir_text]);
    }
    dir.join(data)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("list")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

fn row(path: &Path, report: &Report) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let mut outcome = format!(
        "{} imported, {} superseded",
        report.stored, report.superseded
    );
    for refusal in &report.refused {
        let at = refusal.source.rsplit_once(':').map_or("", |(_, line)| line);
        let uid = refusal
            .uid
            .as_deref()
            .map(|u| format!(" UID {u}"))
            .unwrap_or_default();
        outcome.push_str(&format!("; refused line {at}{uid}: {}", refusal.reason));
    }
    println!("| {name} | {outcome} |");
}

fn town() -> (SqliteStore, u64) {
    let mut store = SqliteStore::open_in_memory().expect("store");
    let id = admin::add_principal(&mut store, "Zsofia Varga", "cllr.varga@town.example")
        .expect("principal");
    (store, id)
}

#[test]
fn recurring_ical_events_calendars_import_event_by_event() {
    let (mut store, principal) = town();
    let calendar = admin::calendar(&store, principal).expect("calendar");
    let calendars: Vec<PathBuf> = files(&corpus(0))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ics"))
        .collect();
    assert!(calendars.len() >= 90, "{} calendars", calendars.len());
    println!("| file | outcome |\n|---|---|");
    let (mut whole, mut events, mut refused) = (0, 0, 0);
    for path in &calendars {
        let report = import::ics(&mut store, calendar, path).expect("the store works");
        row(path, &report);
        whole += usize::from(report.refused.is_empty());
        events += report.stored + report.updated;
        refused += report.refused.len();
        for refusal in &report.refused {
            assert!(!refusal.reason.is_empty() && refusal.source.contains(':'));
        }
    }
    println!(
        "{whole} of {} files imported without a refusal; {events} events stored or updated; {refused} events refused",
        calendars.len()
    );
    // Every file is read event by event: at most a handful of events are
    // refused, never a whole file for one bad event.
    assert!(whole + 5 >= calendars.len(), "{whole} whole files");
    assert!(events >= 300, "{events} events");

    // Importing everything again stores nothing new.
    let held = store.items(calendar).expect("items").len();
    for path in &calendars {
        let again = import::ics(&mut store, calendar, path).expect("the store works");
        assert_eq!(again.stored, 0, "{path:?}");
    }
    assert_eq!(store.items(calendar).expect("items").len(), held);
}

#[test]
fn mail_parser_test_mails_import_or_are_refused_by_name() {
    let (mut store, principal) = town();
    let inbox = admin::existing_folder(&store, principal, "Inbox").expect("inbox");
    let dir = corpus(1);
    let mails = files(&dir);
    assert!(mails.len() >= 20, "{} mails", mails.len());
    let report = import::maildir(&mut store, inbox, &dir).expect("the store works");
    println!("| file | outcome |\n|---|---|");
    for path in &mails {
        let source = path.display().to_string();
        let outcome = match report.refused.iter().find(|r| r.source == source) {
            Some(refusal) => format!("refused: {}", refusal.reason),
            None => "imported (or already present)".into(),
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        println!("| {name} | {outcome} |");
    }
    println!("{}", report.summary());
    let outlook = report
        .refused
        .iter()
        .find(|r| r.source.ends_with("mail_outlook_1"))
        .expect("the Outlook .msg is refused");
    assert!(outlook.reason.contains("not a mail message"), "{outlook}");
    assert!(report.stored >= mails.len() - 3, "{}", report.summary());

    // The GB2312 message's subject is Chinese text, not mojibake.
    let subjects: Vec<String> = store
        .items(inbox)
        .expect("items")
        .iter()
        .filter_map(|(_, packed, _)| {
            let bytes = tidings::compress::unpack(packed, &Default::default()).ok()?;
            let item: tidings::proto::Item = tidings::proto::decode(&bytes).ok()?;
            match item.kind? {
                tidings::proto::item::Kind::Mail(mail) => Some(mail.headers?.subject),
                _ => None,
            }
        })
        .collect();
    let replacement = subjects.iter().filter(|s| s.contains('\u{fffd}')).count();
    assert_eq!(replacement, 0, "{subjects:#?}");
    let again = import::maildir(&mut store, inbox, &dir).expect("the store works");
    assert_eq!((again.stored, again.unchanged), (0, report.stored));
}
