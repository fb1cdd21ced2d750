//! Interaction logs: `user,item,timestamp[,event]` CSV in, per-user time-ordered histories out.
//!
//! Timestamps are Unix milliseconds (what the browser SDK records). A header line is optional:
//! the first line is a header when its timestamp field is not a number; a header names its
//! columns (`user`, `item`, `timestamp`, optional `event`, in any order). A bad row never stops
//! the read: it is skipped and reported with its 1-based line number.
//!
//! Order within a user: by timestamp, then by item id — numerically when both ids are integers,
//! lexically when neither is, integers first when mixed — so that tied timestamps (MovieLens has many) give the same order on every
//! machine and run.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

use crate::csv::split_line;

/// One row of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub user: String,
    pub item: String,
    /// Unix milliseconds.
    pub timestamp: i64,
    /// `view` when the column is absent or empty.
    pub kind: String,
}

/// A row that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    /// 1-based line number in the file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// A file the reader cannot use at all (a row-level problem is a [`RowIssue`] instead).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventsError {
    #[error("line {line}: the header has no `{column}` column (expected user,item,timestamp[,event])")]
    MissingColumn { line: usize, column: &'static str },
    #[error("line {line}: duplicate header column `{column}`")]
    DuplicateColumn { line: usize, column: String },
}

#[derive(Debug, Clone, Copy)]
struct Columns {
    user: usize,
    item: usize,
    timestamp: usize,
    event: Option<usize>,
}

const POSITIONAL: Columns = Columns { user: 0, item: 1, timestamp: 2, event: Some(3) };

fn parse_timestamp(field: &str) -> Option<i64> {
    let field = field.trim();
    if let Ok(t) = field.parse::<i64>() {
        return Some(t);
    }
    // Accept `881250949000.0`-style decimals, but nothing that is not a finite, in-range number.
    let t = field.parse::<f64>().ok().filter(|t| t.is_finite() && t.abs() < 9.0e15)?;
    Some(t.round() as i64)
}

fn header_columns(fields: &[String], line: usize) -> Result<Columns, EventsError> {
    let mut found: [Option<usize>; 4] = [None; 4];
    for (i, name) in fields.iter().enumerate() {
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "user" | "user_id" => 0,
            "item" | "item_id" => 1,
            "timestamp" | "ts" | "time" => 2,
            "event" | "kind" | "type" => 3,
            _ => continue,
        };
        if found[slot].replace(i).is_some() {
            return Err(EventsError::DuplicateColumn { line, column: name.clone() });
        }
    }
    let need = |slot: usize, column| found[slot].ok_or(EventsError::MissingColumn { line, column });
    Ok(Columns { user: need(0, "user")?, item: need(1, "item")?, timestamp: need(2, "timestamp")?, event: found[3] })
}

/// Reads a log. Returns the good rows in file order and the skipped ones.
pub fn parse_events(text: &str) -> Result<(Vec<Event>, Vec<RowIssue>), EventsError> {
    let mut events = Vec::new();
    let mut issues = Vec::new();
    let mut columns: Option<Columns> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let fields = match split_line(raw) {
            Ok(fields) => fields,
            Err(message) => {
                issues.push(RowIssue { line, message });
                continue;
            }
        };
        let cols = match columns {
            Some(cols) => cols,
            None => {
                let is_header = fields.len() >= 3 && parse_timestamp(&fields[2]).is_none();
                if is_header {
                    columns = Some(header_columns(&fields, line)?);
                    continue;
                }
                *columns.insert(POSITIONAL)
            }
        };
        match parse_row(&fields, cols) {
            Ok(event) => events.push(event),
            Err(message) => issues.push(RowIssue { line, message }),
        }
    }
    Ok((events, issues))
}

fn parse_row(fields: &[String], cols: Columns) -> Result<Event, String> {
    let needed = cols.user.max(cols.item).max(cols.timestamp) + 1;
    if fields.len() < needed {
        return Err(format!("expected at least {needed} fields, found {}", fields.len()));
    }
    let user = fields[cols.user].trim();
    let item = fields[cols.item].trim();
    if user.is_empty() {
        return Err("empty user".into());
    }
    if item.is_empty() {
        return Err("empty item".into());
    }
    let ts_field = &fields[cols.timestamp];
    let timestamp = parse_timestamp(ts_field).ok_or_else(|| format!("timestamp {ts_field:?} is not a number"))?;
    let kind = cols.event.and_then(|i| fields.get(i)).map(|k| k.trim()).filter(|k| !k.is_empty()).unwrap_or("view");
    Ok(Event { user: user.to_owned(), item: item.to_owned(), timestamp, kind: kind.to_owned() })
}

/// Orders ids numerically when both are integers, lexically when neither is, and integers
/// before other ids when one of each (that keeps the order total, which sorting needs).
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// One interaction, with the item as an index into [`Dataset::items`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub item: u32,
    pub timestamp: i64,
    pub kind: String,
}

/// One user's interactions, in the documented order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserHistory {
    pub user: String,
    pub interactions: Vec<Interaction>,
}

/// A log grouped by user against a fixed item universe.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Item ids; an item's index is its position here.
    pub items: Vec<String>,
    /// Users ordered by id (see [`compare_ids`]).
    pub users: Vec<UserHistory>,
    /// Events whose item is not in `items` (dropped).
    pub unknown_item_events: usize,
}

impl Dataset {
    /// Groups `events` by user. With `items`, events on other items are dropped and counted;
    /// without, the universe is every item in the log, ordered by id.
    pub fn from_events(events: Vec<Event>, items: Option<Vec<String>>) -> Dataset {
        let items = items.unwrap_or_else(|| {
            let mut ids: Vec<String> = events.iter().map(|e| e.item.clone()).collect();
            ids.sort_by(|a, b| compare_ids(a, b));
            ids.dedup();
            ids
        });
        let index: HashMap<&str, u32> = items.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)).collect();
        let mut by_user: HashMap<String, Vec<Interaction>> = HashMap::new();
        let mut unknown_item_events = 0;
        for event in events {
            let Some(&item) = index.get(event.item.as_str()) else {
                unknown_item_events += 1;
                continue;
            };
            by_user.entry(event.user).or_default().push(Interaction {
                item,
                timestamp: event.timestamp,
                kind: event.kind,
            });
        }
        let mut users: Vec<UserHistory> = by_user
            .into_iter()
            .map(|(user, mut interactions)| {
                // Stable: a user's repeated (timestamp, item) rows keep their file order.
                interactions.sort_by(|a, b| {
                    a.timestamp
                        .cmp(&b.timestamp)
                        .then_with(|| compare_ids(&items[a.item as usize], &items[b.item as usize]))
                });
                UserHistory { user, interactions }
            })
            .collect();
        users.sort_by(|a, b| compare_ids(&a.user, &b.user));
        Dataset { items, users, unknown_item_events }
    }

    pub fn event_count(&self) -> usize {
        self.users.iter().map(|u| u.interactions.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_header_and_reads_positional_rows() {
        let (with, issues) = parse_events("user,item,timestamp,event\nu1,7,1000,view\n").unwrap();
        assert!(issues.is_empty());
        let (without, _) = parse_events("u1,7,1000,view\n").unwrap();
        assert_eq!(with, without);
        let (named, _) = parse_events("timestamp,item,user\n1000,7,u1\n").unwrap();
        assert_eq!(named, without);
    }

    #[test]
    fn bad_rows_are_reported_with_line_numbers() {
        let text = "user,item,timestamp\nu1,1,10\nu1,2\n\nu2,3,soon\n,4,5\nu3,\"5,6\",7\nu4,\"x,1\n";
        let (events, issues) = parse_events(text).unwrap();
        assert_eq!(events.len(), 2);
        let lines: Vec<usize> = issues.iter().map(|i| i.line).collect();
        assert_eq!(lines, [3, 5, 6, 8]);
        assert!(issues[1].to_string().starts_with("line 5: timestamp"));
        assert_eq!(events[1].item, "5,6");
    }

    #[test]
    fn header_without_required_column_is_an_error() {
        assert_eq!(
            parse_events("user,thing,timestamp\n").unwrap_err(),
            EventsError::MissingColumn { line: 1, column: "item" }
        );
    }

    #[test]
    fn ties_break_by_item_id_numerically_then_lexically() {
        let (events, _) = parse_events("u,10,5\nu,9,5\nu,b,5\nu,a,5\nu,1,9\nu,100,1\n").unwrap();
        let data = Dataset::from_events(events, None);
        let order: Vec<&str> =
            data.users[0].interactions.iter().map(|i| data.items[i.item as usize].as_str()).collect();
        assert_eq!(order, ["100", "9", "10", "a", "b", "1"]);
    }
}
