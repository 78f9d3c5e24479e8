//! The window of pages in flight (sync.md §3 rule 8), counted by page.

use super::*;
use crate::sync::PageLimits;

const COLLECTION: u64 = 7;

/// A session following one collection from the start, window `window`.
fn follows(window: u32) -> Follows {
    let mut follows = Follows::new(PageLimits::default(), window, 256);
    follows.start(&[COLLECTION], &Hello::default(), false);
    follows
}

/// Sends the page from `from` to `to` (one removal), as `next` would.
fn send(follows: &mut Follows, from: u64, to: u64) {
    let sent = follows.wants(COLLECTION).expect("the window is open");
    assert_eq!(sent.modseq, from);
    let page = DeltaPage {
        collection_id: COLLECTION,
        epoch: 1,
        from_modseq: from,
        to_modseq: to,
        removals: vec![to],
        ..DeltaPage::default()
    };
    let next = follows.take(COLLECTION, Delta::Page(page));
    assert!(matches!(next, Ok(Next::Send(_))), "{next:?}");
}

fn ack(follows: &mut Follows, modseq: u64) -> bool {
    follows.acked(&Cursor {
        collection_id: COLLECTION,
        epoch: 1,
        modseq,
        ..Cursor::default()
    })
}

fn window_full(follows: &mut Follows) -> bool {
    matches!(follows.wants(COLLECTION), Err(Next::Window))
}

/// An outside implementer's device acknowledged four pages with one
/// cursor, as rule 8 allows: the server freed one slot, sent one page and
/// stalled (a live push was not delivered until a reconnect); a repeated
/// old cursor freed a slot each time. A cursor frees every page it covers,
/// and only those.
#[test]
fn one_cursor_frees_every_page_it_covers_and_a_repeated_one_none() {
    let mut follows = follows(4);
    for modseq in 0..4 {
        send(&mut follows, modseq, modseq + 1);
    }
    assert!(window_full(&mut follows));
    assert!(ack(&mut follows, 4), "a current cursor");
    for modseq in 4..8 {
        send(&mut follows, modseq, modseq + 1);
    }
    assert!(window_full(&mut follows), "four pages again, no more");

    // The same cursor again, and one below every page in flight: stale
    // news, nothing freed.
    assert!(ack(&mut follows, 4));
    assert!(ack(&mut follows, 1));
    assert!(window_full(&mut follows));

    // Two of the four pages: two slots.
    assert!(ack(&mut follows, 6));
    send(&mut follows, 8, 9);
    send(&mut follows, 9, 10);
    assert!(window_full(&mut follows));
}

/// A page cut inside a modseq (`more`) and the page completing it end at
/// the same modseq: a cursor that is still partial frees only the first.
#[test]
fn a_partial_cursor_frees_only_the_page_cut_there() {
    let mut follows = follows(2);
    let sent = follows.wants(COLLECTION).expect("open");
    let cut = DeltaPage {
        collection_id: COLLECTION,
        epoch: 1,
        from_modseq: sent.modseq,
        to_modseq: 3,
        removals: vec![1],
        more: true,
        ..DeltaPage::default()
    };
    assert!(follows.take(COLLECTION, Delta::Page(cut)).is_ok());
    send(&mut follows, 3, 3);
    assert!(window_full(&mut follows));
    let partial = Cursor {
        collection_id: COLLECTION,
        epoch: 1,
        modseq: 3,
        partial: true,
        ..Cursor::default()
    };
    assert!(follows.acked(&partial));
    assert!(!window_full(&mut follows));
    assert!(ack(&mut follows, 3));
    assert!(
        follows
            .map
            .iter()
            .all(|(_, f)| f.unacked == 0 && f.earlier.is_none())
    );
}

/// A device that keeps up has one page in flight at a time: nothing is
/// allocated to remember where earlier pages end.
#[test]
fn one_page_at_a_time_holds_no_list() {
    let mut follows = follows(4);
    for modseq in 0..3 {
        send(&mut follows, modseq, modseq + 1);
        assert!(follows.map.iter().all(|(_, f)| f.earlier.is_none()));
        assert!(ack(&mut follows, modseq + 1));
    }
    send(&mut follows, 3, 4);
    send(&mut follows, 4, 5);
    assert!(follows.map.iter().all(|(_, f)| f.earlier.is_some()));
    assert!(ack(&mut follows, 5));
    assert!(
        follows
            .map
            .iter()
            .all(|(_, f)| f.unacked == 0 && f.earlier.is_none())
    );
}
