//! Replies the device leaves to the server ("use the original's
//! recipients") to real mail holding addresses no mail can go to: those are
//! skipped as Thunderbird and Gmail skip them, and the reply goes to the
//! others. Recipients the device names itself are still checked strictly.

mod town;

use tidings::ErrorKind;
use tidings::proto::{self, item, operation::Kind, operation_result::Outcome};
use tidings::session::{ClientSession, ServerEvent, ServerSession};
use tidings::store::ItemStore;
use tidings::sync::mail::{MailItemOptions, mail_item_from_message};
use town::*;

/// sendmail's own To for mail without one; its comment is no mailbox.
const UNLISTED: &[u8] = b"From: Boss <boss@example.org>\r\n\
To: unlisted-recipients:; (no To-header on input)\r\n\
Cc: Helper <helper@example.org>\r\n\
Subject: sendmail no-to\r\n\
Message-ID: <nt@example.org>\r\n\r\nx\r\n";

/// An empty Reply-To (mikel/mail's encoding_madness.eml) and one odd To.
const EMPTY_REPLY_TO: &[u8] = b"From: Boss <boss@example.org>\r\n\
To: someone@example.org, foo@zero_pct.com\r\n\
Reply-To: \"Klaus\" <>\r\n\
Subject: empty reply-to\r\n\
Message-ID: <er@example.org>\r\n\r\nx\r\n";

/// Nobody a reply could reach.
const NOBODY: &[u8] = b"From: Klaus <>\r\n\
To: undisclosed-recipients:;\r\n\
Subject: nobody\r\n\r\nx\r\n";

struct Chief {
    town: Town,
    device: ClientSession,
    server: ServerSession,
    op: u8,
}

impl Chief {
    fn new() -> Self {
        let mut town = Town::new();
        let (device, mut server) = enroll(&mut town, CHIEF, 7, 1_000);
        server_events(&mut server);
        Chief {
            town,
            device,
            server,
            op: 0,
        }
    }

    /// Delivers `raw` to the chief's Inbox; its item id.
    fn deliver(&mut self, raw: &[u8]) -> u64 {
        let mail = mail_item_from_message(raw, &MailItemOptions::default()).expect("mail");
        let inbox = self.town.chief_inbox;
        let (id, _) = self
            .town
            .store
            .upsert(inbox, None, packed(item::Kind::Mail(mail)), 0)
            .expect("stored");
        id
    }

    /// Replies to `item`; the mail handed over, or the refusal's code.
    fn reply(
        &mut self,
        item: u64,
        all: bool,
        mail: Option<proto::OutgoingMail>,
    ) -> Result<proto::OutgoingMail, u32> {
        self.op += 1;
        let reply = proto::ReplyMail {
            collection_id: self.town.chief_inbox,
            item_id: item,
            reply_all: all,
            mail,
        };
        let (device, server) = (&mut self.device, &mut self.server);
        device
            .submit(2_000, [self.op; 16], Kind::ReplyMail(reply))
            .expect("submit");
        pump(device, server, &mut self.town.store, 2_000);
        let sent = server_events(server).into_iter().find_map(|e| match e {
            ServerEvent::Outgoing(o) => Some(o.mail),
            _ => None,
        });
        match (sent, outcomes(device).pop()) {
            (Some(mail), _) => Ok(mail),
            (None, Some(Outcome::Error(info))) => Err(info.code),
            (None, other) => panic!("neither sent nor refused: {other:?}"),
        }
    }
}

fn emails(list: &[proto::Address]) -> Vec<&str> {
    list.iter().map(|a| a.email.as_str()).collect()
}

#[test]
fn reply_all_skips_a_group_comment_read_as_a_mailbox() {
    let mut chief = Chief::new();
    let id = chief.deliver(UNLISTED);
    let mail = chief.reply(id, true, None).expect("sent");
    assert_eq!(emails(&mail.to), ["boss@example.org"]);
    assert_eq!(emails(&mail.cc), ["helper@example.org"]);
}

#[test]
fn an_empty_reply_to_falls_back_to_from() {
    let mut chief = Chief::new();
    let id = chief.deliver(EMPTY_REPLY_TO);
    let mail = chief.reply(id, false, None).expect("sent");
    assert_eq!(emails(&mail.to), ["boss@example.org"]);
    assert!(mail.cc.is_empty());
    let all = chief.reply(id, true, None).expect("sent");
    assert_eq!(emails(&all.cc), ["someone@example.org"]);
}

#[test]
fn a_reply_with_nobody_left_is_refused() {
    let mut chief = Chief::new();
    let id = chief.deliver(NOBODY);
    let code = u32::from(ErrorKind::InvalidArgument.code());
    assert_eq!(chief.reply(id, true, None).map(|_| ()), Err(code));
}

#[test]
fn recipients_the_device_names_are_still_checked_strictly() {
    let mut chief = Chief::new();
    let id = chief.deliver(EMPTY_REPLY_TO);
    let named = proto::OutgoingMail {
        to: vec![proto::Address {
            name: String::new(),
            email: "foo@zero_pct.com".into(),
        }],
        ..Default::default()
    };
    let code = u32::from(ErrorKind::InvalidAddress.code());
    assert_eq!(chief.reply(id, false, Some(named)).map(|_| ()), Err(code));
}
