//! `cargo xtask demo`: an in-process demonstration of what Tidings has so far.
//!
//! The reference server does not exist yet, so this runs both ends in one
//! process: a new mail goes out as a delta page, through packing, padding and
//! framing, across a "flaky link" that delivers 7 bytes at a time, and comes
//! back out on the device side.

use tidings::compress::{InflateLimits, PackOptions, pack, pad, unpack, unpad};
use tidings::frame::{FrameDecoder, FrameEncoder};
use tidings::proto::{
    self, Address, DeltaPage, Envelope, FlagChange, Item, ItemUpsert, MailHeaders, MailItem,
    envelope, item,
};

fn main() -> Result<(), tidings::Error> {
    println!("Tidings demo (in process: the reference server arrives with a later issue)\n");

    let mail = town_hall_mail();
    let item_bytes = proto::encode(&Item {
        kind: Some(item::Kind::Mail(mail.clone())),
    });
    let plain = pack(
        &item_bytes,
        &PackOptions {
            dictionary: None,
            ..PackOptions::default()
        },
    );
    let packed = pack(&item_bytes, &PackOptions::default());
    println!(
        "server: new mail for the councillors, \"{}\"",
        mail.headers.as_ref().map_or("", |h| h.subject.as_str())
    );
    println!("  item protobuf        {:>5} bytes", item_bytes.len());
    println!(
        "  deflated             {:>5} bytes (own context: no cross-mail oracle)",
        plain.len()
    );
    println!(
        "  deflated + dict v1   {:>5} bytes (packed once, reused for every device)",
        packed.len()
    );

    let new_mail = Envelope {
        body: Some(envelope::Body::Delta(DeltaPage {
            collection_id: 7,
            epoch: 1,
            from_modseq: 300,
            to_modseq: 301,
            upserts: vec![ItemUpsert {
                id: mail.id,
                packed,
                flags: 0,
            }],
            ..DeltaPage::default()
        })),
    };
    let flag_change = Envelope {
        body: Some(envelope::Body::Delta(DeltaPage {
            collection_id: 7,
            to_modseq: 302,
            flag_changes: vec![FlagChange {
                id: mail.id,
                flags: 1,
            }],
            ..DeltaPage::default()
        })),
    };

    let mut encoder = FrameEncoder::new();
    let mut wire = Vec::new();
    for (what, envelope) in [
        ("new-mail delta", &new_mail),
        ("flag-change delta", &flag_change),
    ] {
        let mut payload = Vec::new();
        pad(&proto::encode(envelope), &mut payload);
        let before = wire.len();
        encoder.encode(&payload, &mut wire)?;
        println!(
            "  {what:<20} {:>5} bytes framed (+16 once encrypted)",
            wire.len() - before
        );
    }
    println!("  on the wire: {}…", hex(&wire[..wire.len().min(24)]));

    println!("\ndevice: receiving over a flaky link, 7 bytes at a time");
    let mut decoder = FrameDecoder::new();
    for chunk in wire.chunks(7) {
        let mut rest = chunk;
        while let Some(body) = decoder.decode(&mut rest)? {
            show(&proto::decode::<Envelope>(unpad(&body)?)?)?;
        }
    }
    decoder.finish()?;
    println!("\ndone: every frame reassembled, unpadded, decoded and unpacked.");
    Ok(())
}

fn show(envelope: &Envelope) -> Result<(), tidings::Error> {
    let Some(envelope::Body::Delta(page)) = &envelope.body else {
        return Ok(());
    };
    for upsert in &page.upserts {
        let item = proto::decode::<Item>(&unpack(&upsert.packed, &InflateLimits::default())?)?;
        if let Some(item::Kind::Mail(mail)) = item.kind {
            let headers = mail.headers.unwrap_or_default();
            let from = headers.from.first().map_or("?", |a| a.email.as_str());
            println!(
                "  collection {} → modseq {}: new mail from {from}: {}",
                page.collection_id, page.to_modseq, headers.subject
            );
            println!(
                "    preview: {}…",
                mail.preview.chars().take(60).collect::<String>()
            );
        }
    }
    for change in &page.flag_changes {
        println!(
            "  collection {} → modseq {}: item {} flags now {:#04b} (seen)",
            page.collection_id, page.to_modseq, change.id, change.flags
        );
    }
    Ok(())
}

fn town_hall_mail() -> MailItem {
    let person = |name: &str, email: &str| Address {
        name: name.into(),
        email: email.into(),
    };
    MailItem {
        id: 1234,
        folder_id: 7,
        headers: Some(MailHeaders {
            from: vec![person("Office of the Mayor", "mayor@town.example")],
            to: vec![person("Councillors", "council@town.example")],
            subject: "Planning committee moved to Thursday".into(),
            date: 1_795_000_000,
            message_id: "20261129.0915@town.example".into(),
            ..MailHeaders::default()
        }),
        preview: "Dear councillors, the planning committee meets on Thursday at 18:00 in the \
                  Council Chamber instead of Wednesday. Please find attached the agenda and the \
                  officers' report on the harbour application. Kind regards, Office of the Mayor"
            .into(),
        size: 48_213,
        ..MailItem::default()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
