//! An attendee's answer carried to the organizer's own copy when both are
//! principals here: what a CalDAV server with scheduling does itself
//! (RFC 6638 §3.2.2: an attendee's PARTSTAT change updates the organizer's
//! copy). Servers without it (Radicale, Xandikos, many others) would leave
//! the organizer's copy saying "needs action" forever. A server that
//! advertises `calendar-auto-schedule` in its `DAV` header is left to do
//! it, so nothing is written twice.
//!
//! The write goes through the organizer's own client (`PUT` with
//! `If-Match`), in the device's transaction, like a device's edit of the
//! organizer's calendar. It never fails the attendee's operation: the
//! answer is stored and upstream already; a failure here is logged, and a
//! conflicting organizer copy is refetched and kept as the upstream has it.

use super::device_writes::CalendarWriter;
use super::state;
use super::sync::load_event;
use tidings::proto::{CalendarItem, CalendarTime, ParticipationStatus, item};
use tidings::store::{Directory, ItemStore};
use tidings::sync::invitation::{self, changed_answers, status_in};
use tidings::sync::pack_item;
use tidings::{Error, ErrorKind, Result};
use tidings_store_sqlite::SqliteStore;

/// An answer a local organizer's copy should show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The organizer's principal.
    pub organizer: u64,
    /// The answering attendee's address.
    pub attendee: String,
    /// The event's UID.
    pub uid: String,
    /// Each part answered: `None` for the whole series, else the instance's
    /// RECURRENCE-ID; and the new PARTSTAT (`ParticipationStatus`).
    pub parts: Vec<(Option<CalendarTime>, i32)>,
    /// The attendee's note to the organizer (`""`: none), see
    /// [`tidings::sync::attendee_comment`].
    pub comment: String,
}

/// The answer the owner of `collection` gave by writing `after` over
/// `before`, when the organizer is another principal here.
pub(crate) fn local_answer(
    store: &SqliteStore,
    collection: u64,
    before: &CalendarItem,
    after: &CalendarItem,
) -> Result<Option<Answer>> {
    let owner = store.principal(store.collection(collection)?.owner)?;
    let changed = changed_answers(before, after, &owner.email);
    let Some(first) = changed.first() else {
        return Ok(None);
    };
    // An instance's own ORGANIZER, else the series'.
    let organizer = first.organizer.as_ref().or_else(|| {
        after
            .master
            .iter()
            .chain(&after.overrides)
            .find_map(|e| e.organizer.as_ref())
    });
    let Some(organizer) = organizer else {
        return Ok(None);
    };
    let Some(organizer) = store.principal_by_email(&organizer.email)? else {
        return Ok(None);
    };
    if organizer.id == owner.id || first.uid.is_empty() {
        return Ok(None);
    }
    let parts = changed
        .iter()
        .filter_map(|e| Some((e.recurrence_id.clone(), status_in(e, &owner.email)?)))
        .collect();
    Ok(Some(Answer {
        organizer: organizer.id,
        attendee: owner.email,
        uid: first.uid.clone(),
        parts,
        comment: String::new(),
    }))
}

/// The organizer's mirrored copy of the event: (calendar, item, event).
fn organizer_copy(
    store: &SqliteStore,
    answer: &Answer,
) -> Result<Option<(state::Calendar, u64, CalendarItem)>> {
    for calendar in state::calendars(store.companion_sql(), answer.organizer)? {
        for (id, _, _) in store.items(calendar.collection)? {
            let Some(event) = load_event(store, calendar.collection, id)? else {
                continue;
            };
            if event
                .master
                .iter()
                .chain(&event.overrides)
                .any(|e| e.uid == answer.uid)
            {
                return Ok(Some((calendar, id, event)));
            }
        }
    }
    Ok(None)
}

impl CalendarWriter {
    /// Sets `answer` in the organizer's copy (this writer is the
    /// organizer's). The caller logs a failure and goes on: see the module.
    pub(crate) async fn tell_organizer(
        &self,
        store: &mut SqliteStore,
        answer: &Answer,
    ) -> Result<()> {
        let Some((calendar, id, mut event)) = organizer_copy(store, answer)? else {
            return Ok(());
        };
        if self.auto_schedules(&calendar.href).await? {
            return Ok(());
        }
        let held = event.clone();
        for (rid, status) in &answer.parts {
            let status = ParticipationStatus::try_from(*status)
                .map_err(|_| Error::new(ErrorKind::InvalidData, "unknown PARTSTAT"))?;
            // A part the organizer's copy does not list the attendee in, or
            // lacks, is left as it is; the other parts still go.
            match invitation::answer(&mut event, &answer.attendee, status, rid.as_ref()) {
                Ok(answered) => {
                    let (who, note) = (&answer.attendee, &answer.comment);
                    tidings::sync::attendee_comment::set(&mut event, answered, who, note);
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if event == held {
            return Ok(());
        }
        event.version = event.version.saturating_add(1);
        let packed = pack_item(item::Kind::Calendar(event));
        self.upsert(store, &calendar, id, packed, None, "").await?;
        Ok(())
    }
}
