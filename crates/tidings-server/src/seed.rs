//! The demo's town hall: a mayor, her chief of staff (who holds the mayor's
//! calendar by delegation, not her mail), councillors and a clerk, with
//! mail in their inboxes and meetings in their calendars.

use crate::admin;
use crate::server::{Server, ServerOptions};
use crate::store::{Durability, SqliteStore};
use crate::stores::ServerStore;
use std::path::Path;
use tidings::Result;
use tidings::sync::Rights;

/// The mayor's address.
pub const MAYOR: &str = "mayor@town.example";
/// The chief of staff's address.
pub const CHIEF: &str = "chief@town.example";
/// The councillors' addresses.
pub const COUNCILLORS: [&str; 3] = [
    "cllr.hughes@town.example",
    "cllr.mensah@town.example",
    "cllr.varga@town.example",
];

const PEOPLE: [(&str, &str); 6] = [
    ("Mayor Ada Quinn", MAYOR),
    ("Chief of Staff Sam Okoye", CHIEF),
    ("Cllr Bryn Hughes", "cllr.hughes@town.example"),
    ("Cllr Efua Mensah", "cllr.mensah@town.example"),
    ("Cllr Zsofia Varga", "cllr.varga@town.example"),
    ("Town Clerk", "clerk@town.example"),
];

/// Seeds the town hall into an empty store.
pub fn town_hall(store: &mut impl ServerStore) -> Result<()> {
    store.transaction(|store| {
        for (name, email) in PEOPLE {
            admin::add_principal(store, name, email)?;
        }
        // The chief runs the mayor's diary: read, write and answer invitations.
        admin::delegate(store, MAYOR, CHIEF, false, Rights::OWNER)?;
        for (to, raw) in MAIL {
            admin::deliver_mail(store, to, raw.as_bytes())?;
        }
        for (to, ics) in EVENTS {
            admin::deliver_events(store, to, ics)?;
        }
        Ok(())
    })
}

/// Seeds the town hall into a new database at `db` and serves it with
/// `options`, recording the bound addresses so enrollment payloads name
/// them: where the demo's and every binding's tests start.
pub async fn serve_town_hall(db: &Path, options: ServerOptions) -> Result<Server> {
    crate::dbfile::create_private(db).map_err(|_| {
        tidings::Error::new(tidings::ErrorKind::Storage, "cannot create the database")
    })?;
    let mut store = SqliteStore::open(db, Durability::Process)?;
    town_hall(&mut store)?;
    let server = Server::start(store, options).await?;
    let tcp = server.tcp_addr().map(|a| a.to_string()).unwrap_or_default();
    let ws = server.ws_url();
    server.with_store(|s| admin::record_addresses(s, &tcp, ws.as_deref()))?;
    Ok(server)
}

/// A new mail for the chief: what the demo delivers while devices watch.
pub const FLOOD_WARNING: &str = "From: Operations Centre <ops@town.example>\r\nTo: Chief of Staff Sam Okoye <chief@town.example>\r\nSubject: =?utf-8?q?Flood_warning_=E2=80=94_River_Wend?=\r\nDate: Sun, 29 Nov 2026 06:40:00 +0000\r\nMessage-ID: <flood-17@town.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe Environment Agency has issued a flood warning for the River Wend. Sandbags are at the depot; the mayor should be briefed by 08:00.\r\n";

/// The UID of the meeting the mayor is invited to.
pub const HARBOUR_BOARD_UID: &str = "harbour-board-2026-12@town.example";

const MAIL: [(&str, &str); 5] = [
    (
        MAYOR,
        "From: Treasurer <treasurer@town.example>\r\nTo: Mayor Ada Quinn <mayor@town.example>\r\nSubject: Private: budget options\r\nDate: Fri, 27 Nov 2026 17:02:00 +0000\r\nMessage-ID: <budget-1@town.example>\r\n\r\nAda, the three options we discussed are attached.\r\n",
    ),
    (
        CHIEF,
        "From: Town Clerk <clerk@town.example>\r\nTo: Chief of Staff Sam Okoye <chief@town.example>\r\nSubject: Agenda for Thursday's council\r\nDate: Sat, 28 Nov 2026 09:15:00 +0000\r\nMessage-ID: <agenda-4@town.example>\r\n\r\nSam, the agenda for Thursday: 1. Harbour dredging, 2. Winter gritting, 3. Any other business.\r\n",
    ),
    (
        CHIEF,
        "From: Cllr Efua Mensah <cllr.mensah@town.example>\r\nTo: Chief of Staff Sam Okoye <chief@town.example>\r\nSubject: Gritting routes for the school run\r\nDate: Sat, 28 Nov 2026 11:30:00 +0000\r\nMessage-ID: <grit-2@town.example>\r\n\r\nCould the mayor raise the school-run gritting routes on Thursday? Parents on Mill Lane have written to me twice.\r\n",
    ),
    (
        "cllr.hughes@town.example",
        "From: Town Clerk <clerk@town.example>\r\nTo: Cllr Bryn Hughes <cllr.hughes@town.example>\r\nSubject: Planning committee papers\r\nDate: Fri, 27 Nov 2026 08:00:00 +0000\r\nMessage-ID: <planning-9@town.example>\r\n\r\nThe papers for Monday's planning committee are ready for collection.\r\n",
    ),
    (
        "cllr.varga@town.example",
        "From: Harbour Master <harbour@town.example>\r\nTo: Cllr Zsofia Varga <cllr.varga@town.example>\r\nSubject: Dredging survey results\r\nDate: Thu, 26 Nov 2026 16:45:00 +0000\r\nMessage-ID: <dredge-3@town.example>\r\n\r\nThe survey shows the channel at 2.1 m at low water; we recommend dredging before March.\r\n",
    ),
];

const EVENTS: [(&str, &str); 3] = [
    (
        MAYOR,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Town Hall//Demo//EN\r\nBEGIN:VEVENT\r\nUID:harbour-board-2026-12@town.example\r\nDTSTAMP:20261120T100000Z\r\nDTSTART:20261203T090000Z\r\nDTEND:20261203T100000Z\r\nSUMMARY:Harbour board\r\nLOCATION:Council Chamber\r\nORGANIZER;CN=Town Clerk:mailto:clerk@town.example\r\nATTENDEE;CN=Mayor Ada Quinn;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:mayor@town.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ),
    (
        MAYOR,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Town Hall//Demo//EN\r\nBEGIN:VEVENT\r\nUID:surgery-weekly@town.example\r\nDTSTAMP:20261101T100000Z\r\nDTSTART:20261130T170000Z\r\nDTEND:20261130T183000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=MO\r\nSUMMARY:Mayor's surgery\r\nLOCATION:Town Hall, Room 2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ),
    (
        CHIEF,
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Town Hall//Demo//EN\r\nBEGIN:VEVENT\r\nUID:council-2026-12-03@town.example\r\nDTSTAMP:20261120T100000Z\r\nDTSTART:20261203T180000Z\r\nDTEND:20261203T200000Z\r\nSUMMARY:Full council\r\nLOCATION:Council Chamber\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ),
];
