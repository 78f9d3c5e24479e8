//! Abridging: every item fits one delta page, whatever its size.
//!
//! A page travels in one encrypted message (65,519 bytes of plaintext), so an
//! item whose packed form exceeds [`MAX_PACKED_ITEM`] is sent *abridged*; so
//! is one a device with the default [`InflateLimits`] would refuse to inflate
//! (it compresses better than 128:1 above 64 KiB, or inflates past 4 MiB),
//! which would otherwise reach the device as a placeholder. Abridged: its
//! long texts cut and its long lists shortened, by fixed caps, marked with an
//! [`Abridged`] that says so. The whole item stays on the server and is a range
//! fetch away (`FetchRange.packed_item`). An item the server cannot read at all
//! goes as a placeholder (an `Item` without a kind), so it never stands in the
//! way of the items after it. The rules are in `docs/spec/sync.md` §3 rule 9.
//!
//! Abridging is a pure function of the packed bytes, so every store serves
//! byte-identical pages.

use crate::compress::{InflateLimits, PackOptions, pack, refused_by_limits, unpack};
use crate::proto::{
    self, Abridged, AbridgedReason, Address, CalendarEvent, CalendarItem, CalendarTime, Item,
    MailHeaders, MailItem, item,
};
use bytes::Bytes;

mod put_back;
pub use put_back::put_back_dropped;

/// Most bytes of one packed item in a delta page, a repair page or a
/// conflict answer: with its page it fits one frame.
pub const MAX_PACKED_ITEM: usize = 48 << 10;

/// How far the server inflates its own stored items (to abridge them, and
/// to act on them: answers, replies, forwards, searches, free/busy): they
/// are trusted, and may compress better than a device's limits allow (a
/// subject of one repeated letter), but memory stays bounded all the same.
pub const STORED_ITEM_LIMITS: InflateLimits = InflateLimits {
    max_output: 64 << 20,
    max_ratio: 1100,
    ratio_floor: 64 << 10,
};

/// The caps of one abridging pass: bytes of a short text, of a long text
/// (a description, a preview), and entries of a list.
#[derive(Clone, Copy)]
struct Caps {
    text: usize,
    long_text: usize,
    list: usize,
}

/// Tried in order until the packed result fits; then ids alone.
const PASSES: [Caps; 2] = [
    Caps {
        text: 1024,
        long_text: 8 << 10,
        list: 64,
    },
    Caps {
        text: 128,
        long_text: 1024,
        list: 8,
    },
];

/// Whether `packed` may go in a page as it is: it is at most
/// [`MAX_PACKED_ITEM`] bytes and a device with the default
/// [`InflateLimits`] would inflate it (an item that compresses better than
/// 128:1 above 64 KiB would otherwise reach it as a placeholder).
pub fn deliverable_whole(packed: &[u8]) -> bool {
    packed.len() <= MAX_PACKED_ITEM && !refused_by_limits(packed, &InflateLimits::default())
}

/// `packed` as a page may carry it: itself when a device can take it whole
/// ([`deliverable_whole`]), else abridged.
pub fn fit_packed(packed: &Bytes) -> Bytes {
    if deliverable_whole(packed) {
        packed.clone()
    } else {
        abridge(packed).into()
    }
}

/// The abridged packed form of `packed` (see the module docs): at most
/// [`MAX_PACKED_ITEM`] bytes and within the default [`InflateLimits`],
/// whatever the input.
pub fn abridge(packed: &[u8]) -> Vec<u8> {
    let size = u64::try_from(packed.len()).unwrap_or(u64::MAX);
    let decoded =
        unpack(packed, &STORED_ITEM_LIMITS).and_then(|bytes| proto::decode::<Item>(&bytes));
    let Ok(Item { kind: Some(kind) }) = decoded else {
        // Unreadable: a placeholder the device fills in with its reason.
        return pack_kind(None);
    };
    if let Some((_, _, out)) = first_pass_that_fits(&kind, size) {
        return out;
    }
    let mark = Abridged {
        reason: AbridgedReason::TooLarge as i32,
        packed_size: size,
        ..Abridged::default()
    };
    pack_kind(Some(skeleton(&kind, mark)))
}

/// The first of [`PASSES`] whose result a page may carry: its caps, the
/// mark it sets and the packed result; `None` when ids alone must go.
fn first_pass_that_fits(kind: &item::Kind, size: u64) -> Option<(Caps, Abridged, Vec<u8>)> {
    PASSES.into_iter().find_map(|caps| {
        let mut cutter = Cutter {
            caps,
            cut_texts: 0,
            omitted: 0,
            dropped_whole: 0,
        };
        let mut kind = kind.clone();
        cutter.kind(&mut kind);
        let mark = cutter.mark(size);
        set_mark(&mut kind, mark);
        let out = pack_kind(Some(kind));
        deliverable_whole(&out).then_some((caps, mark, out))
    })
}

/// A placeholder of the same kind holding ids only, marked with `mark`.
pub fn skeleton(kind: &item::Kind, mark: Abridged) -> item::Kind {
    match kind {
        item::Kind::Mail(mail) => item::Kind::Mail(MailItem {
            id: mail.id,
            folder_id: mail.folder_id,
            size: mail.size,
            abridged: Some(mark),
            ..MailItem::default()
        }),
        item::Kind::Calendar(cal) => item::Kind::Calendar(CalendarItem {
            id: cal.id,
            calendar_id: cal.calendar_id,
            version: cal.version,
            abridged: Some(mark),
            ..CalendarItem::default()
        }),
    }
}

/// The abridgement mark an item carries, if it is not whole.
pub fn abridged(item: &Item) -> Option<&Abridged> {
    match item.kind.as_ref()? {
        item::Kind::Mail(mail) => mail.abridged.as_ref(),
        item::Kind::Calendar(cal) => cal.abridged.as_ref(),
    }
}

fn set_mark(kind: &mut item::Kind, mark: Abridged) {
    match kind {
        item::Kind::Mail(mail) => mail.abridged = Some(mark),
        item::Kind::Calendar(cal) => cal.abridged = Some(mark),
    }
}

fn pack_kind(kind: Option<item::Kind>) -> Vec<u8> {
    pack(&proto::encode(&Item { kind }), &PackOptions::default())
}

/// Cuts texts and lists to its caps, counting what it leaves out.
struct Cutter {
    caps: Caps,
    cut_texts: u32,
    omitted: u32,
    /// Of `omitted`, what an edit can have put back ([`put_back_dropped`]).
    dropped_whole: u32,
}

impl Cutter {
    fn mark(&self, packed_size: u64) -> Abridged {
        Abridged {
            reason: AbridgedReason::TooLarge as i32,
            packed_size,
            cut_texts: self.cut_texts,
            omitted_entries: self.omitted,
            dropped_whole: self.dropped_whole,
        }
    }

    fn cut(&mut self, text: &mut String, cap: usize) {
        if text.len() > cap {
            let mut at = cap;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.truncate(at);
            self.cut_texts = self.cut_texts.saturating_add(1);
        }
    }

    fn text(&mut self, text: &mut String) {
        self.cut(text, self.caps.text);
    }

    fn long(&mut self, text: &mut String) {
        self.cut(text, self.caps.long_text);
    }

    /// Keeps the first `cap` entries.
    fn list<T>(&mut self, list: &mut Vec<T>, cap: usize) {
        if list.len() > cap {
            let gone = u32::try_from(list.len() - cap).unwrap_or(u32::MAX);
            self.omitted = self.omitted.saturating_add(gone);
            list.truncate(cap);
        }
    }

    /// Drops entries that `keep` refuses, then keeps the first `cap`.
    fn filter<T>(&mut self, list: &mut Vec<T>, keep: impl Fn(&T) -> bool) {
        let before = list.len();
        list.retain(keep);
        let gone = u32::try_from(before - list.len()).unwrap_or(u32::MAX);
        self.omitted = self.omitted.saturating_add(gone);
        self.list(list, self.caps.list);
    }

    /// [`Cutter::filter`] of a list whose dropped entries an edit can have
    /// put back: an event's unmodelled properties and sub-components, and
    /// an item's time zones ([`put_back_dropped`] mirrors `keep`).
    fn drop_whole<T>(&mut self, list: &mut Vec<T>, keep: impl Fn(&T) -> bool) {
        let before = list.len();
        list.retain(keep);
        let gone = u32::try_from(before - list.len()).unwrap_or(u32::MAX);
        self.dropped_whole = self.dropped_whole.saturating_add(gone);
        self.omitted = self.omitted.saturating_add(gone);
        self.list(list, self.caps.list);
    }

    fn kind(&mut self, kind: &mut item::Kind) {
        match kind {
            item::Kind::Mail(mail) => self.mail(mail),
            item::Kind::Calendar(cal) => self.calendar(cal),
        }
    }

    fn address(&mut self, a: &mut Address) {
        self.text(&mut a.name);
        self.text(&mut a.email);
    }

    fn addresses(&mut self, list: &mut Vec<Address>) {
        self.list(list, self.caps.list);
        list.iter_mut().for_each(|a| self.address(a));
    }

    fn headers(&mut self, h: &mut MailHeaders) {
        for list in [
            &mut h.from,
            &mut h.to,
            &mut h.cc,
            &mut h.bcc,
            &mut h.reply_to,
        ] {
            self.addresses(list);
        }
        self.text(&mut h.subject);
        self.text(&mut h.message_id);
        self.list(&mut h.in_reply_to, self.caps.list);
        // Threading needs the newest references: keep the last ones.
        h.references.reverse();
        self.list(&mut h.references, self.caps.list);
        h.references.reverse();
        for id in h.in_reply_to.iter_mut().chain(&mut h.references) {
            self.text(id);
        }
    }

    fn mail(&mut self, m: &mut MailItem) {
        if let Some(h) = &mut m.headers {
            self.headers(h);
        }
        let before = m.preview.len();
        self.long(&mut m.preview);
        m.preview_truncated |= m.preview.len() < before;
        self.list(&mut m.body_parts, self.caps.list);
        for part in &mut m.body_parts {
            self.text(&mut part.content_type);
        }
        self.list(&mut m.attachments, self.caps.list);
        for a in &mut m.attachments {
            self.text(&mut a.filename);
            self.text(&mut a.content_type);
            self.text(&mut a.content_id);
            self.text(&mut a.charset);
            if let Some(h) = &mut a.nested_headers {
                self.headers(h);
            }
        }
    }

    fn time(&mut self, t: &mut Option<CalendarTime>) {
        if let Some(t) = t {
            self.text(&mut t.value);
            self.text(&mut t.tzid);
            self.text(&mut t.params);
        }
    }

    fn times(&mut self, list: &mut Vec<CalendarTime>) {
        // Exceptions matter to what a device shows: four times the list cap.
        self.list(list, self.caps.list * 4);
        for t in list.iter_mut() {
            self.text(&mut t.value);
            self.text(&mut t.tzid);
            self.text(&mut t.params);
        }
    }

    fn event(&mut self, e: &mut CalendarEvent) {
        self.text(&mut e.uid);
        self.text(&mut e.summary);
        self.text(&mut e.location);
        self.long(&mut e.description);
        for params in [
            &mut e.summary_params,
            &mut e.location_params,
            &mut e.description_params,
            &mut e.organizer_params,
            &mut e.organizer_uri,
            &mut e.rrule_params,
        ] {
            self.text(params);
        }
        self.time(&mut e.start);
        self.time(&mut e.end);
        self.time(&mut e.recurrence_id);
        self.text(&mut e.duration);
        self.text(&mut e.rrule);
        self.text(&mut e.status);
        self.text(&mut e.dtstamp);
        if let Some(o) = &mut e.organizer {
            self.address(o);
        }
        self.list(&mut e.attendees, self.caps.list);
        for a in &mut e.attendees {
            if let Some(addr) = &mut a.address {
                self.address(addr);
            }
            self.text(&mut a.other_params);
            self.text(&mut a.uri);
        }
        self.times(&mut e.exdates);
        self.times(&mut e.rdates);
        self.list(&mut e.alarms, self.caps.list);
        for alarm in &mut e.alarms {
            self.text(&mut alarm.action);
            self.text(&mut alarm.trigger);
            self.text(&mut alarm.trigger_params);
            self.text(&mut alarm.description);
            let cap = self.caps.text;
            self.filter(&mut alarm.other, |p| p.params.len() + p.value.len() <= cap);
            let long = self.caps.long_text;
            self.filter(&mut alarm.components, |c| c.len() <= long);
        }
        // An inline image (X-ALT-DESC, ATTACH;VALUE=BINARY) goes whole or not at all.
        let cap = self.caps.text;
        self.drop_whole(&mut e.other, |p| {
            p.name.len() + p.params.len() + p.value.len() <= cap
        });
        let long = self.caps.long_text;
        self.drop_whole(&mut e.components, |c| c.len() <= long);
    }

    fn calendar(&mut self, c: &mut CalendarItem) {
        if let Some(master) = &mut c.master {
            self.event(master);
        }
        self.list(&mut c.overrides, self.caps.list);
        c.overrides.iter_mut().for_each(|o| self.event(o));
        let long = self.caps.long_text;
        self.drop_whole(&mut c.timezones, |tz| {
            tz.tzid.len() + tz.vtimezone.len() <= long
        });
        self.text(&mut c.floating_tzid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Attachment, RawProperty};

    fn unpacked(packed: &[u8]) -> Item {
        let bytes = unpack(packed, &InflateLimits::default()).expect("abridged items unpack");
        proto::decode(&bytes).expect("abridged items decode")
    }

    /// Text that deflate cannot shrink, so sizes are what they look like.
    fn noise(len: usize, seed: u64) -> String {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect()
    }

    fn pack_item(kind: item::Kind) -> Vec<u8> {
        pack_kind(Some(kind))
    }

    #[test]
    fn small_items_pass_unchanged() {
        let packed = Bytes::from(pack_item(item::Kind::Mail(MailItem {
            id: 7,
            preview: "hello".into(),
            ..MailItem::default()
        })));
        assert_eq!(fit_packed(&packed), packed);
    }

    #[test]
    fn an_abridged_item_is_itself_within_the_default_inflate_limits() {
        // Pass 1 would keep 64 names of 1 KiB of one letter: 128 KiB that
        // packs to almost nothing, which a default device refuses.
        let to = (0..5000)
            .map(|_| Address {
                name: "a".repeat(4096),
                email: "b".repeat(4096),
            })
            .collect();
        let packed = pack_item(item::Kind::Mail(MailItem {
            id: 3,
            headers: Some(MailHeaders {
                subject: "Hello".into(),
                to,
                ..MailHeaders::default()
            }),
            ..MailItem::default()
        }));
        assert!(!deliverable_whole(&packed));
        let out = fit_packed(&Bytes::from(packed));
        assert!(deliverable_whole(&out));
        let Some(item::Kind::Mail(mail)) = unpacked(&out).kind else {
            panic!("abridged mail is still a mail");
        };
        assert_eq!(mail.headers.expect("headers").subject, "Hello");
    }

    #[test]
    fn a_huge_subject_and_many_recipients_are_cut_and_marked() {
        let to = (0..5000)
            .map(|i| Address {
                name: noise(12, i),
                email: format!("{}@example.org", noise(10, i + 9000)),
            })
            .collect();
        let mail = MailItem {
            id: 3,
            folder_id: 2,
            headers: Some(MailHeaders {
                subject: noise(90_000, 1),
                to,
                ..MailHeaders::default()
            }),
            size: 400_000,
            ..MailItem::default()
        };
        let packed = pack_item(item::Kind::Mail(mail));
        assert!(packed.len() > MAX_PACKED_ITEM);
        let out = abridge(&packed);
        assert!(out.len() <= MAX_PACKED_ITEM);
        let Some(item::Kind::Mail(mail)) = unpacked(&out).kind else {
            panic!("abridged mail is still a mail");
        };
        let headers = mail.headers.expect("headers kept");
        assert_eq!(headers.subject.len(), 1024);
        assert_eq!(headers.to.len(), 64);
        assert_eq!((mail.id, mail.folder_id, mail.size), (3, 2, 400_000));
        let mark = mail.abridged.expect("marked");
        assert_eq!(mark.reason, AbridgedReason::TooLarge as i32);
        assert_eq!(mark.packed_size, packed.len() as u64);
        assert_eq!(mark.omitted_entries, 5000 - 64);
        assert!(mark.cut_texts >= 1);
    }

    #[test]
    fn an_inline_image_is_dropped_whole_and_the_description_cut() {
        let event = CalendarEvent {
            uid: "invite-1".into(),
            description: noise(400_000, 5),
            other: vec![
                RawProperty {
                    name: "X-ALT-DESC".into(),
                    params: "FMTTYPE=text/html".into(),
                    value: noise(120_000, 6),
                },
                RawProperty {
                    name: "X-MICROSOFT-CDO-BUSYSTATUS".into(),
                    params: String::new(),
                    value: "BUSY".into(),
                },
            ],
            ..CalendarEvent::default()
        };
        let cal = CalendarItem {
            id: 9,
            calendar_id: 4,
            version: 3,
            master: Some(event),
            ..CalendarItem::default()
        };
        let out = abridge(&pack_item(item::Kind::Calendar(cal)));
        assert!(out.len() <= MAX_PACKED_ITEM);
        let Some(item::Kind::Calendar(cal)) = unpacked(&out).kind else {
            panic!("abridged event is still an event");
        };
        let master = cal.master.expect("master kept");
        assert_eq!(master.description.len(), 8 << 10);
        assert_eq!(master.other.len(), 1, "the small property stays");
        assert_eq!(master.other[0].value, "BUSY");
        assert_eq!(cal.version, 3);
        assert!(cal.abridged.is_some());
    }

    #[test]
    fn twenty_thousand_parts_fall_back_to_fewer_then_to_ids() {
        let attachments: Vec<Attachment> = (0..20_000u32)
            .map(|i| Attachment {
                part_id: i,
                filename: noise(900, u64::from(i)),
                ..Attachment::default()
            })
            .collect();
        let mail = MailItem {
            id: 11,
            attachments,
            ..MailItem::default()
        };
        let out = abridge(&pack_item(item::Kind::Mail(mail)));
        assert!(out.len() <= MAX_PACKED_ITEM);
        let Some(item::Kind::Mail(mail)) = unpacked(&out).kind else {
            panic!("still a mail");
        };
        assert!(mail.attachments.len() <= 64);
        assert_eq!(mail.id, 11);
        assert!(mail.abridged.is_some());
    }

    #[test]
    fn an_unreadable_item_becomes_a_placeholder() {
        let mut garbage = vec![0x03u8, 0xff, 0xff, 0x03];
        garbage.extend(std::iter::repeat_n(0xa5, MAX_PACKED_ITEM + 10));
        let out = abridge(&garbage);
        assert_eq!(unpacked(&out), Item { kind: None });
    }

    #[test]
    fn cuts_fall_on_character_boundaries() {
        let mut cutter = Cutter {
            caps: PASSES[0],
            cut_texts: 0,
            omitted: 0,
            dropped_whole: 0,
        };
        let mut text = "é".repeat(1000); // 2000 bytes
        cutter.text(&mut text);
        assert_eq!(text.len(), 1024);
        let mut odd = format!("a{}", "é".repeat(1000));
        cutter.text(&mut odd);
        assert_eq!(odd.len(), 1023);
        assert_eq!(cutter.cut_texts, 2);
    }
}
