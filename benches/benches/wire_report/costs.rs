//! What the same changes cost the peers, and the limit: the content alone,
//! deflated, sealed and framed.

use flate2::{Compress, Compression, FlushCompress};
use tidings::proto::{self, CalendarItem, FlagChange, Item, MailItem, item};
use tidings_benches::peers::activesync::{self, CALENDAR_FOLDER, Command, MAIL_FOLDER};
use tidings_benches::peers::transport::{
    Wire, gzip_if_smaller, request_message, response_message, sequence, stream_message,
};
use tidings_benches::peers::{jmap, jscalendar};

/// One change, as all three protocols must deliver it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Change<'a> {
    NewMail(&'a MailItem),
    Flags(u64, u32),
    NewEvent(&'a CalendarItem),
    ChangedEvent(&'a CalendarItem),
}

impl Change<'_> {
    fn is_calendar(&self) -> bool {
        matches!(self, Change::NewEvent(_) | Change::ChangedEvent(_))
    }
}

/// JMAP: a StateChange on the event stream, then one request and its
/// gzip-compressed response carrying all `changes` (which are of one kind).
pub(crate) fn jmap(changes: &[Change<'_>], from: u64) -> Wire {
    let to = from + changes.len() as u64;
    let (kind, request, response) = if changes.iter().any(Change::is_calendar) {
        let (mut created, mut updated) = (Vec::new(), Vec::new());
        for change in changes {
            match change {
                Change::NewEvent(e) => created.push(jscalendar::event(e)),
                Change::ChangedEvent(e) => updated.push(jscalendar::event(e)),
                _ => {}
            }
        }
        (
            "CalendarEvent",
            jmap::calendar_push_request(from),
            jmap::calendar_push_response(from, to, &created, &updated),
        )
    } else {
        let (mut created, mut updated) = (Vec::new(), Vec::new());
        for change in changes {
            match *change {
                Change::NewMail(m) => created.push((m, m.flags)),
                Change::Flags(id, flags) => updated.push((id, flags)),
                _ => {}
            }
        }
        (
            "Email",
            jmap::mail_push_request(from),
            jmap::mail_push_response(from, to, &created, &updated),
        )
    };
    sequence(&[
        stream_message(jmap::state_change(kind, to).len()),
        request_message(request.len()),
        response_message(gzip_if_smaller(&response)),
    ])
}

/// ActiveSync: the pending Ping returns naming the folder, the device syncs
/// it, and sends its next Ping.
pub(crate) fn activesync(changes: &[Change<'_>], key: u64) -> Wire {
    let folder = if changes.iter().any(Change::is_calendar) {
        CALENDAR_FOLDER
    } else {
        MAIL_FOLDER
    };
    let commands: Vec<Command<'_>> = changes
        .iter()
        .map(|c| match *c {
            Change::NewMail(m) => Command::AddMail(m, m.flags),
            Change::Flags(id, flags) => Command::ChangeFlags(id, flags),
            Change::NewEvent(e) => Command::AddEvent(e),
            Change::ChangedEvent(e) => Command::ChangeEvent(e),
        })
        .collect();
    let sync = activesync::sync_response(folder, key + 1, &commands, false);
    sequence(&[
        response_message(gzip_if_smaller(&activesync::ping_changed(folder))),
        request_message(activesync::sync_request(folder, key, None, false).len()),
        response_message(gzip_if_smaller(&sync)),
        request_message(activesync::ping_request().len()),
    ])
}

/// JMAP's keepalive: a `ping` event on the stream, nothing back.
pub(crate) fn jmap_keepalive(interval_seconds: u64) -> Wire {
    sequence(&[stream_message(jmap::ping(interval_seconds).len())])
}

/// ActiveSync's heartbeat as the model counts it: the Ping's expiry and the
/// next Ping.
pub(crate) fn activesync_keepalive() -> Wire {
    sequence(&[
        response_message(gzip_if_smaller(&activesync::ping_expired())),
        request_message(activesync::ping_request().len()),
    ])
}

/// Microsoft's field figure for one heartbeat round trip ("about 600
/// bytes", in "The Impact of Direct Push on Networks and Exchange Servers").
pub(crate) const ACTIVESYNC_HEARTBEAT_FIELD: usize = 600;

/// AEAD tag and frame length: what sealing and framing cannot avoid.
pub(crate) const SEAL: usize = 16 + 2;

/// Raw flate2 deflate (level 6, no dictionary) of `bytes`.
pub(crate) fn deflate(bytes: &[u8]) -> usize {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    Compress::new(Compression::new(6), false)
        .compress_vec(bytes, &mut out, FlushCompress::Finish)
        .expect("deflate into a Vec");
    out.len()
}

/// The limit: each change's content alone (items deflated by raw flate2),
/// sealed and framed once per 64 KiB, with no envelope, padding,
/// acknowledgement or keepalive.
pub(crate) fn limit(changes: &[Change<'_>]) -> usize {
    let payload: usize = changes
        .iter()
        .map(|c| match *c {
            Change::NewMail(m) => deflate(&proto::encode(&Item {
                kind: Some(item::Kind::Mail(m.clone())),
            })),
            Change::NewEvent(e) | Change::ChangedEvent(e) => deflate(&proto::encode(&Item {
                kind: Some(item::Kind::Calendar(e.clone())),
            })),
            Change::Flags(id, flags) => proto::encode(&FlagChange { id, flags }).len(),
        })
        .sum();
    payload + payload.div_ceil(65_535).max(1) * SEAL
}

/// JMAP's initial sync: the mailbox's ids, then the mails in batches of 50.
pub(crate) fn jmap_initial(mails: &[MailItem], state: u64) -> Wire {
    let ids: Vec<u64> = mails.iter().map(|m| m.id).collect();
    let mut messages = vec![
        request_message(jmap::query_request(mails.len()).len()),
        response_message(gzip_if_smaller(&jmap::query_response(&ids, state))),
    ];
    for batch in mails.chunks(50) {
        let ids: Vec<u64> = batch.iter().map(|m| m.id).collect();
        let list: Vec<(&MailItem, u32)> = batch.iter().map(|m| (m, m.flags)).collect();
        messages.push(request_message(jmap::get_request(&ids).len()));
        messages.push(response_message(gzip_if_smaller(&jmap::get_response(
            &list, state,
        ))));
    }
    sequence(&messages)
}

/// ActiveSync's initial sync: the priming Sync with key 0, then windows of
/// 50 until nothing more is available.
pub(crate) fn activesync_initial(mails: &[MailItem]) -> Wire {
    let mut messages = vec![
        request_message(activesync::sync_request(MAIL_FOLDER, 0, None, false).len()),
        response_message(gzip_if_smaller(&activesync::sync_response(
            MAIL_FOLDER,
            1,
            &[],
            false,
        ))),
    ];
    let batches: Vec<&[MailItem]> = mails.chunks(activesync::WINDOW_SIZE as usize).collect();
    for (n, batch) in batches.iter().enumerate() {
        let key = n as u64 + 1;
        let adds: Vec<Command<'_>> = batch.iter().map(|m| Command::AddMail(m, m.flags)).collect();
        let more = n + 1 < batches.len();
        messages.push(request_message(
            activesync::sync_request(MAIL_FOLDER, key, Some(activesync::WINDOW_SIZE), n == 0).len(),
        ));
        messages.push(response_message(gzip_if_smaller(
            &activesync::sync_response(MAIL_FOLDER, key + 1, &adds, more),
        )));
    }
    sequence(&messages)
}
