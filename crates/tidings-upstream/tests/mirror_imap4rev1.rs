//! The gateway in front of a server that offers plain IMAP4rev1 only (a
//! real Dovecot told to announce no CONDSTORE, QRESYNC, UIDPLUS, MOVE, IDLE
//! or NOTIFY): it is served, not refused. Every sync lists UIDs and flags
//! and downloads only new bodies; desktop flags and expunges are mirrored;
//! write-backs (flags, a move as COPY + expunge, a delete) show on the
//! desktop; nothing is downloaded twice.

mod support;

use support::account::{bounded, collection, device_view, item_id, mail, open, store_at};
use support::desktop::Desktop;
use support::dovecot::Dovecot;
use tidings::proto::MailFlag;

#[tokio::test]
async fn a_plain_imap4rev1_server_is_mirrored_by_full_listings() {
    bounded(async {
        let dovecot = Dovecot::start_imap4rev1();
        let desktop = Desktop::new(dovecot.addr(), "alice", "alice-pw");
        let announced = desktop.run("print(ok(m.capability())[0].decode())");
        for absent in ["CONDSTORE", "QRESYNC", "UIDPLUS", "MOVE", "IDLE", "NOTIFY"] {
            assert!(!announced.contains(absent), "{absent} in {announced}");
        }
        desktop.create("Archive");
        for subject in ["Budget 2027", "Road works", "Ferry"] {
            dovecot.deliver("alice", &mail(subject));
        }
        let store = store_at(&dovecot.scratch().join("store.db"));
        let mut account = open(&dovecot, &store).await;
        account.sync_all().await.expect("sync");
        let inbox = collection(&store, "INBOX").expect("INBOX");
        let archive = collection(&store, "Archive").expect("Archive");
        assert_eq!(device_view(&store, inbox).len(), 3);

        // The desktop flags one and expunges another: both mirrored by the
        // next listing, without downloading anything again.
        desktop.add_flags("INBOX", "Ferry", "\\Flagged");
        desktop.expunge("INBOX", "Road works");
        dovecot.deliver("alice", &mail("Harbour"));
        account.sync_all().await.expect("resync");
        let view = device_view(&store, inbox);
        assert_eq!(view.get("Ferry"), Some(&(MailFlag::Flagged as u32)));
        assert!(!view.contains_key("Road works"), "{view:?}");
        assert!(view.contains_key("Harbour"), "{view:?}");
        assert_eq!(account.fetched().messages, 4, "each body once");

        // Write-backs with IMAP4rev1 commands only.
        let seen = MailFlag::Seen as u32;
        let budget = item_id(&store, inbox, "Budget 2027");
        account
            .set_flags(inbox, budget, seen, 0)
            .await
            .expect("flags");
        assert!(desktop.flags("INBOX", "Budget 2027").contains("\\Seen"));
        account
            .move_item(inbox, budget, archive)
            .await
            .expect("move without MOVE");
        assert_eq!(desktop.count("INBOX", "Budget 2027"), 0);
        assert_eq!(desktop.count("Archive", "Budget 2027"), 1);
        let harbour = item_id(&store, inbox, "Harbour");
        account
            .delete_item(inbox, harbour)
            .await
            .expect("delete without UIDPLUS");
        assert_eq!(desktop.count("INBOX", "Harbour"), 0);

        // The next listing agrees with the desktop; without COPYUID the
        // moved mail is downloaded in its new folder, once.
        account.sync_all().await.expect("resync");
        assert_eq!(
            device_view(&store, inbox).keys().collect::<Vec<_>>(),
            ["Ferry"]
        );
        assert_eq!(device_view(&store, archive).get("Budget 2027"), Some(&seen));
        account.sync_all().await.expect("quiet resync");
        assert_eq!(account.fetched().messages, 5, "nothing twice");
    })
    .await;
}
