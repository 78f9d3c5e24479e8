//! TEST SUPPORT ONLY (feature `loopback-server`): connections to the
//! loopback server, and the byte exchange a network would do.

use crate::bytes::tidings_bytes;
use crate::client::tidings_client;
use crate::handle::{Out, borrow_mut, input, input_array};
use crate::loopback::tidings_test_server;
use crate::panic::{guard, guard_value};
use crate::result::{Fail, tidings_result};
use tidings::ErrorKind;
use tidings::proto;
use tidings::session::{Outgoing, Relation, ServerConfig, ServerEvent, ServerSession, pump};

/// TEST SUPPORT: accepts a connection (32 random bytes for its ephemeral
/// key); `out_connection` names it in the calls below.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_accept(
    server: *mut tidings_test_server,
    random: *const u8,
    random_len: usize,
    now_ms: u64,
    out_connection: *mut usize,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out_connection)?;
        let random = input_array(random, random_len)?;
        let mut server = borrow_mut(server)?;
        let session =
            ServerSession::new(ServerConfig::default(), server.keys.clone(), random, now_ms);
        server.sessions.push(session);
        out.set(server.sessions.len() - 1);
        Ok(())
    })
}

/// TEST SUPPORT: feeds bytes a client sent on `connection`.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_handle_bytes(
    server: *mut tidings_test_server,
    connection: usize,
    now_ms: u64,
    data: *const u8,
    len: usize,
) -> tidings_result {
    guard(|| {
        let data = input(data, len)?;
        let server = &mut *borrow_mut(server)?;
        let session = server
            .sessions
            .get_mut(connection)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        session.handle_bytes(now_ms, data, &mut server.store)?;
        keep_sent(session, &mut server.sent);
        Ok(())
    })
}

/// TEST SUPPORT: the next bytes to send on `connection` (`{NULL, 0}` if none).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_poll_transmit(
    server: *mut tidings_test_server,
    connection: usize,
    out: *mut tidings_bytes,
) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        let mut server = borrow_mut(server)?;
        let session = server
            .sessions
            .get_mut(connection)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        out.set(tidings_bytes::from_vec(
            session.poll_transmit().unwrap_or_default(),
        ));
        Ok(())
    })
}

/// TEST SUPPORT: moves bytes both ways between `client` and `connection`
/// until both are quiet (what a network would do).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_pump(
    server: *mut tidings_test_server,
    connection: usize,
    client: *mut tidings_client,
    now_ms: u64,
) -> tidings_result {
    guard(|| {
        let mut client = borrow_mut(client)?;
        let server = &mut *borrow_mut(server)?;
        let session = server
            .sessions
            .get_mut(connection)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        pump(&mut client, session, &mut server.store, now_ms)?;
        keep_sent(session, &mut server.sent);
        Ok(())
    })
}

/// TEST SUPPORT: live push: every open connection is sent what changed.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_push(
    server: *mut tidings_test_server,
    now_ms: u64,
) -> tidings_result {
    guard(|| {
        let server = &mut *borrow_mut(server)?;
        for session in server
            .sessions
            .iter_mut()
            .filter(|s| !s.is_closed() && s.device().is_some())
        {
            session.push_changes(now_ms, &server.store)?;
        }
        Ok(())
    })
}

/// Drains a session's events, keeping the mail it was asked to send.
fn keep_sent(session: &mut ServerSession, sent: &mut Vec<Outgoing>) {
    while let Some(event) = session.poll_event() {
        if let ServerEvent::Outgoing(mail) = event {
            sent.push(mail);
        }
    }
}

/// TEST SUPPORT: how many mails the devices have asked to send.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_sent_count(server: *mut tidings_test_server) -> usize {
    guard_value(0, || borrow_mut(server).map_or(0, |s| s.sent.len()))
}

/// TEST SUPPORT: sent mail `index`: the `OutgoingMail` protobuf the device
/// composed, and the original it answers (`out_relation` 1) or forwards (2)
/// as its item id (0 and 0 for a new mail).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_test_server_sent(
    server: *mut tidings_test_server,
    index: usize,
    out_mail: *mut tidings_bytes,
    out_relation: *mut u32,
    out_original_item_id: *mut u64,
) -> tidings_result {
    guard(|| {
        let (mail, relation, original) = (
            Out::new(out_mail)?,
            Out::new(out_relation)?,
            Out::new(out_original_item_id)?,
        );
        let server = borrow_mut(server)?;
        let sent = server
            .sent
            .get(index)
            .ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        let (kind, item) = match &sent.original {
            Some(o) if matches!(o.relation, Relation::Forward) => (2, o.item_id),
            Some(o) => (1, o.item_id),
            None => (0, 0),
        };
        mail.set(tidings_bytes::from_vec(proto::encode(&sent.mail)));
        relation.set(kind);
        original.set(item);
        Ok(())
    })
}
