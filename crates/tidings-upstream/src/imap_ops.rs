//! The IMAP commands a write-back is made of, on any logged-in connection:
//! used by the mirror's own connection ([`Account`](crate::Account)'s
//! write-backs) and by the device writer's ([`writer`](crate::writer)).

use crate::flags;
use crate::session::{Upstream, quote};
use async_imap::imap_proto::rfc4315::UidSetMember;
use async_imap::imap_proto::{AttributeValue, Response, ResponseCode, Status};
use tidings::Result;

/// Selects `name` unless it is selected already; returns its UIDVALIDITY
/// when it was selected now (`None` when it already was).
pub(crate) async fn select(upstream: &mut Upstream, name: &str) -> Result<Option<u32>> {
    if upstream.selected() == Some(name) {
        return Ok(None);
    }
    upstream.set_selected(None);
    let responses = upstream
        .command(&format!("SELECT {}", quote(name)?))
        .await?;
    upstream.set_selected(Some(name.to_string()));
    Ok(responses.iter().find_map(|r| match r {
        Response::Data {
            status: Status::Ok,
            outcome,
        } => match outcome.code {
            Some(ResponseCode::UidValidity(v)) => Some(v),
            _ => None,
        },
        _ => None,
    }))
}

/// The message's flags upstream, or `None` if it no longer exists.
pub(crate) async fn flags_of(upstream: &mut Upstream, uid: u32) -> Result<Option<u32>> {
    // A message another client expunged still answers FETCH in this
    // session until the session hears of the expunge: NOOP lets it.
    upstream.command("NOOP").await?;
    let responses = upstream
        .command(&format!("UID FETCH {uid} (UID FLAGS)"))
        .await?;
    for response in &responses {
        if let Response::Fetch(_, attributes) = response {
            let mut this = false;
            let mut bits = None;
            for attribute in attributes {
                match attribute {
                    AttributeValue::Uid(u) => this = *u == uid,
                    AttributeValue::Flags(f) => {
                        bits = Some(flags::from_imap(f.iter().map(|f| f.as_ref())))
                    }
                    _ => {}
                }
            }
            if this {
                return Ok(Some(bits.unwrap_or(0)));
            }
        }
    }
    Ok(None)
}

/// `UID STORE +FLAGS.SILENT` / `-FLAGS.SILENT`: only the bits asked, so a
/// flag another client changed meanwhile survives.
pub(crate) async fn store_flags(
    upstream: &mut Upstream,
    uid: u32,
    set: u32,
    clear: u32,
) -> Result<()> {
    if set != 0 {
        let command = format!("UID STORE {uid} +FLAGS.SILENT {}", flags::to_imap(set));
        upstream.command(&command).await?;
    }
    if clear != 0 {
        let command = format!("UID STORE {uid} -FLAGS.SILENT {}", flags::to_imap(clear));
        upstream.command(&command).await?;
    }
    Ok(())
}

/// `UID MOVE` (RFC 6851) of the selected folder's `uid` to `target`, or
/// on a server without MOVE `UID COPY`, `\Deleted` and an expunge of it;
/// the message's UID there, from `COPYUID` (RFC 4315), when the server
/// says.
pub(crate) async fn uid_move(
    upstream: &mut Upstream,
    uid: u32,
    target: &str,
) -> Result<Option<u32>> {
    let target = quote(target)?;
    let responses = if upstream.has("MOVE") {
        upstream
            .command(&format!("UID MOVE {uid} {target}"))
            .await?
    } else {
        let copied = upstream
            .command(&format!("UID COPY {uid} {target}"))
            .await?;
        expunge(upstream, uid).await?;
        copied
    };
    Ok(responses.iter().find_map(|r| match r {
        Response::Data { outcome, .. } => match &outcome.code {
            Some(ResponseCode::CopyUid(_, _, dst)) => first_uid(dst),
            _ => None,
        },
        _ => None,
    }))
}

/// `\Deleted` and `UID EXPUNGE` (RFC 4315) of that one message. A server
/// without UIDPLUS has only `EXPUNGE`, which also removes whatever else
/// the folder holds marked `\Deleted`: as every IMAP4rev1 client's delete
/// does there.
pub(crate) async fn expunge(upstream: &mut Upstream, uid: u32) -> Result<()> {
    upstream
        .command(&format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"))
        .await?;
    if upstream.has("UIDPLUS") {
        upstream.command(&format!("UID EXPUNGE {uid}")).await?;
    } else {
        upstream.command("EXPUNGE").await?;
    }
    Ok(())
}

fn first_uid(set: &[UidSetMember]) -> Option<u32> {
    match set.first()? {
        UidSetMember::Uid(uid) => Some(*uid),
        UidSetMember::UidRange(range) => Some(*range.start()),
    }
}
