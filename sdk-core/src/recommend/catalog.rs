//! The site's catalogue, read once into a compact, column-wise form the ranker scans.
//!
//! Two encodings carry the same content: JSON (easy to publish) and a binary form for large
//! catalogues (no JSON parsing, see [`super::binary`]). Both go through the same checks: a bad
//! item is skipped and reported with its index, the good ones are kept.
//!
//! Embeddings are normalised to unit length and stored as `i8` with a per-item scale, so a 64-d
//! vector is 64 bytes and the ranker's dot product reads a quarter of the bytes of `f32`.

use super::{show, RecError};
use crate::collect::unknown_keys;
use crate::profiling::config::found;
use serde_json::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hash map keyed by catalogue ids and tags, with a fast non-cryptographic hash (the Fx hash
/// of rustc): loading 100k items does several hundred thousand lookups, and the keys are the
/// site's own public ids, so flooding resistance buys nothing here.
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The catalogue formats this SDK reads.
pub const CATALOG_FORMAT: u64 = 1;
pub const MAX_ITEMS: usize = 500_000;
pub const MAX_DIM: usize = 1024;
pub const MAX_TAGS_PER_ITEM: usize = 32;
pub const MAX_ID_LEN: usize = 128;
pub const MAX_TEXT_LEN: usize = 2048;
/// At most this many item problems are listed; the rest are counted.
pub const MAX_LISTED_ISSUES: usize = 100;

pub const CATALOG_KEYS: [&str; 4] = ["format", "revision", "dim", "items"];
pub const ITEM_KEYS: [&str; 10] =
    ["id", "title", "url", "image", "category", "tags", "available", "price", "popularity", "embedding"];

/// One problem with one item of the catalogue (or neighbours sidecar).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemIssue {
    /// `items[12].embedding`
    pub field: String,
    pub message: String,
}

/// What reading a catalogue found wrong, item by item.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Issues {
    pub listed: Vec<ItemIssue>,
    /// Problems beyond the listed ones.
    pub more: usize,
    /// Items left out because of a problem.
    pub skipped: usize,
}

impl Issues {
    pub(crate) fn push(&mut self, field: String, message: String) {
        if self.listed.len() < MAX_LISTED_ISSUES {
            self.listed.push(ItemIssue { field, message });
        } else {
            self.more += 1;
        }
    }
    pub fn is_empty(&self) -> bool {
        self.listed.is_empty()
    }
}

/// An item as a site describes it (both encodings read into this first).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemInput {
    pub id: String,
    pub title: String,
    pub url: String,
    pub image: Option<String>,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub available: bool,
    pub price: Option<f32>,
    pub popularity: Option<f32>,
    pub embedding: Option<EmbeddingInput>,
    /// The item's index in the input, for problem reports.
    pub index: usize,
}

/// An item's embedding as given: floats, or `i8` (whose scale does not matter: every
/// embedding is normalised to unit length).
#[derive(Clone, Debug, PartialEq)]
pub enum EmbeddingInput {
    F32(Vec<f32>),
    I8(Vec<i8>),
}

impl EmbeddingInput {
    fn len(&self) -> usize {
        match self {
            EmbeddingInput::F32(v) => v.len(),
            EmbeddingInput::I8(v) => v.len(),
        }
    }
}

/// The text of an item, kept for results and explanations only (not scanned).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemText {
    pub id: String,
    pub title: String,
    pub url: String,
    pub image: Option<String>,
    pub price: Option<f32>,
    /// As given (the ranker uses the log-scaled prior); kept for the binary form.
    pub popularity: Option<f32>,
}

pub(crate) const AVAILABLE: u8 = 1;
pub(crate) const HAS_EMBEDDING: u8 = 2;

/// The catalogue, column-wise: index `i` is the same item in every column.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    pub revision: Option<String>,
    pub(crate) dim: usize,
    pub(crate) text: Vec<ItemText>,
    pub(crate) index: FastMap<String, u32>,
    pub(crate) tags: Vec<String>,
    pub(crate) tag_index: FastMap<String, u32>,
    /// Item `i`'s tags are `tag_ids[tag_off[i]..tag_off[i + 1]]`.
    pub(crate) tag_off: Vec<u32>,
    pub(crate) tag_ids: Vec<u32>,
    /// `1 / sqrt(number of tags)`, 0 without tags.
    pub(crate) tag_norm: Vec<f32>,
    /// The item's category (its first tag when none is given), for "popular in …".
    pub(crate) category: Vec<Option<u32>>,
    pub(crate) flags: Vec<u8>,
    /// Popularity prior in [0, 1]: `ln(1 + p) / ln(1 + max p)`.
    pub(crate) popularity: Vec<f32>,
    /// `dim` bytes per item (zeros without an embedding) and the scale back to unit length.
    pub(crate) emb: Vec<i8>,
    pub(crate) emb_scale: Vec<f32>,
}

impl Catalog {
    pub fn len(&self) -> usize {
        self.text.len()
    }
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
    pub fn dim(&self) -> usize {
        self.dim
    }
    pub fn position(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }
    pub fn item(&self, i: u32) -> &ItemText {
        &self.text[i as usize]
    }
    pub fn tags_of(&self, i: u32) -> impl Iterator<Item = &str> + '_ {
        self.tag_slice(i).iter().map(move |&t| self.tags[t as usize].as_str())
    }
    pub(crate) fn tag_slice(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.tag_ids[self.tag_off[i] as usize..self.tag_off[i + 1] as usize]
    }
    pub fn tag_position(&self, tag: &str) -> Option<u32> {
        self.tag_index.get(tag).copied()
    }
    pub fn tag(&self, t: u32) -> &str {
        &self.tags[t as usize]
    }
    pub fn category_of(&self, i: u32) -> Option<&str> {
        self.category[i as usize].map(|t| self.tag(t))
    }
    pub fn is_available(&self, i: u32) -> bool {
        self.flags[i as usize] & AVAILABLE != 0
    }
    pub(crate) fn embedding(&self, i: u32) -> Option<(&[i8], f32)> {
        let i = i as usize;
        (self.flags[i] & HAS_EMBEDDING != 0).then(|| (&self.emb[i * self.dim..(i + 1) * self.dim], self.emb_scale[i]))
    }
    /// The bytes one ranking reads per item (for the benchmark's bandwidth floor).
    pub fn scanned_bytes(&self) -> usize {
        self.emb.len()
            + 4 * self.emb_scale.len()
            + self.flags.len()
            + 4 * self.popularity.len()
            + 4 * self.tag_off.len()
            + 4 * self.tag_ids.len()
            + 4 * self.tag_norm.len()
    }

    /// Builds the catalogue from items already read; problems (duplicates, bad numbers, wrong
    /// dimensions) skip the item and are added to `issues`.
    pub fn build(revision: Option<String>, dim: usize, items: Vec<ItemInput>, issues: &mut Issues) -> Catalog {
        let mut c = Catalog { revision, dim, ..Default::default() };
        c.tag_off.push(0);
        let mut max_pop = 0f32;
        let mut raw_pop = Vec::with_capacity(items.len());
        for item in items {
            let n = item.index;
            let at = |field: &str| format!("items[{n}].{field}");
            if c.index.contains_key(&item.id) {
                issues.push(at("id"), format!("duplicate id {:?}: the first item with it is kept", item.id));
                issues.skipped += 1;
                continue;
            }
            if let Some(problem) = item_problem(&item, dim) {
                issues.push(at(problem.0), problem.1);
                issues.skipped += 1;
                continue;
            }
            let i = c.text.len() as u32;
            c.index.insert(item.id.clone(), i);
            let mut own_tags: Vec<u32> = Vec::with_capacity(item.tags.len() + 1);
            let category = item.category.as_deref().or(item.tags.first().map(String::as_str));
            for tag in item.category.iter().chain(item.tags.iter()) {
                let t = c.intern(tag);
                if !own_tags.contains(&t) {
                    own_tags.push(t);
                }
            }
            c.category.push(category.map(|t| c.tag_index[t]));
            c.tag_norm.push(if own_tags.is_empty() { 0.0 } else { 1.0 / (own_tags.len() as f32).sqrt() });
            c.tag_ids.extend_from_slice(&own_tags);
            c.tag_off.push(c.tag_ids.len() as u32);
            let mut flags = if item.available { AVAILABLE } else { 0 };
            let quantized = match item.embedding {
                Some(EmbeddingInput::F32(v)) => quantize(&v),
                Some(EmbeddingInput::I8(q)) => unit_scale(&q).map(|scale| (q, scale)),
                None => None,
            };
            match quantized {
                Some((q, scale)) => {
                    flags |= HAS_EMBEDDING;
                    c.emb.extend_from_slice(&q);
                    c.emb_scale.push(scale);
                }
                None => {
                    c.emb.resize(c.emb.len() + dim, 0);
                    c.emb_scale.push(0.0);
                }
            }
            c.flags.push(flags);
            let pop = item.popularity.unwrap_or(0.0);
            max_pop = max_pop.max(pop);
            raw_pop.push(pop);
            c.text.push(ItemText {
                id: item.id,
                title: item.title,
                url: item.url,
                image: item.image,
                price: item.price,
                popularity: item.popularity,
            });
        }
        let denominator = (1.0 + max_pop).ln();
        c.popularity =
            raw_pop.iter().map(|p| if denominator > 0.0 { (1.0 + p).ln() / denominator } else { 0.0 }).collect();
        c
    }

    fn intern(&mut self, tag: &str) -> u32 {
        if let Some(&t) = self.tag_index.get(tag) {
            return t;
        }
        let t = self.tags.len() as u32;
        self.tags.push(tag.to_owned());
        self.tag_index.insert(tag.to_owned(), t);
        t
    }

    /// Reads the JSON catalogue. Errors only when nothing can be read (not JSON, not an
    /// object, an unknown format); item problems skip the item and are returned.
    pub fn from_json(json: &str) -> Result<(Catalog, Issues), RecError> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| RecError::invalid("catalog", format!("not valid JSON: {e}")))?;
        Catalog::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<(Catalog, Issues), RecError> {
        let Some(map) = value.as_object() else {
            return Err(RecError::invalid("catalog", format!("expected an object, found {}", found(value))));
        };
        let mut issues = Issues::default();
        let mut problems = Vec::new();
        unknown_keys(map, &CATALOG_KEYS, "", &mut problems);
        for (field, message) in problems {
            issues.push(field, message);
        }
        check_format(map.get("format"), "format")?;
        let revision = read_revision(map.get("revision"))?;
        let dim = match map.get("dim") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_u64().filter(|d| *d <= MAX_DIM as u64).ok_or_else(|| {
                RecError::invalid("dim", format!("expected a whole number from 0 to {MAX_DIM}, found {v}"))
            })? as usize,
        };
        let items = match map.get("items") {
            Some(Value::Array(items)) => items,
            Some(v) => return Err(RecError::invalid("items", format!("expected an array, found {}", found(v)))),
            None => return Err(RecError::invalid("items", "missing")),
        };
        if items.len() > MAX_ITEMS {
            return Err(RecError::invalid("items", format!("at most {MAX_ITEMS} items, found {}", items.len())));
        }
        let mut unknown_seen: Vec<String> = Vec::new();
        let mut inputs = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            match read_item(item, n, &mut unknown_seen, &mut issues) {
                Some(input) => inputs.push(input),
                None => issues.skipped += 1,
            }
        }
        Ok((Catalog::build(revision, dim, inputs, &mut issues), issues))
    }
}

pub(crate) fn check_format(v: Option<&Value>, field: &str) -> Result<(), RecError> {
    match v {
        Some(v) if v.as_u64() == Some(CATALOG_FORMAT) => Ok(()),
        Some(v) => Err(RecError::invalid(field, format!("expected format {CATALOG_FORMAT}, found {v}"))),
        None => Err(RecError::invalid(field, "missing")),
    }
}

fn read_revision(v: Option<&Value>) -> Result<Option<String>, RecError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= MAX_ID_LEN => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(v) => Err(RecError::invalid("revision", format!("expected a short string, found {}", found(v)))),
    }
}

/// What is wrong with an item whatever its encoding: (field, message).
fn item_problem(item: &ItemInput, dim: usize) -> Option<(&'static str, String)> {
    if item.id.is_empty() || item.id.len() > MAX_ID_LEN {
        return Some(("id", format!("expected 1 to {MAX_ID_LEN} bytes, found {}", item.id.len())));
    }
    for (field, text) in [("title", Some(&item.title)), ("url", Some(&item.url)), ("image", item.image.as_ref())] {
        if text.is_some_and(|t| t.len() > MAX_TEXT_LEN) {
            return Some((field, format!("at most {MAX_TEXT_LEN} bytes")));
        }
    }
    if item.tags.len() > MAX_TAGS_PER_ITEM {
        return Some(("tags", format!("at most {MAX_TAGS_PER_ITEM} tags, found {}", item.tags.len())));
    }
    let bad_tag = |t: &&String| t.is_empty() || t.len() > MAX_ID_LEN;
    if let Some(tag) = item.category.iter().find(bad_tag) {
        return Some(("category", format!("expected 1 to {MAX_ID_LEN} bytes, found {} bytes", tag.len())));
    }
    if let Some(tag) = item.tags.iter().find(bad_tag) {
        return Some(("tags", format!("expected tags of 1 to {MAX_ID_LEN} bytes, found {} bytes", tag.len())));
    }
    for (field, v) in [("price", item.price), ("popularity", item.popularity)] {
        if let Some(v) = v.filter(|v| !v.is_finite() || *v < 0.0) {
            return Some((field, format!("expected a finite number ≥ 0, found {}", show(f64::from(v)))));
        }
    }
    if let Some(e) = &item.embedding {
        if e.len() != dim {
            return Some(("embedding", format!("expected {dim} numbers (the catalogue's dim), found {}", e.len())));
        }
        if let EmbeddingInput::F32(e) = e {
            if let Some(k) = e.iter().position(|x| !x.is_finite()) {
                return Some(("embedding", format!("value {k} is not a finite number ({})", show(f64::from(e[k])))));
            }
        }
    }
    None
}

/// The scale that makes `q` unit length; `None` for a zero vector.
pub(crate) fn unit_scale(q: &[i8]) -> Option<f32> {
    let norm = q.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    (norm > 0.0).then(|| (1.0 / norm) as f32)
}

/// Unit-normalises and quantises to `i8`; `None` for a zero vector.
pub(crate) fn quantize(v: &[f32]) -> Option<(Vec<i8>, f32)> {
    let norm = v.iter().map(|x| f64::from(*x) * f64::from(*x)).sum::<f64>().sqrt();
    if !(norm > 0.0 && norm.is_finite()) {
        return None;
    }
    let max = v.iter().fold(0f64, |m, x| m.max((f64::from(*x) / norm).abs()));
    let scale = max / 127.0;
    let q: Vec<i8> = v.iter().map(|x| (f64::from(*x) / norm / scale).round().clamp(-127.0, 127.0) as i8).collect();
    // The scale that makes the quantised vector itself unit length (as the binary form has it).
    let scale = unit_scale(&q)?;
    Some((q, scale))
}

fn read_item(v: &Value, n: usize, unknown_seen: &mut Vec<String>, issues: &mut Issues) -> Option<ItemInput> {
    let at = |field: &str| format!("items[{n}].{field}");
    let Some(map) = v.as_object() else {
        issues.push(format!("items[{n}]"), format!("expected an object, found {}", found(v)));
        return None;
    };
    // Extra fields (a description, a SKU…) are reported once per name and ignored.
    for key in map.keys().filter(|k| !ITEM_KEYS.contains(&k.as_str())) {
        if !unknown_seen.contains(key) && unknown_seen.len() < 32 {
            unknown_seen.push(key.clone());
            issues.push(
                at(key),
                format!(
                    "unknown field `{key}` (ignored on every item), expected one of {}",
                    ITEM_KEYS.map(|k| format!("`{k}`")).join(", ")
                ),
            );
        }
    }
    let mut bad = false;
    let mut string = |key: &str, required: bool| -> Option<String> {
        match map.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) if !required => None,
            None => {
                issues.push(at(key), "missing".into());
                bad = true;
                None
            }
            Some(v) => {
                issues.push(at(key), format!("expected a string, found {}", found(v)));
                bad = true;
                None
            }
        }
    };
    let id = string("id", true);
    let title = string("title", true);
    let url = string("url", true);
    let image = string("image", false);
    let category = string("category", false);
    let tags = match map.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {
            a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()
        }
        Some(v) => {
            issues.push(at("tags"), format!("expected an array of strings, found {}", found(v)));
            bad = true;
            Vec::new()
        }
    };
    let available = match map.get("available") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            issues.push(at("available"), format!("expected true or false, found {}", found(v)));
            bad = true;
            true
        }
    };
    let mut number = |key: &str| -> Option<f32> {
        match map.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::Number(x)) => Some(x.as_f64().map_or(f32::NAN, |x| x as f32)),
            Some(v) => {
                issues.push(at(key), format!("expected a number, found {}", found(v)));
                bad = true;
                None
            }
        }
    };
    let price = number("price");
    let popularity = number("popularity");
    let embedding = match map.get("embedding") {
        None | Some(Value::Null) => None,
        Some(v) => match read_embedding(v) {
            Ok(e) => Some(e),
            Err(message) => {
                issues.push(at("embedding"), message);
                bad = true;
                None
            }
        },
    };
    if bad {
        return None;
    }
    Some(ItemInput {
        id: id?,
        title: title?,
        url: url?,
        image,
        category,
        tags,
        available,
        price,
        popularity,
        embedding,
        index: n,
    })
}

/// `[0.1, …]` (f32) or `{"q": [12, -7, …], "scale": 0.004}` (int8 with a scale).
fn read_embedding(v: &Value) -> Result<EmbeddingInput, String> {
    let numbers = |a: &[Value]| -> Result<Vec<f64>, String> {
        a.iter()
            .enumerate()
            .map(|(k, x)| x.as_f64().ok_or_else(|| format!("value {k}: expected a number, found {}", found(x))))
            .collect()
    };
    match v {
        Value::Array(a) => Ok(EmbeddingInput::F32(numbers(a)?.into_iter().map(|x| x as f32).collect())),
        Value::Object(map) => {
            let mut problems = Vec::new();
            unknown_keys(map, &["q", "scale"], "", &mut problems);
            if let Some((key, message)) = problems.into_iter().next() {
                return Err(format!("{key}: {message}"));
            }
            let scale = map.get("scale").and_then(Value::as_f64).filter(|s| s.is_finite() && *s > 0.0);
            let scale = scale.ok_or("expected `scale`, a number > 0, beside `q`")?;
            let q = match map.get("q") {
                Some(Value::Array(a)) => numbers(a)?,
                _ => return Err("expected `q`, an array of whole numbers from -127 to 127".into()),
            };
            if let Some(k) = q.iter().position(|x| x.fract() != 0.0 || x.abs() > 127.0) {
                return Err(format!("q[{k}]: expected a whole number from -127 to 127, found {}", q[k]));
            }
            let _ = scale;
            Ok(EmbeddingInput::I8(q.into_iter().map(|x| x as i8).collect()))
        }
        v => Err(format!("expected an array of numbers or {{\"q\": […], \"scale\": …}}, found {}", found(v))),
    }
}
