//! The admin command line as an operator meets it: the real binary, run on
//! a scratch database. Each failure must say what is wrong, where, and what
//! to do; nothing an operator did not ask for may be created or deleted.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tidings::store::{DeviceRegistry, Directory};
use tidings::sync::Rights;
use tidings_server::admin;
use tidings_server::store::{Durability, SqliteStore};

struct Scratch {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("town.db");
        Scratch { dir, db }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tidings-server"))
            .arg("--db")
            .arg(&self.db)
            .args(args)
            .env("RUST_LOG", "error")
            .output()
            .expect("the binary runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail; returns what it told the operator.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} succeeded");
        stderr(&out)
    }

    fn town(&self) {
        self.ok(&["add-principal", "Mayor Ada Quinn", "mayor@town.example"]);
        self.ok(&["add-principal", "Sam Okoye", "chief@town.example"]);
    }

    fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db, Durability::Process).expect("open")
    }

    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path.display().to_string()
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

#[test]
fn serve_refuses_a_database_others_can_read() {
    let s = Scratch::new();
    s.town();
    assert_eq!(mode(&s.db), 0o600, "created owner-only");
    std::fs::set_permissions(&s.db, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings-server"))
        .arg("--db")
        .arg(&s.db)
        .args(["serve", "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve started on a world-readable database");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("output");
    assert!(!status.success());
    let told = stderr(&out);
    assert!(
        told.contains("chmod 600") && told.contains("town.db"),
        "{told}"
    );
}

#[test]
fn serve_names_an_address_it_cannot_listen_on() {
    let s = Scratch::new();
    s.town();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let tcp = taken.local_addr().expect("addr").to_string();
    let told = s.fails(&["serve", "--tcp", &tcp, "--http", "127.0.0.1:0"]);
    assert!(
        told.contains(&tcp) && told.contains("--tcp") && told.contains("(error 600)"),
        "{told}"
    );
}

#[test]
fn a_mistyped_db_is_named_and_not_created() {
    let s = Scratch::new();
    let told = s.fails(&["list"]);
    assert!(
        told.contains("no database at") && told.contains("town.db"),
        "{told}"
    );
    assert!(!s.db.exists());
    let told = s.fails(&["import", "mbox", "mayor@town.example", "/nonexistent"]);
    assert!(told.contains("check --db"), "{told}");
    assert!(!s.db.exists());
}

#[test]
fn delegation_defaults_to_read_and_can_be_removed() {
    let s = Scratch::new();
    s.town();
    s.ok(&["delegate", "mayor@town.example", "chief@town.example"]);
    let rights = |s: &Scratch| {
        let store = s.store();
        let mayor = admin::principal(&store, "mayor@town.example").expect("mayor");
        let chief = admin::principal(&store, "chief@town.example").expect("chief");
        let calendar = admin::calendar(&store, mayor.id).expect("calendar");
        store.rights(chief.id, calendar).expect("rights")
    };
    assert_eq!(rights(&s), Rights::READ);
    s.ok(&["undelegate", "mayor@town.example", "chief@town.example"]);
    assert_eq!(rights(&s), Rights::NONE);
    s.ok(&[
        "delegate",
        "mayor@town.example",
        "chief@town.example",
        "--rights",
        "owner",
    ]);
    assert_eq!(rights(&s), Rights::OWNER);
    s.ok(&[
        "delegate",
        "mayor@town.example",
        "chief@town.example",
        "--rights",
        "none",
    ]);
    assert_eq!(rights(&s), Rights::NONE);
    let told = s.fails(&["undelegate", "mayor@town.example", "nobody@town.example"]);
    assert!(told.contains("no principal nobody@town.example"), "{told}");
}

#[test]
fn list_escapes_a_hostile_device_name() {
    let s = Scratch::new();
    s.town();
    {
        let mut store = s.store();
        let activation = admin::enroll(&mut store, "chief@town.example", 60_000).expect("enroll");
        let name = "Sam's phone\x1b[2J\r\ndevice    99  principal 1    active   Mayor's phone";
        store
            .redeem_activation(&activation.code.display(), [7; 32], name, 0)
            .expect("redeem");
    }
    let listed = s.ok(&["list"]);
    assert!(!listed.contains('\x1b'), "{listed}");
    assert!(
        !listed.lines().any(|l| l.starts_with("device    99")),
        "{listed}"
    );
    assert!(listed.contains("Sam's phone\\u{1b}[2J\\r\\n"), "{listed}");
}

#[test]
fn add_principal_refuses_bad_and_duplicate_addresses() {
    let s = Scratch::new();
    s.ok(&["add-principal", "Jörg", "jörg@town.example"]);
    for bad in [
        "",
        "jo\r\nBcc: x@evil.example",
        "no-at-sign",
        "a b@town.example",
    ] {
        let told = s.fails(&["add-principal", "X", bad]);
        assert!(told.contains("error 510"), "{bad:?}: {told}");
    }
    let told = s.fails(&["add-principal", "Jorg", "JÖRG@town.example"]);
    assert!(told.contains("exists"), "{told}");
    let told = s.fails(&["add-principal", "Evil\r\nprincipal 9", "evil@town.example"]);
    assert!(told.contains("control character"), "{told}");
    assert_eq!(s.store().principals().expect("principals").len(), 1);
}

#[test]
fn demo_keeps_a_database_it_did_not_make() {
    let s = Scratch::new();
    s.town();
    let told = s.fails(&["demo", "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
    assert!(
        told.contains("--replace") && told.contains("town.db"),
        "{told}"
    );
    assert_eq!(s.store().principals().expect("principals").len(), 2);
}

#[test]
fn import_and_deliver_say_what_went_wrong_and_where() {
    let s = Scratch::new();
    s.town();
    let eml = s.file(
        "one.eml",
        b"From: a@b.example\r\nSubject: hi\r\nMessage-ID: <1@b.example>\r\n\r\nhello\r\n",
    );
    let told = s.fails(&["import", "mbox", "mayor@town.example", &eml]);
    assert!(
        told.contains("one.eml") && told.contains("deliver"),
        "{told}"
    );

    let told = s.fails(&[
        "import",
        "mbox",
        "mayor@town.example",
        &eml,
        "--folder",
        "Inbx",
    ]);
    assert!(
        told.contains("Inbx") && told.contains("Inbox, Sent"),
        "{told}"
    );
    let store = s.store();
    let mayor = admin::principal(&store, "mayor@town.example").expect("mayor");
    assert_eq!(
        admin::folder_names(&store, mayor.id).expect("folders"),
        ["Inbox", "Sent"]
    );

    let missing = s.dir.path().join("missing.eml").display().to_string();
    let told = s.fails(&["deliver", "mayor@town.example", &missing]);
    assert!(
        told.contains("missing.eml") && told.contains("No such file"),
        "{told}"
    );
    let png = s.file("photo.eml", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    let told = s.fails(&["deliver", "mayor@town.example", &png]);
    assert!(
        told.contains("photo.eml") && told.contains("not a mail message"),
        "{told}"
    );

    // An endless file is refused at once, not read whole.
    let told = s.fails(&["import", "mbox", "mayor@town.example", "/dev/zero"]);
    assert!(told.contains("not an mbox"), "{told}");
    let told = s.fails(&["deliver", "mayor@town.example", "/dev/zero"]);
    assert!(told.contains("larger than"), "{told}");
    let told = s.fails(&[
        "enroll",
        "mayor@town.example",
        "--valid-minutes",
        "18446744073709551615",
    ]);
    assert!(told.contains("valid-minutes"), "{told}");

    // Before any `serve`, the payload names the default address unless
    // told another (an outside implementer's devices went to 4650 while
    // the server listened elsewhere).
    let payload = s.ok(&[
        "enroll",
        "mayor@town.example",
        "--no-qr",
        "--tcp",
        "hall:47650",
    ]);
    assert!(payload.contains("tcp=hall:47650"), "{payload}");
    assert!(!payload.contains("ws="), "{payload}");
    let told = s.fails(&["enroll", "mayor@town.example", "--tcp", "47650"]);
    assert!(told.contains("not host:port"), "{told}");
    // The WebSocket URL is named beside it (with `--tcp` alone, none: a
    // later `serve`'s would not match the address named).
    let payload = s.ok(&[
        "enroll",
        "mayor@town.example",
        "--no-qr",
        "--tcp",
        "hall:47650",
        "--ws",
        "wss://hall.example/tidings",
    ]);
    assert!(
        payload.contains("tcp=hall:47650") && payload.contains("ws=wss"),
        "{payload}"
    );
    let told = s.fails(&["enroll", "mayor@town.example", "--ws", "http://hall/"]);
    assert!(told.contains("not a ws://"), "{told}");

    let empty = s.file(
        "empty.ics",
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
    );
    let done = s.ok(&["import", "ics", "mayor@town.example", &empty]);
    assert!(done.contains("imported 0 new"), "{done}");
    let told = s.fails(&["import", "ics", "nobody@town.example", &empty]);
    assert!(
        told.contains("no principal nobody@town.example") && told.contains("list"),
        "{told}"
    );
}

/// Tombstones grow on PostgreSQL as on SQLite, and `compact` refused it,
/// leaving the operator no way to forget them there.
#[test]
fn compact_works_on_postgresql_too() {
    use tidings::store::ItemStore;
    let db = tidings_store_postgres::testing::TestDatabase::create().expect("PostgreSQL");
    let s = Scratch::new();
    let url = db.url();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tidings-server"))
            .arg("--db")
            .arg(&url)
            .args(args)
            .env("RUST_LOG", "error")
            .output()
            .expect("the binary runs");
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["add-principal", "Sam Okoye", "chief@town.example"]);
    let eml = s.file(
        "m.eml",
        b"From: a@town.example\r\nSubject: x\r\n\r\nbody\r\n",
    );
    run(&["deliver", "chief@town.example", &eml]);
    let mut store = tidings_server::stores::PostgresStore::connect(&url).expect("store");
    let chief = admin::principal(&store, "chief@town.example").expect("chief");
    let inbox = admin::existing_folder(&store, chief.id, "Inbox").expect("inbox");
    let item = store.items(inbox).expect("items")[0].0;
    store.remove(inbox, item).expect("remove");
    let told = run(&["compact", "chief@town.example", "Inbox"]);
    assert!(told.contains("compacted up to modseq 2"), "{told}");
    assert_eq!(store.head(inbox).expect("head").floor, 2);
}

#[test]
fn compact_and_recreate_make_the_resync_cases_and_list_shows_a_wipe() {
    use tidings::store::ItemStore;
    let s = Scratch::new();
    s.town();
    let eml = s.file(
        "m.eml",
        b"From: a@town.example\r\nSubject: x\r\n\r\nbody\r\n",
    );
    s.ok(&["deliver", "chief@town.example", &eml]);
    let inbox = |s: &Scratch| {
        let store = s.store();
        let chief = admin::principal(&store, "chief@town.example").expect("chief");
        admin::existing_folder(&store, chief.id, "Inbox").expect("inbox")
    };
    let id = inbox(&s);
    {
        let mut store = s.store();
        let item = store.items(id).expect("items")[0].0;
        store.transaction(|st| st.remove(id, item)).expect("remove");
    }
    let told = s.ok(&["compact", "chief@town.example", "Inbox"]);
    assert!(told.contains("compacted up to modseq 2"), "{told}");
    assert_eq!(s.store().head(id).expect("head").floor, 2);
    let told = s.ok(&["recreate", "chief@town.example", "Inbox"]);
    assert!(told.contains("epoch 2"), "{told}");
    assert_eq!(s.store().head(id).expect("head").epoch, 2);
    let told = s.fails(&["compact", "chief@town.example", "Nowhere"]);
    assert!(told.contains("no mail folder"), "{told}");

    // A wipe ordered, then confirmed (revoked): list says which.
    let device = {
        let mut store = s.store();
        let activation = admin::enroll(&mut store, "chief@town.example", 60_000).expect("enroll");
        store
            .transaction(|st| st.redeem_activation(&activation.code.display(), [7; 32], "phone", 0))
            .expect("redeem")
            .id
    };
    s.ok(&["wipe", &device.to_string()]);
    assert!(s.ok(&["list"]).contains("wiping"));
    {
        let mut store = s.store();
        let wipe = store.device(device).expect("device").wipe;
        let tidings::store::WipeState::Pending(id) = wipe else {
            panic!("pending")
        };
        store
            .transaction(|st| {
                st.set_wipe(device, tidings::store::WipeState::Done(id))?;
                st.revoke(device)
            })
            .expect("done");
    }
    assert!(s.ok(&["list"]).contains("wiped"));
}
