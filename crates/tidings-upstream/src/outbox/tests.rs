use super::*;

fn conn() -> Connection {
    let conn = Connection::open_in_memory().expect("db");
    migrate(&conn).expect("migrate");
    conn
}

const MAIL: &[u8] =
    b"From: a@example.org\r\nMessage-ID:\r\n <x1@example.org>\r\n\r\nMessage-ID: <body@x>\r\n";

#[test]
fn message_id_is_read_from_the_headers_only_and_unfolded() {
    assert_eq!(message_id(MAIL).as_deref(), Some("x1@example.org"));
    assert_eq!(
        message_id(b"Subject: hi\r\n\r\nMessage-ID: <b@x>\r\n"),
        None
    );
    // An id that would break the search command is not used.
    assert_eq!(message_id(b"Message-ID: <a\"b@x>\r\n\r\n"), None);
}

#[test]
fn the_limit_is_checked_before_a_row_is_written() {
    let conn = conn();
    let outbox = Outbox::new(HashSet::from([7]), 2);
    let to = vec!["b@example.org".to_owned()];
    for _ in 0..2 {
        outbox
            .enqueue(&conn, 7, "a@example.org", &to, MAIL, None)
            .expect("queued");
    }
    let full = outbox.enqueue(&conn, 7, "a@example.org", &to, MAIL, None);
    assert_eq!(full.unwrap_err().kind(), ErrorKind::LimitExceeded);
    assert_eq!(due(&conn, 0, 10).expect("due").len(), 2);
    // Another principal, or one the outbox does not send for.
    let other = outbox.enqueue(&conn, 8, "c@example.org", &to, MAIL, None);
    assert_eq!(other.unwrap_err().kind(), ErrorKind::PermissionDenied);
}

#[test]
fn a_row_keeps_what_it_answers_and_moves_through_its_states() {
    let conn = conn();
    let outbox = Outbox::new(HashSet::from([7]), 10);
    let answers = Answers {
        folder: "INBOX".into(),
        uidvalidity: 5,
        uid: 9,
        flags: 4,
    };
    let to = vec!["b@example.org".to_owned(), "c@example.org".to_owned()];
    let id = outbox
        .enqueue(&conn, 7, "a@example.org", &to, MAIL, Some(&answers))
        .expect("queued");
    let rows = due(&conn, 0, 10).expect("due");
    assert_eq!(rows[0].recipients, to);
    assert_eq!(rows[0].answers.as_ref(), Some(&answers));
    assert_eq!(rows[0].state, State::Queued);
    set_state(&conn, id, State::Submitted, 1, 500).expect("state");
    assert!(due(&conn, 499, 10).expect("due").is_empty());
    assert_eq!(next_due(&conn).expect("next"), Some(500));
    assert_eq!(due(&conn, 500, 10).expect("due")[0].state, State::Submitted);
    remove(&conn, id).expect("remove");
    assert_eq!(next_due(&conn).expect("next"), None);
    let none = outbox.enqueue(&conn, 7, "a@example.org", &[], MAIL, None);
    assert_eq!(none.unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn notices_have_their_own_bound() {
    let conn = conn();
    let outbox = Outbox::new(HashSet::from([7]), 1);
    let to = vec!["b@example.org".to_owned()];
    outbox
        .enqueue(&conn, 7, "a@example.org", &to, MAIL, None)
        .expect("queued");
    assert!(outbox.enqueue_notice(&conn, 7, b"notice").expect("notice"));
    assert!(!outbox.enqueue_notice(&conn, 7, b"notice").expect("bounded"));
    let rows = due(&conn, 0, 10).expect("due");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].state, State::Notice);
}
