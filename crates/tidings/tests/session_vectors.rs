//! End-to-end vectors: real envelopes of a real session, for implementers
//! (`docs/test-vectors/session.json`, described in wire-format.md §8).
//!
//! A deterministic session (fixed keys, seeds, times and op ids, in memory)
//! runs enrollment, the initial sync, live push, operations of every kind,
//! an upload attached to a mail, a packed item by range, a repair, a resync, a collection-list update, a policy and a wipe. Every
//! envelope either side sealed is recorded as padded plaintext (the bytes
//! under the transport encryption). `TIDINGS_BLESS=1 cargo test -p tidings
//! --features testing --test session_vectors` rewrites the file; otherwise
//! it must match byte for byte, and each vector is decoded and checked here.

mod town;

use serde_json::{Value, json};
use std::path::PathBuf;
use tidings::compress::{InflateLimits, unpack, unpad};
use tidings::proto::{
    self, CalendarItem, CollectionKind, Envelope, FetchRange, FreeBusyQuery, Item, MailItem,
    Policy, Refetch, Search, SetFlags, envelope::Body, item, operation::Kind,
    operation_result::Outcome,
};
use tidings::session::{ClientConfig, ClientSession, ClientState, ServerSession};
use tidings::store::ItemStore;
use town::*;

const RAW_MAIL: &[u8] = b"From: Town Clerk <clerk@town.example>\r\n\
To: Chief of Staff <chief@town.example>\r\n\
Subject: Minutes of the harbour board, 3 December\r\n\
Date: Thu, 3 Dec 2026 10:30:00 +0000\r\n\
Message-ID: <minutes-3-dec@town.example>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Present: the mayor, the chief of staff, the harbour master.\r\n\
The board agreed to repair the north pier before the spring tides, and to\r\n\
report on the ferry timetable at its next meeting in January.\r\n";

fn file_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/test-vectors/session.json")
}

/// What one side sealed, named.
struct Recorder {
    vectors: Vec<Value>,
}

impl Recorder {
    /// Runs both ends at `now` until neither has more to send, and records
    /// what each sealed.
    fn step(
        &mut self,
        client: &mut ClientSession,
        server: &mut ServerSession,
        town: &mut Town,
        now: u64,
    ) {
        pump(client, server, &mut town.store, now);
        self.take(client, server);
    }

    fn take(&mut self, client: &mut ClientSession, server: &mut ServerSession) {
        for (from, padded) in client
            .take_sent_envelopes_for_testing_only()
            .into_iter()
            .map(|p| ("device", p))
            .chain(
                server
                    .take_sent_envelopes_for_testing_only()
                    .into_iter()
                    .map(|p| ("server", p)),
            )
        {
            let encoded = unpad(&padded).expect("padded").to_vec();
            let envelope: Envelope = proto::decode(&encoded).expect("an envelope");
            self.vectors.push(json!({
                "from": from,
                "body": body_name(&envelope),
                "fields": fields(&envelope),
                "envelope": hex::encode(&encoded),
                "padded": hex::encode(&padded),
            }));
        }
    }
}

fn body_name(envelope: &Envelope) -> String {
    let name = match &envelope.body {
        None => "keepalive",
        Some(Body::Hello(_)) => "hello",
        Some(Body::Welcome(_)) => "welcome",
        Some(Body::Delta(p)) if p.epoch == 0 => "delta (continuing)",
        Some(Body::Delta(p)) if p.from_modseq == p.to_modseq => "delta (repair)",
        Some(Body::Delta(_)) => "delta (explicit)",
        Some(Body::Ack(_)) => "ack",
        Some(Body::Operation(op)) => return format!("operation {}", op_name(op.kind.as_ref())),
        Some(Body::Result(r)) => return format!("result {}", outcome_name(r.outcome.as_ref())),
        Some(Body::ResyncRequired(_)) => "resync_required",
        Some(Body::Refetch(_)) => "refetch",
        Some(Body::Policy(_)) => "policy",
        Some(Body::Wipe(_)) => "wipe",
        Some(Body::WipeAck(_)) => "wipe_ack",
        Some(Body::Revoked(_)) => "revoked",
        Some(Body::Error(_)) => "error",
        Some(Body::Close(_)) => "close",
        Some(Body::Enrolled(_)) => "enrolled",
        Some(Body::CaughtUp(_)) => "caught_up",
        Some(Body::CollectionsChanged(_)) => "collections_changed",
    };
    name.into()
}

fn op_name(kind: Option<&Kind>) -> &'static str {
    match kind {
        Some(Kind::SetFlags(_)) => "set_flags",
        Some(Kind::MoveItems(_)) => "move_items",
        Some(Kind::DeleteItems(_)) => "delete_items",
        Some(Kind::SendMail(_)) => "send_mail",
        Some(Kind::ReplyMail(_)) => "reply_mail",
        Some(Kind::ForwardMail(_)) => "forward_mail",
        Some(Kind::FetchBody(_)) => "fetch_body",
        Some(Kind::FetchAttachment(_)) => "fetch_attachment",
        Some(Kind::CreateEvent(_)) => "create_event",
        Some(Kind::UpdateEvent(_)) => "update_event",
        Some(Kind::DeleteEvent(_)) => "delete_event",
        Some(Kind::Respond(_)) => "respond",
        Some(Kind::Search(_)) => "search",
        Some(Kind::FreeBusy(_)) => "free_busy",
        Some(Kind::UploadPart(_)) => "upload_part",
        _ => "other",
    }
}

fn outcome_name(outcome: Option<&Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Done(_)) => "done",
        Some(Outcome::Error(_)) => "error",
        Some(Outcome::Conflict(_)) => "conflict",
        Some(Outcome::Range(_)) => "range",
        Some(Outcome::Search(_)) => "search",
        Some(Outcome::FreeBusy(_)) => "free_busy",
        None => "none",
    }
}

/// The fields an implementer checks first, decoded.
fn fields(envelope: &Envelope) -> Value {
    match &envelope.body {
        Some(Body::Hello(h)) => json!({
            "cursors": h.cursors.len(), "page_items": h.page_items,
            "preview_bytes": h.preview_bytes, "features": h.features,
            "client_version": h.client_version,
        }),
        Some(Body::Welcome(w)) => json!({
            "collections": w.collections.iter().map(|c| json!({
                "id": c.id, "kind": c.kind, "name": c.name, "owner_id": c.owner_id,
                "rights": c.rights, "epoch": c.epoch,
            })).collect::<Vec<_>>(),
            "policy_version": w.policy.map(|p| p.version),
            "keepalive_seconds": w.policy.map(|p| p.keepalive_seconds),
            "features": w.features,
            "max_unacked_pages": w.max_unacked_pages,
        }),
        Some(Body::Enrolled(e)) => {
            json!({"device_id": e.device_id, "principal_id": e.principal_id})
        }
        Some(Body::Delta(p)) => json!({
            "collection_id": p.collection_id, "epoch": p.epoch,
            "from_modseq": p.from_modseq, "to_modseq": p.to_modseq, "advance": p.advance,
            "more": p.more,
            "upserts": p.upserts.iter().map(|u| json!({
                "id": u.id, "flags": u.flags, "packed_flag": u.packed.first(),
                "abridged": abridged_of(&u.packed),
            })).collect::<Vec<_>>(),
            "flag_changes": p.flag_changes.iter().map(|f| json!([f.id, f.flags])).collect::<Vec<_>>(),
            "removals": p.removals,
            "patches": p.patches.iter().map(|x| json!({
                "id": x.id, "flags": x.flags, "packed": hex::encode(&x.packed),
            })).collect::<Vec<_>>(),
        }),
        Some(Body::Ack(a)) => json!({
            "cursors": a.cursors.iter().map(|c| json!({
                "collection_id": c.collection_id, "epoch": c.epoch, "modseq": c.modseq,
                "partial": c.partial,
            })).collect::<Vec<_>>(),
        }),
        Some(Body::CaughtUp(c)) => json!({
            "collection_id": c.collection_id, "epoch": c.epoch, "modseq": c.modseq,
        }),
        Some(Body::CollectionsChanged(c)) => json!({
            "collections": c.collections.iter().map(|c| json!([c.id, c.name])).collect::<Vec<_>>(),
        }),
        Some(Body::Operation(op)) => json!({"op_id": hex::encode(&op.op_id)}),
        Some(Body::Result(r)) => {
            let detail = match &r.outcome {
                Some(Outcome::Done(d)) => json!({"item_id": d.item_id, "version": d.version}),
                Some(Outcome::Error(e)) => json!({"code": e.code}),
                Some(Outcome::Conflict(c)) => json!({"current_version": c.current_version}),
                Some(Outcome::Range(r)) => json!({
                    "offset": r.offset, "total_size": r.total_size, "len": r.data.len(),
                }),
                Some(Outcome::Search(s)) => json!({
                    "hits": s.hits.iter().map(|h| json!([h.collection_id, h.item_id])).collect::<Vec<_>>(),
                }),
                Some(Outcome::FreeBusy(f)) => json!({
                    "periods": f.periods.iter().map(|p| json!([p.start, p.end, p.tentative])).collect::<Vec<_>>(),
                }),
                None => Value::Null,
            };
            json!({"op_id": hex::encode(&r.op_id), "outcome": detail})
        }
        Some(Body::ResyncRequired(r)) => json!({
            "collection_id": r.collection_id, "epoch": r.epoch, "reason": r.reason,
        }),
        Some(Body::Refetch(r)) => json!({"collection_id": r.collection_id, "item_ids": r.item_ids}),
        Some(Body::Policy(p)) => {
            json!({"version": p.version, "allow_attachments": p.allow_attachments})
        }
        Some(Body::Wipe(w)) => json!({"wipe_id": w.wipe_id}),
        Some(Body::WipeAck(w)) => json!({"wipe_id": w.wipe_id}),
        Some(Body::Error(e)) => json!({"code": e.code}),
        _ => json!({}),
    }
}

/// A mail's `abridged` field as (reason, packed size), if it has one.
fn abridged_of(packed: &[u8]) -> Value {
    let Ok(bytes) = unpack(packed, &InflateLimits::default()) else {
        return Value::Null;
    };
    let Ok(item) = proto::decode::<Item>(&bytes) else {
        return Value::Null;
    };
    match item.kind {
        Some(item::Kind::Mail(MailItem {
            abridged: Some(a), ..
        })) => json!({"reason": a.reason, "packed_size": a.packed_size}),
        _ => Value::Null,
    }
}

/// 64,000 printable characters from a fixed pseudo-random sequence:
/// deflate cannot make a mail with this subject fit a page (48 KiB).
fn big_subject() -> String {
    let mut x: u32 = 0x1234_5678;
    (0..64_000)
        .map(|_| {
            // xorshift32: reproducible, and incompressible enough.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            char::from(b'!' + u8::try_from(x % 94).expect("under 94"))
        })
        .collect()
}

/// A mail whose `Subject:` is [`big_subject`].
fn big_subject_mail() -> Vec<u8> {
    let subject = big_subject();
    format!(
        "From: Harbour Office <harbour@town.example>\r\nTo: chief@town.example\r\nSubject: {subject}\r\nDate: Thu, 3 Dec 2026 09:30:00 +0000\r\nMessage-ID: <tide-table@town.example>\r\n\r\nThe tide table for December.\r\n"
    )
    .into_bytes()
}

fn upload_part(upload_id: [u8; 16], offset: u64, data: &[u8], total_size: u64) -> Kind {
    Kind::UploadPart(proto::UploadPart {
        upload_id: upload_id.to_vec(),
        offset,
        data: data.to_vec(),
        total_size,
    })
}

/// `client`'s device back at `now` (IK) with a fresh ephemeral key from
/// `seed`, recording, with a new server session for it.
fn resumed(
    town: &Town,
    client: &ClientSession,
    seed: u8,
    now: u64,
) -> (ClientSession, ServerSession) {
    let state = ClientState::from_bytes(&client.state().to_bytes()).expect("state");
    let config = ClientConfig {
        page_items: 1,
        ack_delay_ms: 0,
        ..ClientConfig::default()
    };
    let mut client = ClientSession::resume(config, state, [seed; 32], now).expect("resume");
    client.confirm_state_saved();
    client.record_sent_envelopes_for_testing_only();
    let mut server = town.server_session(seed, now);
    server.record_sent_envelopes_for_testing_only();
    (client, server)
}

fn op(client: &mut ClientSession, n: u8, kind: Kind) {
    client.submit(10_000, [n; 16], kind).expect("submit");
}

/// The whole session, recorded.
fn generate() -> Value {
    let mut town = Town::new();
    let harbour = town.add_meeting(
        town.mayor_calendar,
        "harbour@town.example",
        "Harbour board",
        &["mayor@town.example"],
    );
    let minutes = town
        .store
        .add_message(town.chief_inbox, RAW_MAIL, 2048)
        .expect("inbox");
    let code = town.activation(town.chief, 3);
    let state = ClientState::new([3; 32], town.server_public());
    // Acknowledgements at once, so each one follows the page it answers
    // in the vectors (a delayed one is the same envelope, later).
    let config = ClientConfig {
        page_items: 1,
        ack_delay_ms: 0,
        ..ClientConfig::default()
    };
    let mut client =
        ClientSession::enroll(config, state, &code, "Sam's phone", [4; 32], 1_000).expect("enroll");
    let mut server = town.server_session(5, 1_000);
    client.record_sent_envelopes_for_testing_only();
    server.record_sent_envelopes_for_testing_only();
    let mut rec = Recorder {
        vectors: Vec::new(),
    };
    rec.step(&mut client, &mut server, &mut town, 10_000);

    let inbox = town.chief_inbox;
    let packed = town
        .store
        .item(inbox, minutes)
        .expect("store")
        .expect("the minutes")
        .0;
    let unpacked = unpack(&packed, &InflateLimits::default()).expect("unpack");
    let item: Item = proto::decode(&unpacked).expect("item");
    let Some(item::Kind::Mail(mail)) = item.kind else {
        panic!("a mail")
    };
    let headers = mail.headers.unwrap_or_default();
    // Live push: a flag change from the device, pushed back as a flag change.
    op(
        &mut client,
        1,
        Kind::SetFlags(SetFlags {
            collection_id: inbox,
            item_ids: vec![minutes],
            set: 1,
            clear: 0,
        }),
    );
    rec.step(&mut client, &mut server, &mut town, 10_000);
    // Refused: the mayor's inbox is not the chief's to touch.
    op(
        &mut client,
        2,
        Kind::SetFlags(SetFlags {
            collection_id: town.mayor_inbox,
            item_ids: vec![1],
            set: 1,
            clear: 0,
        }),
    );
    op(
        &mut client,
        3,
        Kind::Search(Search {
            query: "harbour".into(),
            collection_ids: vec![inbox],
            limit: 10,
        }),
    );
    op(
        &mut client,
        4,
        Kind::FetchBody(FetchRange {
            collection_id: inbox,
            item_id: minutes,
            part_id: 0,
            offset: 0,
            length: 64,
            packed_item: false,
        }),
    );
    op(
        &mut client,
        5,
        Kind::FreeBusy(FreeBusyQuery {
            principal_id: town.mayor,
            start: 1_796_256_000,
            end: 1_796_342_400,
        }),
    );
    let chief_calendar = town.chief_calendar;
    let event = |id: u64, version: u64| CalendarItem {
        version,
        ..meeting(
            id,
            chief_calendar,
            "budget@town.example",
            "Budget review",
            &[],
        )
    };
    op(
        &mut client,
        6,
        Kind::CreateEvent(proto::CreateEvent {
            calendar_id: town.chief_calendar,
            item: Some(event(0, 0)),
        }),
    );
    rec.step(&mut client, &mut server, &mut town, 10_000);
    let created = town.store.items(town.chief_calendar).expect("calendar")[0].0;
    op(
        &mut client,
        7,
        Kind::UpdateEvent(proto::UpdateEvent {
            calendar_id: town.chief_calendar,
            item: Some(event(created, 1)),
            expected_version: 9,
        }),
    );
    op(
        &mut client,
        8,
        Kind::Respond(proto::RespondToInvitation {
            calendar_id: town.mayor_calendar,
            item_id: harbour,
            status: proto::ParticipationStatus::Accepted as i32,
            ..Default::default()
        }),
    );
    rec.step(&mut client, &mut server, &mut town, 10_000);

    // A file too large for one operation: uploaded in parts (the second
    // part sent again out of place is answered with the bytes held), then
    // attached by its upload id. Then the minutes' whole packed form, by
    // range, as a device completes an abridged item.
    let upload_id = [0x55; 16];
    let file = b"North pier survey, page 1 of 1.\n";
    let total = file.len() as u64;
    let (first, second) = file.split_at(20);
    op(&mut client, 9, upload_part(upload_id, 0, first, total));
    op(&mut client, 10, upload_part(upload_id, 20, second, total));
    op(&mut client, 11, upload_part(upload_id, 20, second, total));
    op(
        &mut client,
        12,
        Kind::SendMail(proto::SendMail {
            mail: Some(proto::OutgoingMail {
                to: vec![proto::Address {
                    name: "Town Clerk".into(),
                    email: "clerk@town.example".into(),
                }],
                subject: "Pier survey".into(),
                attachments: vec![proto::OutgoingAttachment {
                    filename: "survey.txt".into(),
                    content_type: "text/plain".into(),
                    upload_id: upload_id.to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }),
    );
    op(
        &mut client,
        13,
        Kind::FetchBody(FetchRange {
            collection_id: inbox,
            item_id: minutes,
            part_id: 0,
            offset: 0,
            length: 49_152,
            packed_item: true,
        }),
    );
    rec.step(&mut client, &mut server, &mut town, 10_000);

    // An item too large for a page: a mail whose subject is 64,000
    // incompressible printable characters. Its page carries it abridged
    // (TOO_LARGE, with the whole packed size); two `packed_item` ranges
    // bring the whole packed item, which the device keeps instead.
    let big_raw = big_subject_mail();
    let big = town
        .store
        .add_message(inbox, &big_raw, 2048)
        .expect("the big mail");
    server.push_changes(10_000, &town.store).expect("push");
    rec.step(&mut client, &mut server, &mut town, 10_000);
    let whole = town
        .store
        .item(inbox, big)
        .expect("store")
        .expect("the big mail")
        .0;
    for (n, offset) in [(14u8, 0u64), (15, 49_152)] {
        op(
            &mut client,
            n,
            Kind::FetchBody(FetchRange {
                collection_id: inbox,
                item_id: big,
                part_id: 0,
                offset,
                length: 49_152,
                packed_item: true,
            }),
        );
    }
    rec.step(&mut client, &mut server, &mut town, 10_000);
    client
        .complete_item(inbox, big, &whole)
        .expect("the two ranges are the whole item");

    // A repair page, asked for by hand.
    let refetch = Envelope {
        body: Some(Body::Refetch(Refetch {
            collection_id: inbox,
            item_ids: vec![minutes],
        })),
    };
    let mut padded = Vec::new();
    tidings::compress::pad(&proto::encode(&refetch), &mut padded);
    client
        .send_plaintext_for_testing_only(10_000, &padded)
        .expect("refetch");
    rec.step(&mut client, &mut server, &mut town, 10_000);

    // A reply and a forward of the minutes: the server has the original,
    // the device sends only its own words.
    op(
        &mut client,
        16,
        Kind::ReplyMail(proto::ReplyMail {
            collection_id: inbox,
            item_id: minutes,
            reply_all: false,
            mail: Some(proto::OutgoingMail {
                text: "Thank you; the pier first.".into(),
                ..Default::default()
            }),
        }),
    );
    op(
        &mut client,
        17,
        Kind::ForwardMail(proto::ForwardMail {
            collection_id: inbox,
            item_id: minutes,
            mail: Some(proto::OutgoingMail {
                to: vec![proto::Address {
                    name: "Mayor".into(),
                    email: "mayor@town.example".into(),
                }],
                ..Default::default()
            }),
        }),
    );
    rec.step(&mut client, &mut server, &mut town, 10_000);

    // A collection appears; the big mail is filed there, the minutes
    // deleted, the budget review cancelled.
    let archive = town
        .store
        .add_collection(town.chief, CollectionKind::Mail, "Archive")
        .expect("chief");
    server
        .refresh_collections(10_000, &town.store)
        .expect("refresh");
    rec.step(&mut client, &mut server, &mut town, 10_000);
    op(
        &mut client,
        18,
        Kind::MoveItems(proto::MoveItems {
            collection_id: inbox,
            item_ids: vec![big],
            to_collection_id: archive,
        }),
    );
    op(
        &mut client,
        19,
        Kind::DeleteItems(proto::DeleteItems {
            collection_id: inbox,
            item_ids: vec![minutes],
        }),
    );
    op(
        &mut client,
        20,
        Kind::DeleteEvent(proto::DeleteEvent {
            calendar_id: town.chief_calendar,
            item_id: created,
            expected_version: 1,
        }),
    );
    rec.step(&mut client, &mut server, &mut town, 10_000);
    server.push_changes(10_000, &town.store).expect("push");
    rec.step(&mut client, &mut server, &mut town, 10_000);

    // Then a calendar is recreated (a resync).
    town.store
        .change_log_mut(town.chief_calendar)
        .expect("calendar")
        .recreate();
    server.push_changes(10_000, &town.store).expect("push");
    rec.step(&mut client, &mut server, &mut town, 10_000);

    // A minute of quiet: the server's keepalive (the device asked for
    // one-way keepalives and sends none). Then the device closes.
    let quiet = server.poll_timeout().expect("the keepalive timer");
    server.handle_timeout(quiet).expect("keepalive");
    rec.step(&mut client, &mut server, &mut town, quiet);
    client.close(quiet).expect("close");
    rec.step(&mut client, &mut server, &mut town, quiet);

    // It comes back (IK, its hello in the handshake), and sends a second
    // Hello: a session-level error, after which the server closes.
    let later = quiet + 60_000;
    let (mut client, mut server) = resumed(&town, &client, 6, later);
    rec.step(&mut client, &mut server, &mut town, later);
    let hello_again = Envelope {
        body: Some(Body::Hello(proto::Hello::default())),
    };
    let mut padded = Vec::new();
    tidings::compress::pad(&proto::encode(&hello_again), &mut padded);
    client
        .send_plaintext_for_testing_only(later, &padded)
        .expect("second hello");
    rec.step(&mut client, &mut server, &mut town, later);

    // Back again: a policy, then a wipe and what follows it.
    let last = later + 60_000;
    let (mut client, mut server) = resumed(&town, &client, 7, last);
    rec.step(&mut client, &mut server, &mut town, last);
    let policy = Policy {
        version: 2,
        allow_attachments: false,
        keepalive_seconds: 240,
        max_preview_bytes: 2048,
        ..Policy::default()
    };
    server
        .send_policy(last, &mut town.store, policy)
        .expect("policy");
    server.order_wipe(last, &mut town.store, 77).expect("wipe");
    rec.step(&mut client, &mut server, &mut town, last);
    client.acknowledge_wipe(last, 77).expect("ack");
    rec.step(&mut client, &mut server, &mut town, last);

    json!({
        "about": "A real Tidings session, envelope by envelope: padded plaintext (under the transport encryption) and the encoded Envelope inside it, with the fields to check decoded. Generated by crates/tidings/tests/session_vectors.rs; see docs/spec/wire-format.md section 8. All byte strings are hex.",
        "packed_item": {
            "about": "The mail of the first explicit page: packed with dictionary v1 (flag 0x03), then the Item protobuf it unpacks to.",
            "packed": hex::encode(&packed),
            "item": hex::encode(&unpacked),
            "subject": headers.subject,
            "from": headers.from.first().map(|a| a.email.clone()),
            "preview": mail.preview,
        },
        "envelopes": rec.vectors,
    })
}

#[test]
fn the_session_vectors_match_the_implementation() {
    let generated = serde_json::to_string_pretty(&generate()).expect("json") + "\n";
    if std::env::var_os("TIDINGS_BLESS").is_some() {
        std::fs::write(file_path(), &generated).expect("write the vectors");
        return;
    }
    let stored = std::fs::read_to_string(file_path()).expect("docs/test-vectors/session.json");
    assert!(
        stored == generated,
        "session.json differs from the implementation: rerun with TIDINGS_BLESS=1 if the change is intended"
    );
}

#[test]
fn the_vectors_cover_every_envelope_kind_an_implementer_meets() {
    let vectors = generate();
    let kinds: Vec<String> = vectors["envelopes"]
        .as_array()
        .expect("envelopes")
        .iter()
        .map(|v| v["body"].as_str().unwrap_or_default().to_string())
        .collect();
    for kind in [
        "hello",
        "enrolled",
        "welcome",
        "delta (explicit)",
        "delta (continuing)",
        "delta (repair)",
        "ack",
        "caught_up",
        "collections_changed",
        "resync_required",
        "operation set_flags",
        "operation search",
        "operation fetch_body",
        "operation free_busy",
        "operation create_event",
        "operation update_event",
        "operation respond",
        "operation upload_part",
        "operation send_mail",
        "result done",
        "result error",
        "result conflict",
        "result search",
        "result range",
        "result free_busy",
        "operation move_items",
        "operation delete_items",
        "operation reply_mail",
        "operation forward_mail",
        "operation delete_event",
        "refetch",
        "keepalive",
        "close",
        "error",
        "policy",
        "wipe",
        "wipe_ack",
        "revoked",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind}: {kinds:?}");
    }
    // The packed item is dictionary-packed and decodes whole.
    let packed = hex::decode(vectors["packed_item"]["packed"].as_str().expect("hex")).expect("hex");
    // The upload's answers: bytes held, the resent part out of place, the
    // mail that attaches it, and the packed item by range.
    let outcome = |op: u8| -> Value {
        let op_id = hex::encode([op; 16]);
        vectors["envelopes"]
            .as_array()
            .expect("envelopes")
            .iter()
            .find(|v| v["from"] == "server" && v["fields"]["op_id"] == op_id.as_str())
            .map(|v| v["fields"]["outcome"].clone())
            .unwrap_or_else(|| panic!("no answer to op {op}"))
    };
    assert_eq!(outcome(9), json!({"item_id": 0, "version": 20}));
    assert_eq!(outcome(10), json!({"item_id": 0, "version": 32}));
    assert_eq!(outcome(11), json!({"current_version": 32}));
    assert_eq!(outcome(12), json!({"item_id": 0, "version": 0}));
    assert_eq!(
        outcome(13),
        json!({"offset": 0, "total_size": packed.len(), "len": packed.len()})
    );
    // The abridged mail: its page says how large the whole packed item
    // is, and the two ranges (ops 14 and 15) bring exactly that many bytes.
    let abridged: Vec<Value> = vectors["envelopes"]
        .as_array()
        .expect("envelopes")
        .iter()
        .filter_map(|v| v["fields"]["upserts"].as_array())
        .flatten()
        .filter(|u| !u["abridged"].is_null())
        .map(|u| u["abridged"].clone())
        .collect();
    // The big mail, in the inbox, then in the archive it was moved to.
    assert_eq!(abridged.len(), 2, "two abridged upserts: {abridged:?}");
    assert_eq!(abridged[0]["reason"], 1, "TOO_LARGE");
    let whole = abridged[0]["packed_size"].as_u64().expect("size");
    assert!(
        whole > 49_152 && whole <= 2 * 49_152,
        "{whole} B: two ranges"
    );
    assert_eq!(
        outcome(14),
        json!({"offset": 0, "total_size": whole, "len": 49_152})
    );
    assert_eq!(
        outcome(15),
        json!({"offset": 49_152, "total_size": whole, "len": whole - 49_152})
    );
    // Joined, the two ranges are the whole packed item: the mail with its
    // subject whole, which the page could not carry.
    let range_data = |op: u8| -> Vec<u8> {
        let op_id = hex::encode([op; 16]);
        let v = vectors["envelopes"]
            .as_array()
            .expect("envelopes")
            .iter()
            .find(|v| v["from"] == "server" && v["fields"]["op_id"] == op_id.as_str())
            .unwrap_or_else(|| panic!("no answer to op {op}"));
        let encoded = hex::decode(v["envelope"].as_str().expect("hex")).expect("hex");
        let envelope: Envelope = proto::decode(&encoded).expect("an envelope");
        match envelope.body {
            Some(Body::Result(r)) => match r.outcome {
                Some(Outcome::Range(range)) => range.data.to_vec(),
                other => panic!("op {op} answered {other:?}"),
            },
            other => panic!("op {op} answered by {other:?}"),
        }
    };
    let mut joined = range_data(14);
    joined.extend(range_data(15));
    assert_eq!(joined.len() as u64, whole);
    let item: Item =
        proto::decode(&unpack(&joined, &InflateLimits::default()).expect("unpack")).expect("item");
    let Some(item::Kind::Mail(mail)) = item.kind else {
        panic!("not a mail: {item:?}");
    };
    let headers = mail.headers.expect("headers");
    assert_eq!(headers.subject, big_subject(), "the subject, whole");
    assert!(mail.abridged.is_none(), "the whole item is not abridged");
    assert_eq!(packed.first(), Some(&0x03), "deflated with dictionary v1");
    assert_eq!(
        vectors["packed_item"]["subject"],
        "Minutes of the harbour board, 3 December"
    );
    // Every recorded envelope is well padded and decodes to what it says.
    for v in vectors["envelopes"].as_array().expect("envelopes") {
        let padded = hex::decode(v["padded"].as_str().expect("hex")).expect("hex");
        let encoded = hex::decode(v["envelope"].as_str().expect("hex")).expect("hex");
        assert_eq!(unpad(&padded).expect("unpad"), encoded.as_slice());
    }
}
