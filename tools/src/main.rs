//! `attune-tools`: offline recommender work (see `docs/recommendations-eval.md`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use attune_core::recommend::MAX_K;
use attune_tools::catalog::CatalogDoc;
use attune_tools::eval::attune::AttuneModel;
use attune_tools::eval::protocol::{self, AttuneKnobs, EvalOptions};
use attune_tools::events::{parse_events, Dataset};
use attune_tools::neighbours::{build, to_json, NeighbourOptions, Normalise};
use attune_tools::{ml100k, replay};
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "attune-tools", about = "Offline recommender tools for Attune")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Converts RecBole's MovieLens 100K files into catalog.json and events.csv.
    Ml100k {
        /// Directory holding ml-100k.inter and ml-100k.item.
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Builds the neighbours sidecar from an events log.
    Neighbours {
        /// `user,item,timestamp[,event]` CSV (Unix ms; header optional).
        #[arg(long)]
        events: PathBuf,
        /// Only items of this catalogue (events on others are dropped).
        #[arg(long)]
        catalog: Option<PathBuf>,
        #[command(flatten)]
        builder: BuilderArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Converts a JSON catalogue into the binary form (`.atcat`) for large catalogues. Bad
    /// items are reported and left out, exactly as the browser would.
    Pack {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Leave-last-out evaluation: popularity, item-kNN and Attune.
    Eval {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long)]
        events: PathBuf,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// Also write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Use the default knobs instead of searching the grid on validation.
        #[arg(long)]
        no_tune: bool,
        /// Passes of the coordinate search over the grid.
        #[arg(long, default_value_t = 2)]
        passes: usize,
        /// Exit non-zero unless Attune's test HR@k is above item-kNN's.
        #[arg(long)]
        require_attune_above_knn: bool,
    },
    /// Replays each user's events through the Attune core and writes their top k.
    Replay {
        #[arg(long)]
        catalog: PathBuf,
        #[arg(long)]
        events: PathBuf,
        #[arg(long)]
        neighbours: Option<PathBuf>,
        /// Ranking config JSON (default: the core's defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, default_value_t = 10)]
        k: usize,
        /// `user,item,rank` CSV.
        #[arg(long)]
        out: PathBuf,
    },
}

/// The builder's knobs; defaults are [`NeighbourOptions::default`] (chosen on validation).
#[derive(Args)]
struct BuilderArgs {
    /// Neighbours kept per item (the core reads at most 200).
    #[arg(long, default_value_t = NeighbourOptions::default().k)]
    k: usize,
    /// Weight of sequential proximity against co-occurrence.
    #[arg(long, default_value_t = NeighbourOptions::default().sequence_weight)]
    sequence_weight: f64,
    /// Steps apart within which two items count as sequential neighbours.
    #[arg(long, default_value_t = NeighbourOptions::default().window)]
    window: usize,
    /// Weight of a pair d steps apart: decay^(d-1).
    #[arg(long, default_value_t = NeighbourOptions::default().decay)]
    decay: f64,
    /// Weight of "b came before a" relative to "b came after a".
    #[arg(long, default_value_t = NeighbourOptions::default().backward)]
    backward: f64,
    /// Popularity damping of neighbours (0.5: cosine; higher favours rarer neighbours).
    #[arg(long, default_value_t = NeighbourOptions::default().alpha)]
    alpha: f64,
    /// A user's pairs count 1 / (distinct items)^this.
    #[arg(long, default_value_t = NeighbourOptions::default().user_damping)]
    user_damping: f64,
    #[arg(long, value_enum, default_value_t = NeighbourOptions::default().normalise)]
    normalise: Normalise,
}

impl BuilderArgs {
    fn options(&self) -> NeighbourOptions {
        NeighbourOptions {
            k: self.k,
            sequence_weight: self.sequence_weight,
            window: self.window,
            decay: self.decay,
            backward: self.backward,
            alpha: self.alpha,
            user_damping: self.user_damping,
            normalise: self.normalise,
        }
    }
}

type Result<T> = std::result::Result<T, String>;

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_catalog(path: &Path) -> Result<CatalogDoc> {
    serde_json::from_str(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a log, reporting skipped rows on stderr, grouped against `items` when given.
fn read_dataset(path: &Path, items: Option<Vec<String>>) -> Result<Dataset> {
    let (events, issues) = parse_events(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    for issue in issues.iter().take(20) {
        eprintln!("{}: skipped {issue}", path.display());
    }
    if issues.len() > 20 {
        eprintln!("{}: … and {} more skipped rows", path.display(), issues.len() - 20);
    }
    let data = Dataset::from_events(events, items);
    if data.unknown_item_events > 0 {
        eprintln!("{}: dropped {} events on items not in the catalogue", path.display(), data.unknown_item_events);
    }
    eprintln!(
        "{}: {} events, {} users, {} items",
        path.display(),
        data.event_count(),
        data.users.len(),
        data.items.len()
    );
    Ok(data)
}

/// Catalogue ids, each once (a repeated id keeps its first position).
fn unique_ids(catalog: &CatalogDoc) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    catalog.item_ids().into_iter().filter(|id| seen.insert(id.clone())).collect()
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Ml100k { dir, out } => {
            let converted = ml100k::convert(&dir).map_err(|e| e.to_string())?;
            let catalog = serde_json::to_string(&converted.catalog).expect("a catalogue serialises");
            write(&out.join("catalog.json"), &catalog)?;
            write(&out.join("events.csv"), &converted.events_csv)?;
            eprintln!(
                "wrote {} items, {} events of {} users to {}",
                converted.catalog.items.len(),
                converted.events,
                converted.users,
                out.display()
            );
        }
        Command::Pack { catalog, out } => {
            let (parsed, issues) = attune_core::recommend::Catalog::from_json(&read(&catalog)?)
                .map_err(|e| format!("{}: {e}", catalog.display()))?;
            for issue in &issues.listed {
                eprintln!("{}: {}: {}", catalog.display(), issue.field, issue.message);
            }
            if issues.more > 0 {
                eprintln!("{}: … and {} more problems", catalog.display(), issues.more);
            }
            let bytes = parsed.to_binary();
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(&out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
            eprintln!(
                "wrote {} items ({} skipped), {} bytes to {}",
                parsed.len(),
                issues.skipped,
                bytes.len(),
                out.display()
            );
        }
        Command::Neighbours { events, catalog, builder, out } => {
            let opts = builder.options();
            opts.validate()?;
            let items = catalog.as_deref().map(read_catalog).transpose()?.map(|c| unique_ids(&c));
            let data = read_dataset(&events, items)?;
            let sequences: Vec<Vec<u32>> =
                data.users.iter().map(|u| u.interactions.iter().map(|i| i.item).collect()).collect();
            let lists = build(&sequences, data.items.len(), &opts);
            write(&out, &to_json(&lists, &data.items, opts.k))?;
            let links: usize = lists.iter().map(Vec::len).sum();
            eprintln!(
                "wrote {links} links for {} items to {}",
                lists.iter().filter(|l| !l.is_empty()).count(),
                out.display()
            );
        }
        Command::Eval { catalog, events, k, json, no_tune, passes, require_attune_above_knn } => {
            if !(1..=MAX_K).contains(&k) {
                return Err(format!("--k must be from 1 to {MAX_K} (the core's limit)"));
            }
            let doc = read_catalog(&catalog)?;
            let data = read_dataset(&events, Some(unique_ids(&doc)))?;
            let opts = EvalOptions { k, tune: !no_tune, start: AttuneKnobs::default(), passes };
            let report = protocol::run(&doc, &data, &opts).map_err(|e| e.to_string())?;
            print!("{}", report.to_markdown());
            if let Some(path) = json {
                write(&path, &serde_json::to_string_pretty(&report).expect("a report serialises"))?;
            }
            if require_attune_above_knn {
                let hr = |prefix| report.row(prefix).map_or(0.0, |r| r.test.hr);
                let (attune, knn) = (hr("Attune"), hr("item-kNN"));
                if attune <= knn {
                    return Err(format!("Attune's test HR@{k} ({attune:.4}) is not above item-kNN's ({knn:.4})"));
                }
                eprintln!("ok: Attune's test HR@{k} ({attune:.4}) is above item-kNN's ({knn:.4})");
            }
        }
        Command::Replay { catalog, events, neighbours, config, k, out } => {
            if !(1..=MAX_K).contains(&k) {
                return Err(format!("--k must be from 1 to {MAX_K} (the core's limit)"));
            }
            let catalog_json = read(&catalog)?;
            let doc: CatalogDoc =
                serde_json::from_str(&catalog_json).map_err(|e| format!("{}: {e}", catalog.display()))?;
            let neighbours = neighbours.as_deref().map(read).transpose()?;
            let config = config.as_deref().map(read).transpose()?;
            let mut model =
                AttuneModel::new(&catalog_json, neighbours.as_deref(), config.as_deref()).map_err(|e| e.to_string())?;
            for warning in &model.warnings {
                eprintln!("warning: {warning}");
            }
            let data = read_dataset(&events, Some(unique_ids(&doc)))?;
            write(&out, &replay::replay(&mut model, &data, k).map_err(|e| e.to_string())?)?;
            if model.unknown_kinds > 0 {
                eprintln!("{}: {} events of unknown kinds replayed as view", events.display(), model.unknown_kinds);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("attune-tools: {message}");
            ExitCode::FAILURE
        }
    }
}
