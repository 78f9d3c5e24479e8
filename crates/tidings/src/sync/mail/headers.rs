//! The header fields of a message (or of an attached one) as [`MailHeaders`].
//!
//! mail-parser has already resolved encoded words, charsets and comments;
//! this reads its values from the root part's headers directly, so a message
//! without any part yields empty headers rather than a panic.

use mail_parser::parsers::MessageStream;
use mail_parser::{DateTime, Header, HeaderName, HeaderValue, Message, MessageParser};

use super::charset;
use crate::proto::{Address, MailHeaders};

/// Most addresses one header field (To, Cc, …, every line of it) and most
/// message ids a References or In-Reply-To lists in a mail item; the rest
/// stay in the raw message only. Real lists stay far below; each entry
/// costs every reader of the item again (every page, repair page and
/// abridging), and a 31 MB To of 1.7 million addresses made each repair
/// page of that one mail cost a third of a second and a gigabyte in all.
pub const MAX_LISTED_PER_FIELD: usize = 10_000;

/// The headers of `message`, with the `thread_id` of [`thread_id`].
/// A header block in raw 8-bit or ISO-2022-JP is decoded first (see
/// [`charset`]).
pub(super) fn headers(message: &Message<'_>) -> MailHeaders {
    if let Some(block) = charset::header_block(message) {
        let parsed = MessageParser::default().parse_headers(block.as_bytes());
        if let Some(decoded) = parsed.as_ref().and_then(|m| m.parts.first()) {
            return from_fields(&decoded.headers, block.as_bytes());
        }
    }
    let fields = message.parts.first().map_or(&[][..], |p| &p.headers);
    from_fields(fields, &message.raw_message)
}

/// `fields` as [`MailHeaders`]; `raw` holds the bytes their offsets point
/// into.
fn from_fields(fields: &[Header<'_>], raw: &[u8]) -> MailHeaders {
    let (date, date_offset_minutes) = date(fields, raw);
    let mut headers = MailHeaders {
        from: addresses(fields, &HeaderName::From, raw),
        to: addresses(fields, &HeaderName::To, raw),
        cc: addresses(fields, &HeaderName::Cc, raw),
        bcc: addresses(fields, &HeaderName::Bcc, raw),
        reply_to: addresses(fields, &HeaderName::ReplyTo, raw),
        subject: subject(fields, raw),
        date,
        date_offset_minutes,
        message_id: ids(fields, &HeaderName::MessageId)
            .into_iter()
            .next()
            .unwrap_or_default(),
        in_reply_to: ids(fields, &HeaderName::InReplyTo),
        references: ids(fields, &HeaderName::References),
        thread_id: 0,
    };
    headers.thread_id = thread_id(&headers);
    headers
}

/// The conversation a message belongs to: the first 8 bytes of the
/// SHA-256 of the first message id of its thread as it names it (the
/// oldest of References, else the first In-Reply-To, else its own
/// Message-ID); 0 when it names none. Every reply whose References keeps
/// its thread's root (RFC 5322 §3.6.4 asks for that) lands in its
/// original's conversation, whatever folder or order they arrive in, and
/// without the server keeping anything.
fn thread_id(headers: &MailHeaders) -> u64 {
    use sha2::{Digest, Sha256};
    let root = (headers.references.first())
        .or(headers.in_reply_to.first())
        .unwrap_or(&headers.message_id);
    if root.is_empty() {
        return 0;
    }
    let digest = Sha256::digest(root.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(first).max(1)
}

/// The value of the first header called `name`.
fn first<'a>(fields: &'a [Header<'_>], name: &HeaderName<'_>) -> Option<&'a HeaderValue<'a>> {
    fields.iter().find(|h| &h.name == name).map(|h| &h.value)
}

/// Every mailbox in every header called `name` (obsolete syntax allows
/// several To: lines), with group members flattened. A display name cut
/// into adjacent encoded words is read with the words joined, as a
/// Subject is (see [`words::joined_words`](super::words::joined_words)),
/// and one with a quoted word after another word keeps the space between
/// them (see [`phrase`](super::phrase)).
fn addresses(fields: &[Header<'_>], name: &HeaderName<'_>, raw: &[u8]) -> Vec<Address> {
    let mut all = Vec::new();
    for field in fields.iter().filter(|h| &h.name == name) {
        if all.len() >= MAX_LISTED_PER_FIELD {
            break;
        }
        let value = value_bytes(field, raw);
        let joined = value.and_then(super::words::joined_words);
        let text = match &joined {
            Some(joined) => Some(joined.as_str()),
            None => value.and_then(|v| std::str::from_utf8(v).ok()),
        };
        let joined = text.and_then(super::phrase::spaced_quotes).or(joined);
        let reread = joined
            .as_deref()
            .map(|value| MessageStream::new(value.as_bytes()).parse_address());
        let Some(list) = reread.as_ref().unwrap_or(&field.value).as_address() else {
            continue;
        };
        let mailboxes = list.iter().map(|addr| Address {
            name: addr.name().unwrap_or_default().trim().to_owned(),
            email: addr.address().unwrap_or_default().trim().to_owned(),
        });
        let room = MAX_LISTED_PER_FIELD - all.len();
        all.extend(
            mailboxes
                .filter(|a| !(a.name.is_empty() && a.email.is_empty()))
                .take(room),
        );
    }
    all
}

/// The field's value as it is in `raw`, folded.
fn value_bytes<'a>(field: &Header<'_>, raw: &'a [u8]) -> Option<&'a [u8]> {
    let range =
        usize::try_from(field.offset_start).ok()?..usize::try_from(field.offset_end).ok()?;
    raw.get(range)
}

/// Message ids of the first header called `name`; mail-parser has already
/// removed the angle brackets.
fn ids(fields: &[Header<'_>], name: &HeaderName<'_>) -> Vec<String> {
    let ids: Vec<String> = match first(fields, name) {
        Some(HeaderValue::Text(id)) => vec![id.to_string()],
        Some(HeaderValue::TextList(list)) => list.iter().map(|id| id.to_string()).collect(),
        _ => Vec::new(),
    };
    let bare = ids
        .into_iter()
        .map(|id| id.trim_matches(['<', '>', ' ']).to_owned());
    bare.filter(|id| !id.is_empty())
        .take(MAX_LISTED_PER_FIELD)
        .collect()
}

/// The Date: header as UTC seconds and its own offset in minutes. Without
/// a real one, the date the last server to take the message in wrote in
/// its Received: field (the topmost), as mail clients show mail that has
/// no Date:; zeros when neither is a real date.
fn date(fields: &[Header<'_>], raw: &[u8]) -> (i64, i32) {
    let field = fields.iter().find(|h| h.name == HeaderName::Date);
    let parsed = field
        .and_then(|f| date_value(value_bytes(f, raw)?))
        .filter(is_real_date);
    match parsed.or_else(|| received_date(fields, raw)) {
        Some(date) => (date.to_timestamp(), offset_minutes(&date)),
        None => (0, 0),
    }
}

/// The date-time after the last `;` of the topmost Received: field
/// (RFC 5321 §4.4), read by the rules of a Date: value.
fn received_date(fields: &[Header<'_>], raw: &[u8]) -> Option<DateTime> {
    let field = fields.iter().find(|h| h.name == HeaderName::Received)?;
    let value = value_bytes(field, raw)?;
    let after = value.get(value.iter().rposition(|b| *b == b';')?.checked_add(1)?..)?;
    date_value(after).filter(is_real_date)
}

/// A Date: value read by mail-parser, in upper case: RFC 5322's names are
/// case-insensitive (§1.2.2), but mail-parser knows the zone names of
/// §4.3 only in upper case and read `-0600 (cst)`'s older form `cst` as
/// UTC. Also read [`with_seconds`].
///
/// Then, as mail clients read them, forms mail-parser does not: month and
/// day names written in full (`12 June 2025`), and no zone at all, read as
/// UTC (`-0000`: RFC 5322 §3.3's "no information about the local zone").
fn date_value(value: &[u8]) -> Option<DateTime> {
    let upper = value.to_ascii_uppercase();
    let short = short_names(&upper);
    let mut unzoned = short.trim_ascii_end().to_vec();
    unzoned.extend_from_slice(b" -0000");
    let mut date = [&upper, &short, &unzoned].iter().find_map(|value| {
        if let Some(HeaderValue::DateTime(date)) = with_seconds(value) {
            return Some(date);
        }
        match MessageStream::new(value).parse_date() {
            HeaderValue::DateTime(date) if is_real_date(&date) => Some(date),
            _ => None,
        }
    })?;
    // `08:00:34 PM`: mail-parser took PM for a zone (UTC) and the hour as
    // written; a 12-hour clock's hour is moved to the 24-hour one.
    let words = || upper.split(|b| !b.is_ascii_alphabetic());
    match (words().any(|w| w == b"PM"), words().any(|w| w == b"AM")) {
        (true, false) if date.hour < 12 => date.hour += 12,
        (false, true) if date.hour == 12 => date.hour = 0,
        _ => {}
    }
    Some(date)
}

/// Month and weekday names in full cut to their three letters.
fn short_names(value: &[u8]) -> Vec<u8> {
    const NAMES: [&[u8]; 19] = [
        b"JANUARY",
        b"FEBRUARY",
        b"MARCH",
        b"APRIL",
        b"JUNE",
        b"JULY",
        b"AUGUST",
        b"SEPTEMBER",
        b"OCTOBER",
        b"NOVEMBER",
        b"DECEMBER",
        b"MONDAY",
        b"TUESDAY",
        b"WEDNESDAY",
        b"THURSDAY",
        b"FRIDAY",
        b"SATURDAY",
        b"SUNDAY",
        b"SEPT",
    ];
    let mut out = Vec::with_capacity(value.len());
    let mut at = 0;
    while at < value.len() {
        let word = value
            .get(at..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        if word == 0 {
            out.extend(value.get(at).copied());
            at += 1;
            continue;
        }
        let text = value.get(at..at + word).unwrap_or_default();
        match NAMES.contains(&text) {
            true => out.extend_from_slice(text.get(..3).unwrap_or(text)),
            false => out.extend_from_slice(text),
        }
        at += word;
    }
    out
}

/// The Subject: encoded words read as mail clients read them (see
/// [`words`](super::words)), else as mail-parser read it.
fn subject(fields: &[Header<'_>], raw: &[u8]) -> String {
    let reread = || {
        let field = fields.iter().find(|h| h.name == HeaderName::Subject)?;
        let range =
            usize::try_from(field.offset_start).ok()?..usize::try_from(field.offset_end).ok()?;
        super::words::unstructured(raw.get(range)?)
    };
    reread().unwrap_or_else(|| {
        first(fields, &HeaderName::Subject)
            .and_then(HeaderValue::as_text)
            .unwrap_or_default()
            .to_owned()
    })
}

/// A Date: value whose time has no seconds (`5 Dec 2026 12:30 GMT`, valid
/// RFC 5322, which mail-parser reads only before a numeric zone), read
/// again with `:00` added; `None` for any other value.
fn with_seconds(value: &[u8]) -> Option<HeaderValue<'static>> {
    // `HH:MM` not preceded by `:` (not `MM:SS`) and not followed by one.
    let at = value.windows(7).position(|w| {
        matches!(w, [before, h1, h2, b':', m1, m2, after]
            if *before != b':' && *after != b':'
                && [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()))
    })?;
    let end = at.checked_add(6)?;
    let mut fixed = value.get(..end)?.to_vec();
    fixed.extend_from_slice(b":00");
    fixed.extend_from_slice(value.get(end..)?);
    match MessageStream::new(&fixed).parse_date() {
        HeaderValue::DateTime(date) => Some(HeaderValue::DateTime(date)),
        _ => None,
    }
}

/// Whether every field of `date` is in range. Not mail-parser's
/// `is_valid`, which also refuses years outside 1900..=3000: a window of
/// its own that read a real `31 Dec 9999` ("never expires", used to sort
/// to the top) as no date at all. The year is read from at most four
/// digits, so it is at most 9999: within the range `date` (i64 seconds)
/// holds and every handset's date type does (JavaScript's `Date` reaches
/// year 275760), and the range this crate's iCalendar times have. Year 0
/// does not exist in the Gregorian calendar a Date header uses, so it is
/// no date, like a month 13.
fn is_real_date(date: &DateTime) -> bool {
    (1..=9999).contains(&date.year)
        && (1..=12).contains(&date.month)
        && (1..=31).contains(&date.day)
        && date.hour <= 23
        && date.minute <= 59
        && date.second <= 59
        && date.tz_hour <= 23
        && date.tz_minute <= 59
}

/// The UTC offset east of Greenwich in minutes ("-0500" is -300).
fn offset_minutes(date: &DateTime) -> i32 {
    let minutes = i32::from(date.tz_hour) * 60 + i32::from(date.tz_minute);
    match date.tz_before_gmt {
        true => -minutes,
        false => minutes,
    }
}
