//! The binary catalogue (`.atcat`): the same content as the JSON form, read without JSON.
//!
//! Little-endian throughout:
//! ```text
//! magic    "ATCAT" 0x00, u16 format (1)
//! header   u32 items, u32 dim, str revision (empty: none)
//! tags     u32 count, then count × str
//! items    per item: str id, str title, str url, str image (empty: none), u8 flags,
//!          [f32 price] [f32 popularity] [u32 category tag], u8 n, n × u32 tag,
//!          [dim × i8 embedding]
//! str      u16 byte length, UTF-8 bytes
//! flags    1 available, 2 price, 4 popularity, 8 embedding, 16 category
//! ```
//! Embeddings are stored as `i8`; their scale is implied (every embedding is unit length).
//! Item problems skip the item, as in JSON; a truncated or malformed file is an error.

use super::catalog::{Catalog, EmbeddingInput, Issues, ItemInput, CATALOG_FORMAT, MAX_DIM, MAX_ITEMS};
use super::RecError;

pub const MAGIC: &[u8; 6] = b"ATCAT\0";

const F_AVAILABLE: u8 = 1;
const F_PRICE: u8 = 2;
const F_POPULARITY: u8 = 4;
const F_EMBEDDING: u8 = 8;
const F_CATEGORY: u8 = 16;

/// Whether `bytes` look like a binary catalogue (rather than JSON).
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], RecError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len());
        let end =
            end.ok_or_else(|| RecError::invalid("catalog", format!("truncated at byte {} (reading {what})", self.at)))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u8(&mut self, what: &str) -> Result<u8, RecError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, RecError> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self, what: &str) -> Result<u32, RecError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn f32(&mut self, what: &str) -> Result<f32, RecError> {
        Ok(f32::from_le_bytes(self.take(4, what)?.try_into().expect("4 bytes")))
    }
    fn str(&mut self, what: &str) -> Result<String, RecError> {
        let n = self.u16(what)? as usize;
        let at = self.at;
        let bytes = self.take(n, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| RecError::invalid("catalog", format!("{what} at byte {at} is not UTF-8")))
    }
}

impl Catalog {
    /// Reads the binary form (see the module docs).
    pub fn from_binary(bytes: &[u8]) -> Result<(Catalog, Issues), RecError> {
        let mut c = Cursor { bytes, at: 0 };
        if c.take(MAGIC.len(), "magic").ok() != Some(MAGIC.as_slice()) {
            return Err(RecError::invalid("catalog", "not a binary catalogue (no ATCAT header)"));
        }
        let format = c.u16("format")?;
        if u64::from(format) != CATALOG_FORMAT {
            return Err(RecError::invalid("format", format!("expected format {CATALOG_FORMAT}, found {format}")));
        }
        let n = c.u32("item count")? as usize;
        if n > MAX_ITEMS {
            return Err(RecError::invalid("items", format!("at most {MAX_ITEMS} items, found {n}")));
        }
        let dim = c.u32("dim")? as usize;
        if dim > MAX_DIM {
            return Err(RecError::invalid("dim", format!("expected at most {MAX_DIM}, found {dim}")));
        }
        let revision = Some(c.str("revision")?).filter(|r| !r.is_empty());
        let n_tags = c.u32("tag count")? as usize;
        // Each tag takes at least 2 bytes: a count beyond the file is a lie, not an allocation.
        if n_tags > bytes.len() / 2 {
            return Err(RecError::invalid("tags", format!("{n_tags} tags cannot fit in {} bytes", bytes.len())));
        }
        let tags = (0..n_tags).map(|_| c.str("tag")).collect::<Result<Vec<_>, _>>()?;
        let mut issues = Issues::default();
        let mut items = Vec::with_capacity(n.min(bytes.len() / 16));
        for k in 0..n {
            let id = c.str("id")?;
            let title = c.str("title")?;
            let url = c.str("url")?;
            let image = Some(c.str("image")?).filter(|s| !s.is_empty());
            let flags = c.u8("flags")?;
            let price = if flags & F_PRICE != 0 { Some(c.f32("price")?) } else { None };
            let popularity = if flags & F_POPULARITY != 0 { Some(c.f32("popularity")?) } else { None };
            let category = if flags & F_CATEGORY != 0 { Some(c.u32("category")?) } else { None };
            let n_own = c.u8("tag count")? as usize;
            let mut own = Vec::with_capacity(n_own);
            for _ in 0..n_own {
                own.push(c.u32("tag")?);
            }
            let embedding = if flags & F_EMBEDDING != 0 {
                Some(EmbeddingInput::I8(c.take(dim, "embedding")?.iter().map(|b| *b as i8).collect()))
            } else {
                None
            };
            let name = |t: u32| tags.get(t as usize).cloned();
            let (Some(own), Some(category)) = (
                own.iter().map(|t| name(*t)).collect::<Option<Vec<_>>>(),
                category.map(name).unwrap_or(Some(String::new())),
            ) else {
                issues.push(format!("items[{k}].tags"), format!("refers to a tag beyond the {n_tags} in the file"));
                issues.skipped += 1;
                continue;
            };
            items.push(ItemInput {
                id,
                title,
                url,
                image,
                category: Some(category).filter(|c| !c.is_empty()),
                tags: own,
                available: flags & F_AVAILABLE != 0,
                price,
                popularity,
                embedding,
                index: k,
            });
        }
        if c.at != bytes.len() {
            return Err(RecError::invalid("catalog", format!("{} bytes after the last item", bytes.len() - c.at)));
        }
        Ok((Catalog::build(revision, dim, items, &mut issues), issues))
    }

    /// Writes the binary form of this catalogue (what `attune-tools pack` publishes). Every
    /// string of a catalogue read by this crate fits the format's 16-bit lengths.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len() * (self.dim + 64));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(CATALOG_FORMAT as u16).to_le_bytes());
        out.extend_from_slice(&(self.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        let str = |out: &mut Vec<u8>, s: &str| {
            let s = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
            out.extend_from_slice(s);
        };
        str(&mut out, self.revision.as_deref().unwrap_or(""));
        out.extend_from_slice(&(self.tags.len() as u32).to_le_bytes());
        for tag in &self.tags {
            str(&mut out, tag);
        }
        for i in 0..self.len() as u32 {
            let text = self.item(i);
            str(&mut out, &text.id);
            str(&mut out, &text.title);
            str(&mut out, &text.url);
            str(&mut out, text.image.as_deref().unwrap_or(""));
            let embedding = self.embedding(i);
            let category = self.category[i as usize];
            let mut flags = if self.is_available(i) { F_AVAILABLE } else { 0 };
            flags |= if text.price.is_some() { F_PRICE } else { 0 };
            flags |= if text.popularity.is_some() { F_POPULARITY } else { 0 };
            flags |= if embedding.is_some() { F_EMBEDDING } else { 0 };
            flags |= if category.is_some() { F_CATEGORY } else { 0 };
            out.push(flags);
            if let Some(price) = text.price {
                out.extend_from_slice(&price.to_le_bytes());
            }
            if let Some(popularity) = text.popularity {
                out.extend_from_slice(&popularity.to_le_bytes());
            }
            if let Some(category) = category {
                out.extend_from_slice(&category.to_le_bytes());
            }
            let own: Vec<u32> = self.tag_slice(i).iter().copied().filter(|t| Some(*t) != category).collect();
            out.push(own.len() as u8);
            for t in own {
                out.extend_from_slice(&t.to_le_bytes());
            }
            if let Some((q, _)) = embedding {
                out.extend(q.iter().map(|b| *b as u8));
            }
        }
        out
    }
}
