//! `Search`: a plain substring search over the items a device may read.

use super::events::decode_item;
use super::{MAX_SEARCH_COLLECTIONS, MAX_SEARCH_HITS, MAX_SEARCH_QUERY_BYTES, distinct};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{self, Item, SearchHit, SearchResults, item};
use crate::store::Store;
use crate::sync::Rights;

pub(super) fn search<S: Store>(
    store: &S,
    principal: u64,
    op: &proto::Search,
) -> Result<SearchResults> {
    if op.query.len() > MAX_SEARCH_QUERY_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "search query too long",
        ));
    }
    let query = op.query.to_lowercase();
    if query.trim().is_empty() {
        return Err(Error::new(ErrorKind::InvalidArgument, "empty search"));
    }
    let named = distinct(&op.collection_ids, MAX_SEARCH_COLLECTIONS)?;
    let collections: Vec<u64> = if named.is_empty() {
        store
            .visible_collections(principal)?
            .into_iter()
            .map(|(c, _)| c.id)
            .collect()
    } else {
        named
    };
    let limit = usize::try_from(op.limit)
        .unwrap_or(MAX_SEARCH_HITS)
        .clamp(1, MAX_SEARCH_HITS);
    let mut results = SearchResults::default();
    // Every named collection is checked before any is read.
    for &collection in &collections {
        store.require(principal, collection, Rights::READ)?;
    }
    for collection in collections {
        let mut after = 0;
        loop {
            // A page at a time: a search holds a few items, not the mailbox.
            let page = store.items_after(collection, after, SEARCH_PAGE)?;
            let Some(&(last, _, _)) = page.last() else {
                break;
            };
            for (id, packed, _) in page {
                if decode_item(&packed).is_ok_and(|item| matches(&item, &query)) {
                    if results.hits.len() == limit {
                        results.truncated = true;
                        return Ok(results);
                    }
                    results.hits.push(SearchHit {
                        collection_id: collection,
                        item_id: id,
                    });
                }
            }
            after = last;
        }
    }
    Ok(results)
}

/// Items a search reads from the store at once.
const SEARCH_PAGE: usize = 32;

fn matches(item: &Item, query: &str) -> bool {
    let found = |text: &str| text.to_lowercase().contains(query);
    match &item.kind {
        Some(item::Kind::Mail(mail)) => {
            let headers = mail.headers.clone().unwrap_or_default();
            found(&headers.subject)
                || found(&mail.preview)
                || headers
                    .from
                    .iter()
                    .any(|a| found(&a.name) || found(&a.email))
        }
        Some(item::Kind::Calendar(event)) => event
            .master
            .as_ref()
            .is_some_and(|m| found(&m.summary) || found(&m.location) || found(&m.description)),
        None => false,
    }
}
