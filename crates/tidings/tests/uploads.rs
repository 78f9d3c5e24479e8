//! Files larger than one operation: uploaded in parts, then attached by a
//! mail (sync.md §6). What the transport gets is the file, byte for byte;
//! a part out of place tells the device where to go on; uploads are the
//! device's own, bounded, and gone once a mail took them.

mod town;

use tidings::ErrorKind;
use tidings::proto::{
    self, Address, Conflict, OutgoingAttachment, OutgoingMail, SendMail, UploadPart,
    operation::Kind, operation_result::Outcome,
};
use tidings::session::{
    ClientConfig, ClientSession, MAX_UPLOAD_BYTES, MAX_UPLOAD_PART_BYTES, MAX_UPLOADS_PER_DEVICE,
    ServerEvent, ServerSession, UPLOAD_IDLE_MS,
};
use tidings::store::{DeviceRegistry, UploadState};
use town::*;

/// Bytes that do not repeat: a misplaced part would show.
fn file(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn part(id: [u8; 16], offset: u64, data: &[u8], total: u64) -> Kind {
    Kind::UploadPart(UploadPart {
        upload_id: id.to_vec(),
        offset,
        data: data.to_vec(),
        total_size: total,
    })
}

struct Device {
    client: ClientSession,
    server: ServerSession,
    next_op: u8,
}

impl Device {
    fn new(town: &mut Town, who: Who, seed: u8) -> Self {
        let (client, mut server) = enroll(town, who, seed, 1_000);
        server_events(&mut server);
        Device {
            client,
            server,
            next_op: 1,
        }
    }

    fn id(&self) -> u64 {
        self.client.state().device_id()
    }

    /// Submits `kind` under a fresh op id; returns its outcome.
    fn run(&mut self, town: &mut Town, kind: Kind) -> Outcome {
        let op_id = [self.next_op; 16];
        self.next_op = self.next_op.wrapping_add(1);
        self.run_as(town, op_id, kind)
    }

    fn run_as(&mut self, town: &mut Town, op_id: [u8; 16], kind: Kind) -> Outcome {
        self.client.submit(2_000, op_id, kind).expect("submit");
        pump(&mut self.client, &mut self.server, &mut town.store, 2_000);
        let mut answers = outcomes(&mut self.client);
        assert_eq!(answers.len(), 1, "one answer: {answers:?}");
        answers.remove(0)
    }

    /// Uploads `bytes` as `id` in parts of the largest size.
    fn upload(&mut self, town: &mut Town, id: [u8; 16], bytes: &[u8]) {
        let total = bytes.len() as u64;
        for (n, chunk) in bytes.chunks(MAX_UPLOAD_PART_BYTES).enumerate() {
            let offset = (n * MAX_UPLOAD_PART_BYTES) as u64;
            let held = offset + chunk.len() as u64;
            let answer = self.run(town, part(id, offset, chunk, total));
            assert_eq!(answer, done(held), "part {n}");
        }
    }

    fn sent(&mut self) -> Vec<tidings::session::Outgoing> {
        server_events(&mut self.server)
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::Outgoing(o) => Some(o),
                _ => None,
            })
            .collect()
    }
}

fn done(version: u64) -> Outcome {
    Outcome::Done(proto::Done {
        item_id: 0,
        version,
    })
}

fn error(kind: ErrorKind) -> Outcome {
    Outcome::Error(proto::ErrorInfo {
        code: kind.code().into(),
        hello_floor: 0,
    })
}

fn conflict(held: u64) -> Outcome {
    Outcome::Conflict(Conflict {
        current_version: held,
        current: Vec::new(),
    })
}

fn mail_with(attachments: Vec<OutgoingAttachment>) -> Kind {
    Kind::SendMail(SendMail {
        mail: Some(OutgoingMail {
            to: vec![Address {
                name: String::new(),
                email: "clerk@town.example".into(),
            }],
            subject: "Harbour survey".into(),
            attachments,
            ..Default::default()
        }),
    })
}

fn uploaded(id: [u8; 16], filename: &str) -> OutgoingAttachment {
    OutgoingAttachment {
        filename: filename.into(),
        content_type: "application/pdf".into(),
        upload_id: id.to_vec(),
        ..Default::default()
    }
}

#[test]
fn a_file_of_many_parts_reaches_the_transport_whole_and_once() {
    let mut town = Town::new();
    let mut phone = Device::new(&mut town, CHIEF, 7);
    let survey = file(300 * 1024 + 17);
    phone.upload(&mut town, [0xA1; 16], &survey);
    let inline = OutgoingAttachment {
        filename: "note.txt".into(),
        content_type: "text/plain".into(),
        data: b"see the survey".to_vec(),
        ..Default::default()
    };
    let send = mail_with(vec![inline, uploaded([0xA1; 16], "survey.pdf")]);
    // A retry of the send (the same op id) sends nothing again.
    for _ in 0..2 {
        assert_eq!(phone.run_as(&mut town, [0x50; 16], send.clone()), done(0));
    }
    let sent = phone.sent();
    assert_eq!(sent.len(), 1);
    let files = &sent[0].mail.attachments;
    assert_eq!(files[0].data, b"see the survey");
    assert_eq!(files[1].filename, "survey.pdf");
    assert_eq!(files[1].data, survey, "the file, byte for byte");
    assert!(files[1].upload_id.is_empty());
    // Taken by the mail, the upload is gone: a second mail cannot use it.
    let device = phone.id();
    assert_eq!(town.store.uploads(device).expect("uploads"), []);
    let again = mail_with(vec![uploaded([0xA1; 16], "survey.pdf")]);
    assert_eq!(phone.run(&mut town, again), error(ErrorKind::NotFound));
}

#[test]
fn a_part_out_of_place_says_where_the_upload_stands() {
    let mut town = Town::new();
    let mut phone = Device::new(&mut town, CHIEF, 7);
    let bytes = file(100);
    let id = [0xB2; 16];
    // Nothing held: a part past the start is told 0.
    assert_eq!(
        phone.run(&mut town, part(id, 40, &bytes[40..], 100)),
        conflict(0)
    );
    assert_eq!(
        phone.run(&mut town, part(id, 0, &bytes[..40], 100)),
        done(40)
    );
    // A gap, or a part again: told 40, nothing stored.
    assert_eq!(
        phone.run(&mut town, part(id, 60, &bytes[60..], 100)),
        conflict(40)
    );
    assert_eq!(
        phone.run(&mut town, part(id, 0, &bytes[..0], 100)),
        done(0),
        "offset 0 starts again"
    );
    assert_eq!(
        phone.run(&mut town, part(id, 0, &bytes[..40], 100)),
        done(40)
    );
    // Another size for the same file is refused.
    assert_eq!(
        phone.run(&mut town, part(id, 40, &bytes[40..], 101)),
        error(ErrorKind::InvalidArgument)
    );
    let state = UploadState {
        total_size: 100,
        held: 40,
    };
    assert_eq!(
        town.store.uploads(phone.id()).expect("uploads"),
        [(id, state)]
    );
    // Not complete: a mail cannot take it.
    let send = mail_with(vec![uploaded(id, "half.bin")]);
    assert_eq!(
        phone.run(&mut town, send.clone()),
        error(ErrorKind::InvalidArgument)
    );
    assert_eq!(
        phone.run(&mut town, part(id, 40, &bytes[40..], 100)),
        done(100)
    );
    assert_eq!(phone.run(&mut town, send), done(0));
    assert_eq!(phone.sent()[0].mail.attachments[0].data, bytes);
}

#[test]
fn limits_are_checked_before_anything_is_stored() {
    let mut town = Town::new();
    let mut phone = Device::new(&mut town, CHIEF, 7);
    let big = vec![7u8; MAX_UPLOAD_PART_BYTES + 1];
    let cases = [
        (part([1; 16], 0, &big, 1 << 20), ErrorKind::LimitExceeded),
        (
            part([1; 16], 0, b"x", MAX_UPLOAD_BYTES + 1),
            ErrorKind::LimitExceeded,
        ),
        (part([1; 16], 0, b"xyz", 2), ErrorKind::InvalidArgument),
        (
            part([1; 16], u64::MAX, b"x", 10),
            ErrorKind::InvalidArgument,
        ),
        (
            Kind::UploadPart(UploadPart {
                upload_id: vec![1; 15],
                offset: 0,
                data: b"x".to_vec(),
                total_size: 1,
            }),
            ErrorKind::InvalidArgument,
        ),
        // Where a part breaks two rules, the spec's order says which
        // answer it gets (sync.md §6): the id, then the limits, then
        // the file's size.
        (
            Kind::UploadPart(UploadPart {
                upload_id: vec![1; 15],
                offset: 0,
                data: big.clone(),
                total_size: 1,
            }),
            ErrorKind::InvalidArgument,
        ),
        (part([1; 16], 0, &big, 1), ErrorKind::LimitExceeded),
        (
            part([1; 16], MAX_UPLOAD_BYTES, b"x", MAX_UPLOAD_BYTES + 1),
            ErrorKind::LimitExceeded,
        ),
    ];
    for (n, (kind, expected)) in cases.into_iter().enumerate() {
        assert_eq!(phone.run(&mut town, kind), error(expected), "case {n}");
    }
    assert_eq!(town.store.uploads(phone.id()).expect("uploads"), []);
    // A mail whose uploaded files exceed the limit together is refused.
    let most = MAX_UPLOAD_BYTES / 2 + 1;
    for id in [[2; 16], [3; 16]] {
        town.store
            .start_upload(phone.id(), &id, most, 2_000)
            .expect("start");
        let bytes = vec![0u8; most as usize];
        town.store
            .append_upload(phone.id(), &id, 0, &bytes, 2_000)
            .expect("append");
    }
    let both = mail_with(vec![uploaded([2; 16], "a"), uploaded([3; 16], "b")]);
    assert_eq!(phone.run(&mut town, both), error(ErrorKind::LimitExceeded));
    assert!(phone.sent().is_empty());
    // Naming one upload twice, or giving it data too, is refused.
    let twice = mail_with(vec![uploaded([2; 16], "a"), uploaded([2; 16], "a")]);
    assert_eq!(
        phone.run(&mut town, twice),
        error(ErrorKind::InvalidArgument)
    );
    let mut with_data = uploaded([2; 16], "a");
    with_data.data = b"x".to_vec();
    let with_data = mail_with(vec![with_data]);
    assert_eq!(
        phone.run(&mut town, with_data),
        error(ErrorKind::InvalidArgument)
    );
    assert_eq!(
        town.store.uploads(phone.id()).expect("uploads").len(),
        2,
        "kept"
    );
}

#[test]
fn uploads_are_the_devices_own_and_bounded_in_number() {
    let mut town = Town::new();
    let mut chief = Device::new(&mut town, CHIEF, 7);
    let mut mayor = Device::new(&mut town, MAYOR, 9);
    chief.upload(&mut town, [0xC0; 16], b"the chief's file");
    let send = mail_with(vec![uploaded([0xC0; 16], "f")]);
    assert_eq!(mayor.run(&mut town, send), error(ErrorKind::NotFound));
    // One more than the bound: the oldest goes, the rest stay.
    for n in 1..=MAX_UPLOADS_PER_DEVICE as u8 {
        chief.upload(&mut town, [0xC0 + n; 16], &[n]);
    }
    let held: Vec<[u8; 16]> = town
        .store
        .uploads(chief.id())
        .expect("uploads")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let expected: Vec<[u8; 16]> = (1..=MAX_UPLOADS_PER_DEVICE as u8)
        .map(|n| [0xC0 + n; 16])
        .collect();
    assert_eq!(held, expected);
    // A revoked device's uploads are discarded.
    town.store.revoke(chief.id()).expect("revoke");
    assert_eq!(town.store.uploads(chief.id()).expect("uploads"), []);
}

#[test]
fn a_part_beyond_what_the_device_may_send_is_refused_and_not_stored() {
    let mut town = Town::new();
    let mut phone = Device::new(&mut town, CHIEF, 7);
    phone.server.set_outgoing_allowance(10, false);
    let answer = phone.run_as(&mut town, [0x77; 16], part([4; 16], 0, &[1; 11], 11));
    assert_eq!(answer, error(ErrorKind::LimitExceeded));
    assert_eq!(town.store.uploads(phone.id()).expect("uploads"), []);
    // Within it, the same op id goes through and is charged.
    phone.server.set_outgoing_allowance(100, false);
    let answer = phone.run_as(&mut town, [0x77; 16], part([4; 16], 0, &[1; 11], 11));
    assert_eq!(answer, done(11));
    assert_eq!(phone.server.take_outgoing_charged(), 11);
}

#[test]
fn one_send_stores_a_bounded_number_of_bytes_whatever_the_allowance() {
    let mut town = Town::new();
    let mut phone = Device::new(&mut town, CHIEF, 7);
    let id = [0xD0; 16];
    let file = vec![0x42u8; MAX_UPLOAD_BYTES as usize];
    town.store
        .start_upload(phone.id(), &id, MAX_UPLOAD_BYTES, 2_000)
        .expect("start");
    town.store
        .append_upload(phone.id(), &id, 0, &file, 2_000)
        .expect("append");
    let to = |n: usize| {
        (0..n)
            .map(|i| Address {
                name: String::new(),
                email: format!("reader{i}@town.example"),
            })
            .collect::<Vec<_>>()
    };
    let send = |recipients: usize| {
        Kind::SendMail(SendMail {
            mail: Some(OutgoingMail {
                to: to(recipients),
                attachments: vec![uploaded(id, "plans.pdf")],
                ..Default::default()
            }),
        })
    };
    // Eleven copies of 25 MiB: refused, remembered, and the upload kept.
    let answer = phone.run_as(&mut town, [0xE0; 16], send(10));
    assert_eq!(answer, error(ErrorKind::LimitExceeded));
    assert!(phone.sent().is_empty());
    assert_eq!(
        phone.run_as(&mut town, [0xE0; 16], send(9)),
        answer,
        "remembered"
    );
    assert_eq!(town.store.uploads(phone.id()).expect("uploads").len(), 1);
    // Ten copies fit.
    assert_eq!(phone.run(&mut town, send(9)), done(0));
    assert_eq!(phone.sent().len(), 1);
}

/// Uploads neither started nor appended to for a day are discarded: when
/// the device starts a session, and when it starts another upload. One
/// touched within the day is kept.
#[test]
fn uploads_idle_for_a_day_are_discarded() {
    let mut town = Town::new();
    let phone = Device::new(&mut town, CHIEF, 7);
    let device = phone.id();
    let later = 3_000 + UPLOAD_IDLE_MS;
    let held = |town: &Town| -> Vec<[u8; 16]> {
        let uploads = town.store.uploads(device).expect("uploads");
        uploads.into_iter().map(|(id, _)| id).collect()
    };
    for (id, touched) in [([1; 16], 2_000), ([2; 16], 3_000)] {
        town.store
            .start_upload(device, &id, 10, touched)
            .expect("start");
    }
    // A day later, a session starts: the upload idle since 2,000 goes.
    let state = phone.client.state().clone();
    let mut client =
        ClientSession::resume(ClientConfig::default(), state, [40; 32], later).expect("resume");
    // The hello goes once its new timestamp is saved.
    client.confirm_state_saved();
    let mut server = town.server_session(41, later);
    pump(&mut client, &mut server, &mut town.store, later);
    assert_eq!(held(&town), [[2; 16]], "at session start");
    // Another upload starts a second later: the one from 3,000 goes too.
    client
        .submit(later + 1, [0x77; 16], part([3; 16], 0, b"new", 3))
        .expect("submit");
    pump(&mut client, &mut server, &mut town.store, later + 1);
    assert_eq!(outcomes(&mut client), [done(3)]);
    assert_eq!(held(&town), [[3; 16]], "at a new upload");
}

/// sync.md §7: a 25 MiB file reaches nine recipients in one mail within a
/// device's default budget (256 MiB an hour). Its parts were charged as
/// they arrived (25 MiB), so the send is charged its copies less the
/// file's bytes already paid for. Found before: charged the file twice
/// over, the send was refused 608 with what was left.
#[test]
fn a_25_mib_file_reaches_nine_recipients_within_a_256_mib_budget() {
    let mut town = Town::new();
    let mut phone = Device::new(&mut town, CHIEF, 7);
    let id = [0xD1; 16];
    let file = vec![0x42u8; MAX_UPLOAD_BYTES as usize];
    town.store
        .start_upload(phone.id(), &id, MAX_UPLOAD_BYTES, 2_000)
        .expect("start");
    town.store
        .append_upload(phone.id(), &id, 0, &file, 2_000)
        .expect("append");
    let left = (256 << 20) - MAX_UPLOAD_BYTES;
    phone.server.set_outgoing_allowance(left, false);
    let to = (0..9)
        .map(|i| Address {
            name: String::new(),
            email: format!("reader{i}@town.example"),
        })
        .collect();
    let send = Kind::SendMail(SendMail {
        mail: Some(OutgoingMail {
            to,
            attachments: vec![uploaded(id, "plans.pdf")],
            ..Default::default()
        }),
    });
    assert_eq!(phone.run(&mut town, send), done(0));
    let charged = phone.server.take_outgoing_charged();
    assert!(
        charged > 9 * MAX_UPLOAD_BYTES && charged <= left,
        "charged {charged}"
    );
}
