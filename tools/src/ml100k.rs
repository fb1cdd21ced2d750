//! MovieLens 100K, as RecBole's atomic files ship it (`ml-100k.inter`, `ml-100k.item`), into an
//! Attune catalogue and an events CSV.
//!
//! Ratings become implicit feedback: every rating is a `view`, whatever its value. Timestamps
//! are Unix seconds in the source and milliseconds in the output. Popularity is left out of the
//! catalogue on purpose: the evaluation sets it from the training part of the log only.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::catalog::{CatalogDoc, CatalogItem};
use crate::csv::escape;

#[derive(Debug, thiserror::Error)]
pub enum Ml100kError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: the header has no `{column}` column")]
    MissingColumn { path: PathBuf, column: &'static str },
    #[error("{path} line {line}: {message}")]
    Row { path: PathBuf, line: usize, message: String },
}

/// What the conversion produced.
pub struct Converted {
    pub catalog: CatalogDoc,
    /// `user,item,timestamp,event` with a header line.
    pub events_csv: String,
    pub events: usize,
    pub users: usize,
}

/// An atomic file: tab-separated, a header of `name:type` columns.
struct Atomic {
    path: PathBuf,
    columns: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Atomic {
    fn read(path: PathBuf) -> Result<Atomic, Ml100kError> {
        let text = std::fs::read_to_string(&path).map_err(|source| Ml100kError::Read { path: path.clone(), source })?;
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let columns = lines
            .next()
            .map(|(_, header)| {
                header.split('\t').map(|c| c.split(':').next().unwrap_or("").trim().to_owned()).collect()
            })
            .unwrap_or_default();
        let rows = lines.map(|(i, l)| (i + 1, l.split('\t').map(str::to_owned).collect())).collect();
        Ok(Atomic { path, columns, rows })
    }

    fn column(&self, name: &'static str) -> Result<usize, Ml100kError> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or(Ml100kError::MissingColumn { path: self.path.clone(), column: name })
    }

    fn field<'a>(&self, line: usize, row: &'a [String], index: usize) -> Result<&'a str, Ml100kError> {
        row.get(index).map(|f| f.trim()).ok_or_else(|| Ml100kError::Row {
            path: self.path.clone(),
            line,
            message: format!("expected {} fields, found {}", self.columns.len(), row.len()),
        })
    }
}

/// Title with the release year appended when the source has one and the title lacks it.
fn display_title(title: &str, year: &str) -> String {
    let year_ok = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
    if year_ok && !title.ends_with(&format!("({year})")) {
        format!("{title} ({year})")
    } else {
        title.to_owned()
    }
}

/// Converts the extracted `ml-100k` directory.
pub fn convert(dir: &Path) -> Result<Converted, Ml100kError> {
    let items = Atomic::read(dir.join("ml-100k.item"))?;
    let (id_col, title_col, year_col, class_col) =
        (items.column("item_id")?, items.column("movie_title")?, items.column("release_year")?, items.column("class")?);
    let mut catalog_items = Vec::with_capacity(items.rows.len());
    for (line, row) in &items.rows {
        let id = items.field(*line, row, id_col)?;
        if id.is_empty() {
            return Err(Ml100kError::Row { path: items.path.clone(), line: *line, message: "empty item_id".into() });
        }
        let mut item = CatalogItem::new(id);
        item.title = Some(display_title(items.field(*line, row, title_col)?, items.field(*line, row, year_col)?));
        item.url = Some(format!("/movie/{id}"));
        // "unknown" is MovieLens' placeholder for a missing genre, not a genre.
        item.tags = items
            .field(*line, row, class_col)?
            .split_whitespace()
            .map(str::to_lowercase)
            .filter(|t| t != "unknown")
            .collect();
        catalog_items.push(item);
    }

    let inter = Atomic::read(dir.join("ml-100k.inter"))?;
    let (user_col, item_col, ts_col) = (inter.column("user_id")?, inter.column("item_id")?, inter.column("timestamp")?);
    let mut csv = String::from("user,item,timestamp,event\n");
    let mut users = std::collections::HashSet::new();
    for (line, row) in &inter.rows {
        let user = inter.field(*line, row, user_col)?;
        let item = inter.field(*line, row, item_col)?;
        let ts = inter.field(*line, row, ts_col)?;
        let seconds =
            ts.parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).ok_or_else(|| Ml100kError::Row {
                path: inter.path.clone(),
                line: *line,
                message: format!("timestamp {ts:?} is not a number"),
            })?;
        let millis = (seconds * 1000.0).round() as i64;
        writeln!(csv, "{},{},{millis},view", escape(user), escape(item)).expect("writing to a String");
        users.insert(user.to_owned());
    }
    Ok(Converted {
        catalog: CatalogDoc { format: 1, revision: Some("ml-100k".into()), dim: None, items: catalog_items },
        events_csv: csv,
        events: inter.rows.len(),
        users: users.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_get_the_year_once() {
        assert_eq!(display_title("Toy Story", "1995"), "Toy Story (1995)");
        assert_eq!(display_title("Land Before Time III (1995)", "V"), "Land Before Time III (1995)");
        assert_eq!(display_title("X (1995)", "1995"), "X (1995)");
    }

    #[test]
    fn converts_a_tiny_directory() {
        let dir = std::env::temp_dir().join(format!("attune-ml100k-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("ml-100k.item"),
            "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n\
             1\tToy Story\t1995\tAnimation Children's Comedy\n267\tunkonwn\tunkonwn\tunknown\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("ml-100k.inter"),
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n196\t1\t3\t881250949\n",
        )
        .unwrap();
        let out = convert(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(out.catalog.items[0].tags, ["animation", "children's", "comedy"]);
        assert_eq!(out.catalog.items[0].url.as_deref(), Some("/movie/1"));
        assert!(out.catalog.items[1].tags.is_empty());
        assert_eq!(out.events_csv, "user,item,timestamp,event\n196,1,881250949000,view\n");
        assert_eq!((out.events, out.users), (1, 1));
    }
}
