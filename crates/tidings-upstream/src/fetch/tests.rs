use super::*;

#[test]
fn fetched_mail_is_stored_in_runs_of_bounded_bytes() {
    let (small, big) = (vec![0u8; 1 << 20], vec![0u8; 7 << 20]);
    let messages: Vec<(u32, u32, &[u8])> = vec![
        (1, 0, &small),
        (2, 0, &small),
        (3, 0, &small),
        (4, 0, &small),
        (5, 0, &small),
        (6, 0, &big),
        (7, 0, &small),
    ];
    let runs: Vec<Vec<u32>> = by_bytes(&messages, 4 << 20)
        .map(|run| run.iter().map(|m| m.0).collect())
        .collect();
    assert_eq!(runs, [vec![1, 2, 3, 4], vec![5], vec![6], vec![7]]);
}

#[test]
fn bodies_are_asked_for_in_runs_of_bounded_bytes() {
    let listed: Vec<Listed> = [10u64, 30, 30, 50, 1, 0]
        .iter()
        .zip(1..)
        .map(|(&mib, uid)| Listed {
            uid,
            flags: 0,
            size: mib << 20,
        })
        .collect();
    let runs: Vec<Vec<u32>> = runs(&listed, 64 << 20)
        .map(|run| run.iter().map(|m| m.uid).collect())
        .collect();
    assert_eq!(runs, [vec![1, 2], vec![3], vec![4, 5, 6]]);
}

#[test]
fn a_run_of_bodies_stays_within_one_command_bound_whatever_the_sizes() {
    assert_eq!(body_cap(1), MAX_MESSAGE_BYTES + 1);
    assert_eq!(body_cap(0), MAX_MESSAGE_BYTES + 1);
    for len in 1..=crate::mirror::FETCH_BATCH {
        assert!(body_cap(len) * len as u64 <= MAX_BODY_BYTES as u64);
    }
}

#[test]
fn a_stub_keeps_whole_header_lines_and_says_where_the_message_is() {
    let cut = b"Subject: Scan\r\nFrom: a@example.org\r\nTo: b@exa";
    let text = String::from_utf8(stub(cut, 600 << 20)).expect("ascii");
    assert!(text.starts_with("Subject: Scan\r\nFrom: a@example.org\r\nX-Tidings-Stub"));
    assert!(
        text.contains("(600 MiB) is larger than the 64 MiB"),
        "{text}"
    );
    let whole = b"Subject: Scan\r\n\r\n";
    let text = String::from_utf8(stub(whole, 1)).expect("ascii");
    assert!(
        text.starts_with("Subject: Scan\r\nX-Tidings-Stub"),
        "{text}"
    );
    assert!(
        String::from_utf8(stub(b"", 1))
            .expect("ascii")
            .starts_with("X-Tidings-Stub")
    );
}
