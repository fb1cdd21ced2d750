//! Loopback load test: starts the collector in-process on 127.0.0.1:0 with
//! a temporary SQLite file and no rate limits, sends realistic batches over
//! keep-alive connections, and reports throughput, latency and whether every
//! event made it into the database.
//!
//! ```sh
//! cargo run --release -p attune-collector --example load -- --batches 2000 --events-per-batch 50 --concurrency 16
//! ```
//!
//! Exits non-zero if any request failed or any event is missing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use attune_collector::{build_app, serve, AppState, Config, Store};
use axum::body::Bytes;
use axum::http::{Request, StatusCode};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Parser)]
#[command(about = "Loopback load test for attune-collector")]
struct Args {
    /// Batches to send in total.
    #[arg(long, default_value_t = 2000)]
    batches: usize,
    /// Events in each batch (1-500).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=500))]
    events_per_batch: u16,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
}

/// What one request came back with.
struct Sample {
    latency: Duration,
    ok: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let per_batch = usize::from(args.events_per_batch);
    let dir = std::env::temp_dir().join(format!("attune-collector-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let db: PathBuf = dir.join("load.sqlite");

    let config = Config { db: db.clone(), rate_per_site: None, rate_per_device: None, ..Config::default() };
    let store = Arc::new(Store::open(&db)?);
    let app = build_app(AppState::new(&config, store.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, app, async {
        let _ = stopped.await;
    }));

    // Bodies are built before the clock starts, so the client spends its
    // CPU time on HTTP only.
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos() as u64;
    let bodies: Arc<Vec<Bytes>> =
        Arc::new((0..args.batches).map(|b| Bytes::from(batch_body(seed, b, per_batch).to_string())).collect());
    let wire_bytes: usize = bodies.iter().map(Bytes::len).sum();

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> =
        (0..args.concurrency).map(|_| tokio::spawn(worker(addr, bodies.clone(), next.clone(), per_batch))).collect();
    let mut samples = Vec::with_capacity(args.batches);
    for worker in workers {
        samples.extend(worker.await??);
    }
    let elapsed = started.elapsed();

    let _ = stop.send(());
    server.await??;
    match Arc::try_unwrap(store) {
        Ok(store) => store.close()?,
        Err(_) => return Err("store still shared after shutdown".into()),
    }
    let stored: u64 = rusqlite::Connection::open(&db)?.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    std::fs::remove_dir_all(&dir)?;

    let sent = (args.batches * per_batch) as u64;
    let failed = samples.iter().filter(|s| !s.ok).count();
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        let i = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    let lost = sent.saturating_sub(stored);

    println!(
        "batches: {} × {} events, concurrency {}, {:.1} MiB JSON",
        args.batches,
        per_batch,
        args.concurrency,
        wire_bytes as f64 / 1_048_576.0
    );
    println!("total events: {sent}");
    println!("elapsed: {:.2} s", elapsed.as_secs_f64());
    println!("events/s: {:.0}", sent as f64 / elapsed.as_secs_f64());
    println!("batches/s: {:.0}", args.batches as f64 / elapsed.as_secs_f64());
    println!("latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}", pct(0.50), pct(0.90), pct(0.99), pct(1.0));
    println!("failed requests: {failed}");
    println!("stored: {stored}");
    println!("lost: {lost}");
    Ok(failed == 0 && lost == 0 && stored == sent)
}

/// Sends batches over one keep-alive connection until none are left.
async fn worker(
    addr: SocketAddr,
    bodies: Arc<Vec<Bytes>>,
    next: Arc<AtomicUsize>,
    per_batch: usize,
) -> Result<Vec<Sample>, Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let host = addr.to_string();
    let mut samples = Vec::new();
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = bodies.get(i) else {
            return Ok(samples);
        };
        let request = Request::post("/v1/batch")
            .header("host", &host)
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))?;
        let sent = Instant::now();
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let reply = response.into_body().collect().await?.to_bytes();
        let latency = sent.elapsed();
        let ok = status == StatusCode::OK
            && serde_json::from_slice::<Value>(&reply)
                .is_ok_and(|v| v["accepted"] == per_batch && v["rejected"] == json!([]));
        if !ok {
            eprintln!("batch {i}: {status} {}", String::from_utf8_lossy(&reply));
        }
        samples.push(Sample { latency, ok });
    }
}

/// One realistic batch: page views, product views and cart adds with the
/// props a shop would send; unique ids per run.
fn batch_body(seed: u64, batch: usize, events: usize) -> Value {
    const CATEGORIES: [&str; 5] = ["shoes", "outdoor", "kitchen", "books", "garden"];
    // Captured an hour ago, a second apart: recent enough to be inside any retention period.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let ts = now - 3_600_000 + batch as i64 * 1000;
    let events: Vec<Value> = (0..events)
        .map(|e| {
            let n = (batch * 1000 + e) as u64;
            let product = (n.wrapping_mul(2_654_435_761) % 5000) as usize;
            let category = CATEGORIES[product % CATEGORIES.len()];
            let (name, props) = match e % 4 {
                0 => ("page_view", json!({"path": format!("/c/{category}"), "referrer": "internal"})),
                1 | 2 => (
                    "product_view",
                    json!({"path": format!("/p/{product}"), "productId": format!("sku-{product}"), "category": category, "price": (product % 200) as f64 + 0.99}),
                ),
                _ => (
                    "add_to_cart",
                    json!({"productId": format!("sku-{product}"), "category": category, "qty": 1 + e % 3, "onSale": product.is_multiple_of(7)}),
                ),
            };
            let mut event = json!({
                "id": format!("{seed:016x}{n:016x}"),
                "name": name,
                "purpose": if e % 4 == 3 { "personalization" } else { "analytics" },
                "ts": ts + e as i64,
                "props": props
            });
            if e % 4 == 3 {
                event["pid"] = json!(format!("{:032x}", u128::from(seed) << 64 | u128::from(batch as u64)));
            }
            event
        })
        .collect();
    json!({
        "v": 1,
        "siteId": "demo-shop",
        "sentAt": ts + 5000,
        "consent": {"receiptHash": format!("{:064x}", batch % 8), "granted": ["necessary", "analytics", "personalization"]},
        "events": events
    })
}
