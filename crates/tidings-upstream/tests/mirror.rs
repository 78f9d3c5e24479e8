//! The gateway against a real Dovecot, with Python's imaplib as the user's
//! desktop client: mail delivered upstream reaches the store and a device's
//! delta; changes made on the desktop (flags, folders) are mirrored; the
//! gateway's write-backs show on the desktop; a restart resumes without
//! re-downloading.

mod support;

use std::time::Duration;
use support::account::{
    ALICE, alice, bounded, collection, device_view, endpoint, item_id, mail, open, store_at,
};
use support::desktop::{Desktop, eventually};
use support::dovecot::{Dovecot, MASTER};
use tidings::ErrorKind;
use tidings::proto::{CollectionKind, Cursor, MailFlag, ResyncReason};
use tidings::store::{Directory, ItemStore};
use tidings::sync::{Delta, PageLimits};
use tidings_upstream::Account;
use tidings_upstream::config::{Credentials, Secret};

#[tokio::test]
async fn delivered_mail_reaches_the_store_and_a_device_delta() {
    bounded(async {
        let dovecot = Dovecot::start();
        dovecot.deliver("alice", &mail("Budget 2027"));
        dovecot.deliver("alice", &mail("Road works"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        // The server made an INBOX with the principal: the mirror adopts it.
        let made = {
            let mut s = store.lock().expect("store");
            let alice = s
                .principal_by_email(ALICE)
                .expect("lookup")
                .expect("alice")
                .id;
            s.add_collection(alice, CollectionKind::Mail, "INBOX")
                .expect("INBOX")
        };
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX mirrored");
        assert_eq!(inbox, made, "the existing INBOX is adopted, not doubled");
        let alice_collections = {
            let s = store.lock().expect("store");
            let alice = s
                .principal_by_email(ALICE)
                .expect("lookup")
                .expect("alice")
                .id;
            s.owned_collections(alice).expect("collections")
        };
        assert_eq!(
            alice_collections
                .iter()
                .filter(|c| c.name == "INBOX")
                .count(),
            1
        );
        let view = device_view(&store, inbox);
        assert_eq!(view.get("Budget 2027"), Some(&0));
        assert_eq!(view.get("Road works"), Some(&0));
        assert_eq!(account.fetched().messages, 2);
    })
    .await;
}

#[tokio::test]
async fn a_desktop_flag_change_reaches_the_store_without_a_download() {
    bounded(async {
        let dovecot = Dovecot::start();
        dovecot.deliver("alice", &mail("Budget 2027"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("sync");
        let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
        desktop.add_flags("INBOX", "Budget 2027", "\\Seen \\Flagged");
        account.sync_all().await.expect("resync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        let flags = MailFlag::Seen as u32 | MailFlag::Flagged as u32;
        assert_eq!(device_view(&store, inbox).get("Budget 2027"), Some(&flags));
        assert_eq!(
            account.fetched().messages,
            1,
            "a flag change downloads nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn write_backs_show_on_the_desktop() {
    bounded(async {
        let dovecot = Dovecot::start();
        let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
        desktop.create("Archive");
        dovecot.deliver("alice", &mail("Budget 2027"));
        dovecot.deliver("alice", &mail("Road works"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        let archive = collection(&store, "Archive").expect("Archive");

        let budget = item_id(&store, inbox, "Budget 2027");
        let seen = MailFlag::Seen as u32;
        assert_eq!(
            account
                .set_flags(inbox, budget, seen, 0)
                .await
                .expect("flags"),
            seen
        );
        assert!(desktop.flags("INBOX", "Budget 2027").contains("\\Seen"));
        assert_eq!(device_view(&store, inbox).get("Budget 2027"), Some(&seen));

        let moved = account
            .move_item(inbox, budget, archive)
            .await
            .expect("move");
        assert_ne!(
            moved, 0,
            "COPYUID lets the gateway re-file it without a download"
        );
        assert_eq!(desktop.count("INBOX", "Budget 2027"), 0);
        assert_eq!(desktop.count("Archive", "Budget 2027"), 1);
        assert!(!device_view(&store, inbox).contains_key("Budget 2027"));
        assert_eq!(device_view(&store, archive).get("Budget 2027"), Some(&seen));

        let road = item_id(&store, inbox, "Road works");
        account.delete_item(inbox, road).await.expect("delete");
        assert_eq!(desktop.count("INBOX", "Road works"), 0);
        assert!(device_view(&store, inbox).is_empty());

        // Nothing of this comes back as a change on the next sync.
        account.sync_all().await.expect("resync");
        assert_eq!(account.fetched().messages, 2);
        assert_eq!(device_view(&store, archive).len(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_operation_on_mail_deleted_upstream_is_not_found_and_converges() {
    bounded(async {
        let dovecot = Dovecot::start();
        dovecot.deliver("alice", &mail("Budget 2027"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        let budget = item_id(&store, inbox, "Budget 2027");
        Desktop::new(dovecot.addr(), "alice", "alice-pw").expunge("INBOX", "Budget 2027");
        let err = account
            .set_flags(inbox, budget, MailFlag::Seen as u32, 0)
            .await
            .expect_err("gone upstream");
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(device_view(&store, inbox).is_empty(), "the store converged");
        let again = account
            .delete_item(inbox, budget)
            .await
            .expect_err("still gone");
        assert_eq!(again.kind(), ErrorKind::NotFound);
    })
    .await;
}

#[tokio::test]
async fn desktop_folder_create_rename_delete_are_mirrored() {
    bounded(async {
        let dovecot = Dovecot::start();
        let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
        desktop.create("Projects");
        desktop.append("Projects", "", &mail("Bridge"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("sync");
        let projects = collection(&store, "Projects").expect("created");

        // Renamed into a name IMAP writes in modified UTF-7: devices see
        // it as every other client shows it.
        desktop.rename("Projects", "Entw&APw-rfe 2027");
        account.sync_all().await.expect("sync after rename");
        assert_eq!(
            collection(&store, "Entwürfe 2027"),
            Some(projects),
            "same collection"
        );
        assert_eq!(collection(&store, "Projects"), None);
        assert!(device_view(&store, projects).contains_key("Bridge"));
        assert_eq!(account.fetched().messages, 1, "a rename downloads nothing");
        desktop.create("&ZeVnLIqe-");
        desktop.append("&ZeVnLIqe-", "", &mail("Kaigi"));
        account.sync_all().await.expect("sync after create");
        let japanese = collection(&store, "日本語").expect("created, named as shown");
        assert!(device_view(&store, japanese).contains_key("Kaigi"));
        // Quotes and backslashes in a name (anyone who can create a folder
        // could stop the account's mirror with one).
        for (wire, name) in [(r#"Q\\"x"#, "Q\"x"), (r#"B\\\\x"#, "B\\x")] {
            desktop.create(wire);
            desktop.append(wire, "", &mail(name));
            account.sync_all().await.expect("sync with the odd name");
            let odd = collection(&store, name).expect("mirrored");
            assert!(device_view(&store, odd).contains_key(name));
        }

        desktop.delete("Entw&APw-rfe 2027");
        account.sync_all().await.expect("sync after delete");
        assert_eq!(collection(&store, "Entwürfe 2027"), None);
    })
    .await;
}

#[tokio::test]
async fn a_restart_resumes_without_downloading_again() {
    bounded(async {
        let dovecot = Dovecot::start();
        for subject in ["One", "Two", "Three"] {
            dovecot.deliver("alice", &mail(subject));
        }
        let path = dovecot.scratch().join("store.db");
        {
            let store = store_at(&path);
            let mut account = open(&dovecot, &store).await;
            account.sync_all().await.expect("first run");
            assert_eq!(account.fetched().messages, 3);
            account.close().await;
        }
        dovecot.deliver("alice", &mail("Four"));
        let store = store_at(&path);
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("second run");
        assert_eq!(
            account.fetched().messages,
            1,
            "only the new mail is fetched"
        );
        let inbox = collection(&store, "INBOX").expect("INBOX");
        assert_eq!(device_view(&store, inbox).len(), 4);
    })
    .await;
}

#[tokio::test]
async fn a_uidvalidity_change_recreates_the_collection() {
    bounded(async {
        let dovecot = Dovecot::start();
        let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
        desktop.create("Lists");
        desktop.append("Lists", "", &mail("Old"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("sync");
        let lists = collection(&store, "Lists").expect("Lists");
        let before = store.lock().expect("store").head(lists).expect("head");

        // Same name, new folder: a new UIDVALIDITY.
        desktop.delete("Lists");
        desktop.create("Lists");
        desktop.append("Lists", "", &mail("New"));
        account.sync_all().await.expect("sync");
        let after = store.lock().expect("store").head(lists).expect("head");
        assert_eq!(after.epoch, before.epoch + 1);
        let old_cursor = Cursor {
            collection_id: lists,
            epoch: before.epoch,
            modseq: before.modseq,
            ..Cursor::default()
        };
        let delta = store
            .lock()
            .expect("store")
            .delta(&old_cursor, &PageLimits::default())
            .expect("delta");
        match delta {
            Delta::Resync(r) => assert_eq!(r.reason, ResyncReason::Recreated as i32),
            Delta::Page(_) => panic!("a device of the old folder must resync"),
        }
        let view = device_view(&store, lists);
        assert_eq!(view.keys().collect::<Vec<_>>(), ["New"]);
    })
    .await;
}

#[tokio::test]
async fn a_master_user_logs_in_for_the_account() {
    bounded(async {
        let dovecot = Dovecot::start();
        dovecot.deliver("alice", &mail("Budget 2027"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        let master = Credentials {
            username: format!("alice*{}", MASTER.0),
            password: Secret::new(MASTER.1),
        };
        let mut account = Account::open(&endpoint(&dovecot), &master, ALICE, store.clone(), 2048)
            .await
            .expect("master login");
        account.sync_all().await.expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        assert!(device_view(&store, inbox).contains_key("Budget 2027"));
        let wrong = Credentials {
            username: format!("alice*{}", MASTER.0),
            password: Secret::new("wrong"),
        };
        let err = Account::open(&endpoint(&dovecot), &wrong, ALICE, store.clone(), 2048)
            .await
            .expect_err("wrong master password");
        assert_eq!(err.kind(), ErrorKind::UpstreamRefused);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_brings_new_mail_and_folder_changes_without_polling() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    // Two folder-list checks may be needed (below): beyond `bounded`'s limit.
    let limit = 2 * tidings_upstream::gateway::FOLDER_LIST_EVERY + Duration::from_secs(40);
    tokio::time::timeout(limit, async {
        let dovecot = Dovecot::start();
        let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
        desktop.create("Projects");
        let store = store_at(&dovecot.scratch().join("store.db"));
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let options = tidings_upstream::AccountOptions {
            endpoint: endpoint(&dovecot),
            credentials: alice(),
            principal: ALICE.to_string(),
            preview_bytes: 2048,
            // Far beyond the test: only push can bring the changes.
            poll: Duration::from_secs(3600),
            dovecot_push: false,
        };
        let (handle, task) = tidings_upstream::gateway::spawn(options, store.clone(), shutdown);
        let projects = eventually(Duration::from_secs(10), || collection(&store, "Projects")).await;
        let inbox = eventually(Duration::from_secs(10), || collection(&store, "INBOX")).await;

        dovecot.deliver("alice", &mail("Pushed"));
        eventually(Duration::from_secs(10), || {
            device_view(&store, inbox)
                .contains_key("Pushed")
                .then_some(())
        })
        .await;

        desktop.append("Projects", "", &mail("Bridge"));
        eventually(Duration::from_secs(10), || {
            device_view(&store, projects)
                .contains_key("Bridge")
                .then_some(())
        })
        .await;

        // A write-back through the handle, as the server will call it.
        let pushed = item_id(&store, inbox, "Pushed");
        let flagged = MailFlag::Flagged as u32;
        handle
            .set_flags(inbox, pushed, flagged, 0)
            .await
            .expect("write-back");
        assert!(desktop.flags("INBOX", "Pushed").contains("\\Flagged"));

        // A folder renamed on the desktop is renamed, keeping its collection
        // and items: by NOTIFY's MailboxName event when Dovecot sends one
        // (it reports a rename only once some session re-reads its folder
        // list index, so not always), else by the folder-list check.
        desktop.rename("Projects", "Projects 2027");
        let list_check = tidings_upstream::gateway::FOLDER_LIST_EVERY + Duration::from_secs(10);
        eventually(list_check, || {
            (collection(&store, "Projects 2027") == Some(projects)).then_some(())
        })
        .await;
        assert!(device_view(&store, projects).contains_key("Bridge"));
        desktop.create("Harbour");
        eventually(list_check, || collection(&store, "Harbour")).await;

        stop.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("the mirror stops on shutdown")
            .expect("mirror task");
    })
    .await
    .expect("the test ends within its limit");
}

/// Dovecot's push-notification plugin reports an LMTP delivery to the
/// gateway over HTTP; with no IDLE or NOTIFY announced and the poll an hour
/// away, it is the only way the mail can arrive in time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dovecot_push_brings_new_mail_without_idle() {
    bounded(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("listener");
        let port = listener.local_addr().expect("addr").port();
        let dovecot = Dovecot::start_with_push(port);
        dovecot.deliver("alice", &mail("Before"));
        let store = store_at(&dovecot.scratch().join("store.db"));
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let options = tidings_upstream::AccountOptions {
            endpoint: endpoint(&dovecot),
            credentials: alice(),
            principal: ALICE.to_string(),
            preview_bytes: 2048,
            poll: Duration::from_secs(3600),
            dovecot_push: true,
        };
        let (handle, task) =
            tidings_upstream::gateway::spawn(options, store.clone(), shutdown.clone());
        let accounts = std::sync::Arc::new(std::collections::HashMap::from([(
            ALICE.to_string(),
            handle,
        )]));
        let push = tokio::spawn(tidings_upstream::dovecot_push::serve(
            listener, accounts, shutdown,
        ));
        // The first sync, made after the registration, brings what is there.
        let inbox = eventually(Duration::from_secs(10), || collection(&store, "INBOX")).await;
        eventually(Duration::from_secs(10), || {
            device_view(&store, inbox)
                .contains_key("Before")
                .then_some(())
        })
        .await;
        // Then only Dovecot's request can bring the next one.
        dovecot.deliver("alice", &mail("Pushed by Dovecot"));
        eventually(Duration::from_secs(10), || {
            device_view(&store, inbox)
                .contains_key("Pushed by Dovecot")
                .then_some(())
        })
        .await;
        stop.send(true).expect("stop");
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), push).await;
    })
    .await;
}
