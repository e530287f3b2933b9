//! The one loop over the pages of a `Query` or a `Scan`: every read that
//! may span pages (DynamoDB returns at most 1 MB per call) goes through
//! `each_page` or `all_items`, so none can stop at the first page.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::ScanOutput;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::{Item, StoreError};

/// Where a page starts: the key after the previous page's last item.
pub type StartKey = HashMap<String, AttributeValue>;

/// A page of a `Query` or a `Scan`.
pub trait Page {
    /// The start of the next page, if there is one.
    fn take_next_start(&mut self) -> Option<StartKey>;
    fn take_items(&mut self) -> Vec<Item>;
}

macro_rules! page {
    ($($output:ty),*) => {$(
        impl Page for $output {
            fn take_next_start(&mut self) -> Option<StartKey> {
                self.last_evaluated_key.take().filter(|k| !k.is_empty())
            }
            fn take_items(&mut self) -> Vec<Item> {
                self.items.take().unwrap_or_default().into_iter().map(Item).collect()
            }
        }
    )*};
}
page!(QueryOutput, ScanOutput);

/// Sends `page(start)` from the first page to the last, handing each page
/// to `each`. `page` is the request with `set_exclusive_start_key(start)`.
pub async fn each_page<P, E, F, Fut>(
    mut page: F,
    mut each: impl FnMut(P) -> Result<(), E>,
) -> Result<(), E>
where
    P: Page,
    F: FnMut(Option<StartKey>) -> Fut,
    Fut: Future<Output = Result<P, E>>,
{
    let mut start = None;
    loop {
        let mut out = page(start).await?;
        start = out.take_next_start();
        each(out)?;
        if start.is_none() {
            return Ok(());
        }
    }
}

/// Every item of every page.
pub async fn all_items<P, E, F, Fut>(page: F) -> Result<Vec<Item>, E>
where
    P: Page,
    F: FnMut(Option<StartKey>) -> Fut,
    Fut: Future<Output = Result<P, E>>,
{
    let mut items = Vec::new();
    each_page(page, |mut p: P| {
        items.extend(p.take_items());
        Ok(())
    })
    .await?;
    Ok(items)
}

/// `each_page` for one of the store's queries.
pub(crate) async fn each_query_page(
    query: QueryFluentBuilder,
    each: impl FnMut(QueryOutput) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    // Boxed: the nested futures of the pager would otherwise be laid out
    // inside every caller's, past the compiler's depth limit in the
    // sweeper's `main`.
    Box::pin(each_page(
        |start| {
            let page = query.clone().set_exclusive_start_key(start);
            async move { page.send().await.map_err(|e| StoreError::aws("Query", e)) }
        },
        each,
    ))
    .await
}

/// Every item one of the store's queries finds.
pub(crate) async fn query_items(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    each_query_page(query, |mut page| {
        items.extend(page.take_items());
        Ok(())
    })
    .await?;
    Ok(items)
}
