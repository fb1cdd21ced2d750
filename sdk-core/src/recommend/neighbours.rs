//! The neighbours sidecar: for each item, the items most related to it, with weights in
//! (0, 1]. Built by the site's batch job from aggregate consented data
//! (`attune-tools neighbours`), read here against the catalogue.
//!
//! ```json
//! {"format": 1, "k": 50, "items": {"p01": [["p02", 0.83], ["p07", 0.41]]}}
//! ```
//! Links to or from items not in the catalogue are dropped and counted (the catalogue may be
//! newer than the sidecar); malformed entries are reported with their path.

use super::catalog::{check_format, Catalog, Issues};
use super::{show, RecError};
use crate::collect::unknown_keys;
use crate::profiling::config::found;
use serde_json::Value;

pub const MAX_NEIGHBOURS: usize = 200;

/// Neighbours by catalogue index: item `i`'s are `to[off[i]..off[i + 1]]`, strongest first.
#[derive(Clone, Debug, Default)]
pub struct Neighbours {
    pub(crate) off: Vec<u32>,
    pub(crate) to: Vec<u32>,
    pub(crate) weight: Vec<f32>,
    /// Links dropped because an end is not in the catalogue.
    pub unknown: usize,
}

impl Neighbours {
    pub fn of(&self, i: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let (a, b) = match (self.off.get(i as usize), self.off.get(i as usize + 1)) {
            (Some(a), Some(b)) => (*a as usize, *b as usize),
            _ => (0, 0),
        };
        self.to[a..b].iter().copied().zip(self.weight[a..b].iter().copied())
    }

    pub fn links(&self) -> usize {
        self.to.len()
    }

    /// Builds from `(item, [(neighbour, weight)])` lists of catalogue indices; weights must
    /// already be checked.
    pub fn from_lists(n: usize, mut lists: Vec<(u32, Vec<(u32, f32)>)>) -> Neighbours {
        lists.sort_unstable_by_key(|(i, _)| *i);
        let mut out = Neighbours { off: Vec::with_capacity(n + 1), ..Default::default() };
        out.off.push(0);
        let mut lists = lists.into_iter().peekable();
        for i in 0..n as u32 {
            let mut links: Vec<(u32, f32)> = Vec::new();
            while let Some((_, list)) = lists.next_if(|(item, _)| *item == i) {
                links.extend(list);
            }
            links.retain(|(to, _)| *to != i && (*to as usize) < n);
            // One link per neighbour (the strongest), then strongest first.
            links.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
            links.dedup_by_key(|l| l.0);
            links.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            links.truncate(MAX_NEIGHBOURS);
            for (to, w) in links {
                out.to.push(to);
                out.weight.push(w);
            }
            out.off.push(out.to.len() as u32);
        }
        out
    }

    pub fn from_json(json: &str, catalog: &Catalog) -> Result<(Neighbours, Issues), RecError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| RecError::invalid("neighbours", format!("not valid JSON: {e}")))?;
        let Some(map) = value.as_object() else {
            return Err(RecError::invalid("neighbours", format!("expected an object, found {}", found(&value))));
        };
        let mut issues = Issues::default();
        let mut problems = Vec::new();
        unknown_keys(map, &["format", "k", "items"], "", &mut problems);
        for (field, message) in problems {
            issues.push(field, message);
        }
        check_format(map.get("format"), "format")?;
        let items = match map.get("items") {
            Some(Value::Object(items)) => items,
            Some(v) => return Err(RecError::invalid("items", format!("expected an object, found {}", found(v)))),
            None => return Err(RecError::invalid("items", "missing")),
        };
        let mut unknown = 0;
        let mut lists = Vec::new();
        for (id, list) in items {
            let path = format!("items.{id}");
            let Some(list) = list.as_array() else {
                issues.push(path, format!("expected an array of [id, weight] pairs, found {}", found(list)));
                continue;
            };
            let Some(from) = catalog.position(id) else {
                unknown += list.len();
                continue;
            };
            let mut links = Vec::with_capacity(list.len());
            for (k, pair) in list.iter().enumerate() {
                let parsed =
                    pair.as_array().filter(|p| p.len() == 2).and_then(|p| Some((p[0].as_str()?, p[1].as_f64()?)));
                match parsed {
                    Some((_, w)) if !(w.is_finite() && w > 0.0 && w <= 1.0) => {
                        issues.push(format!("{path}[{k}]"), format!("expected a weight in (0, 1], found {}", show(w)));
                    }
                    Some((to, w)) => match catalog.position(to) {
                        Some(to) => links.push((to, w as f32)),
                        None => unknown += 1,
                    },
                    None => {
                        issues.push(format!("{path}[{k}]"), format!("expected [id, weight], found {}", found(pair)))
                    }
                }
            }
            lists.push((from, links));
        }
        let mut out = Neighbours::from_lists(catalog.len(), lists);
        out.unknown = unknown;
        Ok((out, issues))
    }
}
