//! Replays a log through the Attune core and writes every user's top k.

use std::fmt::Write as _;

use crate::csv::escape;
use crate::eval::attune::{AttuneModel, AttuneRankError};
use crate::events::Dataset;

/// `user,item,rank` (rank from 1) for each user's top `k` after all their events, with `now`
/// the time of their last event. Items the user interacted with are not recommended.
pub fn replay(model: &mut AttuneModel, data: &Dataset, k: usize) -> Result<String, AttuneRankError> {
    let mut out = String::from("user,item,rank\n");
    for user in &data.users {
        let Some(last) = user.interactions.last() else { continue };
        let events: Vec<(&str, &str, i64)> = user
            .interactions
            .iter()
            .map(|i| (data.items[i.item as usize].as_str(), i.kind.as_str(), i.timestamp))
            .collect();
        for (rank, item) in model.rank(&events, last.timestamp, k)?.iter().enumerate() {
            writeln!(out, "{},{},{}", escape(&user.user), escape(item), rank + 1).expect("writing to a String");
        }
    }
    Ok(out)
}
