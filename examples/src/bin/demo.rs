//! `cargo xtask demo`: Tidings end to end, in one process.
//!
//! The reference server (a network daemon) arrives with a later issue; until
//! then this runs the real protocol between a server session and a handset
//! session in memory: enrollment over Noise XK, the initial sync, a mail
//! pushed live, a meeting the mayor accepts appearing on the chief of staff's
//! handset (she holds the mayor's calendar by delegation, not the mayor's
//! mail), and a flag change going back up. Every step shows the bytes that
//! crossed the wire.

use std::sync::Arc;
use tidings::crypto::StaticKeypair;
use tidings::proto::{
    CollectionKind, ParticipationStatus, RespondToInvitation, SetFlags, item, operation::Kind,
};
use tidings::session::{
    ClientConfig, ClientSession, ClientState, ServerConfig, ServerSession, pump,
};
use tidings::store::{ActivationCode, DeviceRegistry, ItemStore, MemoryStore};
use tidings::sync::{Rights, ical::calendar_items_from_ical};

const MAIL_FLAG_SEEN: u32 = 1;

fn main() -> Result<(), tidings::Error> {
    println!("Tidings demo: the real protocol, server and handset in one process");
    println!("(the network server arrives with a later issue)\n");

    // The town hall's server.
    let mut store = MemoryStore::new();
    let mayor = store.add_principal("Mayor Ada Quinn", "mayor@town.example");
    let chief = store.add_principal("Chief of Staff Sam Okoye", "chief@town.example");
    let mayor_mail = store.add_collection(mayor, CollectionKind::Mail, "Mayor's Inbox")?;
    let mayor_cal = store.add_collection(mayor, CollectionKind::Calendar, "Mayor's Calendar")?;
    let chief_mail = store.add_collection(chief, CollectionKind::Mail, "Inbox")?;
    store.add_collection(chief, CollectionKind::Calendar, "Calendar")?;
    store.grant(mayor_cal, chief, Rights::OWNER)?;
    store.add_message(mayor_mail, MAYORS_PRIVATE_MAIL.as_bytes(), 2048)?;
    store.add_message(chief_mail, AGENDA_MAIL.as_bytes(), 2048)?;
    let mut meeting = calendar_items_from_ical(HARBOUR_MEETING, mayor_cal)?.remove(0);
    let meeting_id = store.allocate_id()?;
    meeting.id = meeting_id;
    meeting.version = 1;
    store.upsert(mayor_cal, Some(meeting_id), packed_event(&meeting), 0)?;
    let server_keys = Arc::new(StaticKeypair::from_secret_bytes(random(1)));
    let code =
        ActivationCode::from_random([0x3c, 0x91, 0x5e, 0x07, 0xa2, 0x6b, 0x18, 0xd4, 0x7f, 0x20]);
    store.create_activation(chief, &code, u64::MAX, 5)?;
    println!(
        "server: town hall seeded; activation code for the chief's handset: {}",
        code.display()
    );

    // 1. Enrollment and initial sync.
    let state = ClientState::new(random(2), server_keys.public_key());
    let mut handset = ClientSession::enroll(
        ClientConfig::default(),
        state,
        &code.display(),
        "Sam's phone",
        random(3),
        0,
    )?;
    let mut server = ServerSession::new(ServerConfig::default(), server_keys.clone(), random(4), 0);
    let (up, down) = pump(&mut handset, &mut server, &mut store, 0)?;
    step(1, "enrollment (Noise XK) and initial sync", up, down);
    for (info, replica) in handset.state().replica().collections() {
        println!(
            "   {:<18} owner {:<26} {} item(s)",
            info.name,
            info.owner_name,
            replica.items().len()
        );
    }
    println!("   (the mayor's inbox is not there: only her calendar is delegated)");

    // 2. A new mail is pushed live.
    store.add_message(chief_mail, FLOOD_MAIL.as_bytes(), 2048)?;
    server.push_changes(1_000, &store)?;
    let (up, down) = pump(&mut handset, &mut server, &mut store, 1_000)?;
    step(
        2,
        "new mail pushed (headers + 2 KB preview, deflated, padded, sealed)",
        up,
        down,
    );
    let newest = handset
        .state()
        .replica()
        .collection(chief_mail)
        .and_then(|r| r.items().iter().next_back().map(|(id, i)| (*id, i.clone())));
    let Some((flood_id, held)) = newest else {
        return Err(tidings::ErrorKind::NotFound.into());
    };
    if let Some(item::Kind::Mail(mail)) = held.item.kind {
        println!(
            "   \"{}\" — {}…",
            mail.headers.map(|h| h.subject).unwrap_or_default(),
            mail.preview.chars().take(50).collect::<String>()
        );
    }

    // 3. The mayor accepts the harbour meeting on her own handset.
    let mayor_code = ActivationCode::from_random([8; 10]);
    store.create_activation(mayor, &mayor_code, u64::MAX, 5)?;
    let mayor_state = ClientState::new(random(5), server_keys.public_key());
    let mut mayors_phone = ClientSession::enroll(
        ClientConfig::default(),
        mayor_state,
        &mayor_code.display(),
        "Ada's phone",
        random(6),
        2_000,
    )?;
    let mut mayors_server =
        ServerSession::new(ServerConfig::default(), server_keys, random(7), 2_000);
    pump(&mut mayors_phone, &mut mayors_server, &mut store, 2_000)?;
    let accept = RespondToInvitation {
        calendar_id: mayor_cal,
        item_id: meeting_id,
        status: ParticipationStatus::Accepted as i32,
        ..Default::default()
    };
    mayors_phone.submit(2_500, random_op(1), Kind::Respond(accept))?;
    pump(&mut mayors_phone, &mut mayors_server, &mut store, 2_500)?;
    server.push_changes(2_500, &store)?;
    let (up, down) = pump(&mut handset, &mut server, &mut store, 2_500)?;
    step(
        3,
        "the mayor accepts the harbour meeting; the chief's handset is told",
        up,
        down,
    );
    let status = handset
        .state()
        .replica()
        .collection(mayor_cal)
        .and_then(|r| r.items().get(&meeting_id))
        .and_then(|i| match &i.item.kind {
            Some(item::Kind::Calendar(event)) => event
                .master
                .as_ref()
                .and_then(|m| m.attendees.first())
                .map(|a| a.status),
            _ => None,
        });
    let status = status
        .and_then(|s| ParticipationStatus::try_from(s).ok())
        .map_or("unknown".to_string(), |s| format!("{s:?}"));
    println!("   the mayor's answer, as the chief's handset now shows it: {status}");

    // 4. The chief reads the flood warning: the flag goes back up.
    let seen = SetFlags {
        collection_id: chief_mail,
        item_ids: vec![flood_id],
        set: MAIL_FLAG_SEEN,
        clear: 0,
    };
    handset.submit(3_000, random_op(2), Kind::SetFlags(seen))?;
    let (up, down) = pump(&mut handset, &mut server, &mut store, 3_000)?;
    step(
        4,
        "flag change up (operation, answer, and the change echoed as a delta)",
        up,
        down,
    );
    println!(
        "   server now has flags {:#04b} on the flood warning",
        store.item(chief_mail, flood_id)?.map_or(0, |(_, f)| f)
    );

    // 5. A restart: saved state, one-round-trip resume (Noise IK), nothing resent.
    let saved = handset.state().to_bytes();
    drop(handset);
    let mut handset = ClientSession::resume(
        ClientConfig::default(),
        ClientState::from_bytes(&saved)?,
        random(8),
        4_000,
    )?;
    let mut server = ServerSession::new(
        ServerConfig::default(),
        Arc::new(StaticKeypair::from_secret_bytes(random(1))),
        random(9),
        4_000,
    );
    let (up, down) = pump(&mut handset, &mut server, &mut store, 4_000)?;
    step(
        5,
        "handset restart: resume from saved state (Noise IK, no resync)",
        up,
        down,
    );
    println!(
        "\ndone: everything above crossed an encrypted, framed channel. Run `cargo xtask test` to check it all."
    );
    Ok(())
}

fn step(n: u32, what: &str, up: usize, down: usize) {
    println!("\n{n}. {what}\n   wire: {up} B up, {down} B down");
}

fn packed_event(event: &tidings::proto::CalendarItem) -> bytes::Bytes {
    let item = tidings::proto::Item {
        kind: Some(item::Kind::Calendar(event.clone())),
    };
    tidings::compress::pack(&tidings::proto::encode(&item), &Default::default()).into()
}

/// Demo randomness: fixed, so every run shows the same bytes. A real app
/// draws these from the platform's CSPRNG.
fn random(seed: u8) -> [u8; 32] {
    [seed.wrapping_mul(37).wrapping_add(11); 32]
}

fn random_op(seed: u8) -> [u8; 16] {
    [seed.wrapping_mul(53).wrapping_add(5); 16]
}

const MAYORS_PRIVATE_MAIL: &str = "From: Treasurer <treasurer@town.example>\r\nTo: Mayor Ada Quinn <mayor@town.example>\r\nSubject: Private: budget options\r\nDate: Fri, 27 Nov 2026 17:02:00 +0000\r\nMessage-ID: <budget-1@town.example>\r\n\r\nAda, the three options we discussed are attached.\r\n";

const AGENDA_MAIL: &str = "From: Town Clerk <clerk@town.example>\r\nTo: Chief of Staff Sam Okoye <chief@town.example>\r\nSubject: Agenda for Thursday's council\r\nDate: Sat, 28 Nov 2026 09:15:00 +0000\r\nMessage-ID: <agenda-4@town.example>\r\n\r\nSam, the agenda for Thursday: 1. Harbour dredging, 2. Winter gritting, 3. Any other business.\r\n";

const FLOOD_MAIL: &str = "From: =?utf-8?q?Operations_Centre?= <ops@town.example>\r\nTo: Chief of Staff Sam Okoye <chief@town.example>\r\nSubject: =?utf-8?q?Flood_warning_=E2=80=94_River_Wend?=\r\nDate: Sun, 29 Nov 2026 06:40:00 +0000\r\nMessage-ID: <flood-17@town.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe Environment Agency has issued a flood warning for the River Wend. Sandbags are at the depot; the mayor should be briefed by 08:00.\r\n";

const HARBOUR_MEETING: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Town Hall//Demo//EN\r\nBEGIN:VEVENT\r\nUID:harbour-board-2026-12@town.example\r\nDTSTAMP:20261120T100000Z\r\nDTSTART:20261203T090000Z\r\nDTEND:20261203T100000Z\r\nSUMMARY:Harbour board\r\nLOCATION:Council Chamber\r\nORGANIZER;CN=Town Clerk:mailto:clerk@town.example\r\nATTENDEE;CN=Mayor Ada Quinn;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:mayor@town.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
