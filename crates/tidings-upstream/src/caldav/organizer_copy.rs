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
use tidings::proto::{CalendarItem, item};
use tidings::store::{Directory, ItemStore};
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
    /// The new PARTSTAT (`ParticipationStatus`).
    pub status: i32,
}

fn attendee_status(event: &CalendarItem, email: &str) -> Option<i32> {
    let master = event.master.as_ref()?;
    master
        .attendees
        .iter()
        .find(|a| {
            a.address
                .as_ref()
                .is_some_and(|addr| addr.email.eq_ignore_ascii_case(email))
        })
        .map(|a| a.status)
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
    let status = attendee_status(after, &owner.email);
    if status.is_none() || status == attendee_status(before, &owner.email) {
        return Ok(None);
    }
    let Some(master) = after.master.as_ref() else {
        return Ok(None);
    };
    let Some(organizer) = master.organizer.as_ref() else {
        return Ok(None);
    };
    let Some(organizer) = store.principal_by_email(&organizer.email)? else {
        return Ok(None);
    };
    if organizer.id == owner.id || master.uid.is_empty() {
        return Ok(None);
    }
    Ok(status.map(|status| Answer {
        organizer: organizer.id,
        attendee: owner.email,
        uid: master.uid.clone(),
        status,
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
            if event.master.as_ref().is_some_and(|m| m.uid == answer.uid) {
                return Ok(Some((calendar, id, event)));
            }
        }
    }
    Ok(None)
}

impl CalendarWriter {
    /// Sets `answer` in the organizer's copy (this writer is the
    /// organizer's). Logged, never returned: see the module.
    pub(crate) async fn tell_organizer(&self, store: &mut SqliteStore, answer: &Answer) {
        if let Err(e) = self.try_tell_organizer(store, answer).await {
            tracing::warn!(
                principal = answer.organizer,
                code = e.code(),
                error = %e,
                "the organizer's copy does not show the answer"
            );
        }
    }

    async fn try_tell_organizer(&self, store: &mut SqliteStore, answer: &Answer) -> Result<()> {
        let Some((calendar, id, mut event)) = organizer_copy(store, answer)? else {
            return Ok(());
        };
        if self.auto_schedules(&calendar.href).await {
            return Ok(());
        }
        let attendee = event
            .master
            .as_mut()
            .and_then(|m| {
                m.attendees.iter_mut().find(|a| {
                    a.address
                        .as_ref()
                        .is_some_and(|addr| addr.email.eq_ignore_ascii_case(&answer.attendee))
                })
            })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    "the organizer's copy does not list the attendee",
                )
            })?;
        if attendee.status == answer.status {
            return Ok(());
        }
        attendee.status = answer.status;
        event.version = event.version.saturating_add(1);
        let packed = pack_item(item::Kind::Calendar(event));
        self.upsert(store, &calendar, id, packed, None).await?;
        Ok(())
    }
}
