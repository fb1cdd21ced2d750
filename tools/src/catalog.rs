//! The Attune catalogue document (format 1), as the tools write and re-read it.
//!
//! The core owns the authoritative reader; this is only the shape, so the tools can write
//! catalogues and set popularity from a training log.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogDoc {
    pub format: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dim: Option<usize>,
    pub items: Vec<CatalogItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub available: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl CatalogItem {
    pub fn new(id: impl Into<String>) -> CatalogItem {
        CatalogItem {
            id: id.into(),
            title: None,
            url: None,
            image: None,
            category: None,
            tags: Vec::new(),
            available: true,
            price: None,
            popularity: None,
            embedding: None,
        }
    }
}

impl CatalogDoc {
    pub fn item_ids(&self) -> Vec<String> {
        self.items.iter().map(|i| i.id.clone()).collect()
    }

    /// A copy whose popularity is `counts[i]` for item `i` (0 included, so no item keeps a
    /// stale figure).
    pub fn with_popularity(&self, counts: &[f64]) -> CatalogDoc {
        let mut doc = self.clone();
        for (item, &count) in doc.items.iter_mut().zip(counts) {
            item.popularity = Some(count);
        }
        doc
    }
}
