//! Who a reply goes to when the device names nobody (`ReplyMail` with no
//! recipients: "use the original's").
//!
//! As mail clients answer (RFC 5322 §3.6.3): the original's Reply-To, else
//! its From. A reply to one's own mail (from the Sent folder) goes to that
//! mail's recipients instead. Replying to all adds the original's other
//! recipients (To and Cc) as Cc. The replier's own address is never a
//! recipient, and each address appears once.
//!
//! Real mail holds addresses no reply can go to: `Reply-To: "Klaus" <>`,
//! sendmail's `To: unlisted-recipients:; (no To-header on input)`, a host
//! name with `_`. As Thunderbird and Gmail do, those are skipped rather than
//! refusing the whole reply: a Reply-To with no usable address falls back
//! to From, and only a reply left with nobody is refused (by
//! [`check_outgoing`](super::check_outgoing), as any mail without recipient).

use super::outgoing::check_address;
use crate::proto::{Address, MailHeaders};

/// The addresses of `list` a mail can be sent to (see [`check_address`]).
fn usable(list: &[Address]) -> impl Iterator<Item = &Address> {
    list.iter().filter(|a| check_address(&a.email).is_ok())
}

/// `(to, cc)` for a reply by `own` (the replier's address) to a mail with
/// `original` headers; `all` to reply to all.
pub fn reply_recipients(
    original: &MailHeaders,
    own: &str,
    all: bool,
) -> (Vec<Address>, Vec<Address>) {
    let is_own = |a: &Address| a.email.eq_ignore_ascii_case(own);
    let mut author: Vec<&Address> = usable(&original.reply_to).collect();
    if author.is_empty() {
        author = usable(&original.from).collect();
    }
    let mut to: Vec<Address> = author
        .iter()
        .filter(|a| !is_own(a))
        .map(|&a| a.clone())
        .collect();
    if to.is_empty() && author.iter().any(|a| is_own(a)) {
        to = usable(&original.to)
            .filter(|a| !is_own(a))
            .cloned()
            .collect();
    }
    let mut cc = Vec::new();
    if all {
        let others = usable(&original.to).chain(usable(&original.cc));
        for address in others.filter(|a| !is_own(a)) {
            let named = |a: &Address| a.email.eq_ignore_ascii_case(&address.email);
            if !to.iter().any(named) && !cc.iter().any(named) {
                cc.push(address.clone());
            }
        }
    }
    (to, cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(email: &str) -> Address {
        Address {
            name: String::new(),
            email: email.to_owned(),
        }
    }

    fn emails(list: &[Address]) -> Vec<&str> {
        list.iter().map(|a| a.email.as_str()).collect()
    }

    fn headers(from: &str, reply_to: &[&str], to: &[&str], cc: &[&str]) -> MailHeaders {
        MailHeaders {
            from: vec![address(from)],
            reply_to: reply_to.iter().map(|e| address(e)).collect(),
            to: to.iter().map(|e| address(e)).collect(),
            cc: cc.iter().map(|e| address(e)).collect(),
            ..MailHeaders::default()
        }
    }

    #[test]
    fn a_reply_goes_to_reply_to_else_from() {
        let plain = headers("clerk@town.example", &[], &["mayor@town.example"], &[]);
        let (to, cc) = reply_recipients(&plain, "mayor@town.example", false);
        assert_eq!(
            (emails(&to), emails(&cc)),
            (vec!["clerk@town.example"], vec![])
        );
        let list = headers(
            "poster@ex.org",
            &["list@lists.ex.org"],
            &["list@lists.ex.org"],
            &[],
        );
        let (to, _) = reply_recipients(&list, "mayor@town.example", false);
        assert_eq!(emails(&to), ["list@lists.ex.org"]);
    }

    #[test]
    fn reply_all_copies_the_others_once_and_never_the_replier() {
        let original = headers(
            "clerk@town.example",
            &[],
            &["Mayor@Town.example", "chief@town.example"],
            &[
                "clerk@town.example",
                "press@town.example",
                "chief@town.example",
            ],
        );
        let (to, cc) = reply_recipients(&original, "mayor@town.example", true);
        assert_eq!(emails(&to), ["clerk@town.example"]);
        assert_eq!(emails(&cc), ["chief@town.example", "press@town.example"]);
    }

    #[test]
    fn a_reply_to_ones_own_mail_goes_to_its_recipients() {
        let sent = headers("mayor@town.example", &[], &["clerk@town.example"], &[]);
        let (to, _) = reply_recipients(&sent, "MAYOR@town.example", false);
        assert_eq!(emails(&to), ["clerk@town.example"]);
    }

    #[test]
    fn unusable_addresses_are_skipped_and_reply_to_falls_back_to_from() {
        // `Reply-To: "Klaus" <>`, sendmail's `unlisted-recipients:;` read as
        // an empty mailbox, a host name with `_`, a kept obs-route.
        let odd = headers(
            "boss@example.org",
            &[""],
            &["", "foo@zero_pct.com", "@node.test:mary@example.net"],
            &["helper@example.org"],
        );
        let (to, cc) = reply_recipients(&odd, "mayor@town.example", true);
        assert_eq!(
            (emails(&to), emails(&cc)),
            (vec!["boss@example.org"], vec!["helper@example.org"])
        );
        let nobody = headers("", &["undisclosed-recipients;;"], &[""], &[]);
        let (to, cc) = reply_recipients(&nobody, "mayor@town.example", true);
        assert!(to.is_empty() && cc.is_empty(), "{to:?} {cc:?}");
    }

    #[test]
    fn a_usable_reply_to_still_wins_over_from() {
        let list = headers("poster@ex.org", &["", "list@lists.ex.org"], &[], &[]);
        let (to, _) = reply_recipients(&list, "mayor@town.example", false);
        assert_eq!(emails(&to), ["list@lists.ex.org"]);
    }
}
