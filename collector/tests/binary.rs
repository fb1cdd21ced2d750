//! Runs the real `attune-collector` binary on an ephemeral port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Collector {
    child: Child,
    port: u16,
}

impl Collector {
    /// Starts the binary with `args` and waits for its "listening" line.
    fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// Like [`Collector::start`], with extra environment variables.
    fn start_with_env(args: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::spawn(args, envs, "error", Stdio::inherit())
    }

    /// Starts the binary with `RUST_LOG=log_level` and its stderr going to `stderr`.
    fn spawn(args: &[&str], envs: &[(&str, &str)], log_level: &str, stderr: Stdio) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_attune-collector"));
        for (key, _) in std::env::vars() {
            if key.starts_with("ATTUNE_") {
                cmd.env_remove(key);
            }
        }
        let mut child = cmd
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", log_level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn attune-collector");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let prefix = "attune-collector listening on http://127.0.0.1:";
        let port = line
            .trim_end()
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .parse()
            .unwrap();
        assert_ne!(port, 0, "the actual port is printed, not 0");
        Self { child, port }
    }

    /// One HTTP/1.1 request; returns (status, body).
    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, body.to_owned())
    }

    /// Sends SIGTERM without waiting.
    fn signal_term(&self) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
    }

    /// Sends SIGTERM, waits for the exit, and hands back the child process.
    fn wait_exit_child_after_term(self) -> (bool, Child) {
        self.signal_term();
        self.wait_exit_child()
    }

    /// Sends SIGTERM and returns whether it exited successfully in time.
    fn terminate(self) -> bool {
        self.signal_term();
        self.wait_exit()
    }

    /// Waits up to 10 s for the process to exit; true if it exited cleanly.
    fn wait_exit(self) -> bool {
        self.wait_exit_child().0
    }

    /// Like [`Collector::wait_exit`], also handing back the child process.
    fn wait_exit_child(mut self) -> (bool, Child) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.success(), self.child);
            }
            if Instant::now() > deadline {
                self.child.kill().unwrap();
                self.child.wait().unwrap();
                return (false, self.child);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn batch(ids: &[&str]) -> String {
    let events: Vec<Value> = ids
        .iter()
        .map(|id| json!({"id": id, "name": "page_view", "purpose": "analytics", "ts": now_ms() - 60_000, "props": {}}))
        .collect();
    json!({
        "v": 1,
        "siteId": "demo-shop",
        "sentAt": now_ms(),
        "consent": {"receiptHash": "e".repeat(64), "granted": ["analytics"]},
        "events": events
    })
    .to_string()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("attune-collector-bin-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("collector.sqlite")
}

fn event_ids(collector: &Collector) -> Vec<String> {
    let (status, body) = collector.request("GET", "/__test/events", "");
    assert_eq!(status, 200, "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    json["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect()
}

/// Event ids read straight from the database file, with the collector stopped.
fn ids_in_db(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM events ORDER BY rowid").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

fn remove_db_dir(db: &Path) {
    std::fs::remove_dir_all(db.parent().unwrap()).unwrap();
}

#[test]
fn binary_serves_on_port_zero_and_keeps_events_across_a_sigterm_restart() {
    let db = temp_db("restart");
    let db_arg = db.to_str().unwrap();
    let id_a = "a".repeat(32);
    let id_b = "b".repeat(32);

    let collector = Collector::start(&["--port", "0", "--db", db_arg, "--test-api"]);
    assert_eq!(collector.request("GET", "/healthz", ""), (200, "ok".to_owned()));
    let (status, body) = collector.request("POST", "/v1/batch", &batch(&[&id_a]));
    assert_eq!((status, body.as_str()), (200, r#"{"accepted":1,"duplicates":0,"suppressed":0,"rejected":[]}"#));
    assert!(collector.terminate(), "clean exit on SIGTERM");

    let collector = Collector::start(&["--port", "0", "--db", db_arg, "--test-api"]);
    let (status, body) = collector.request("POST", "/v1/batch", &batch(&[&id_a, &id_b]));
    assert_eq!((status, body.as_str()), (200, r#"{"accepted":1,"duplicates":1,"suppressed":0,"rejected":[]}"#));
    assert_eq!(event_ids(&collector), [id_a, id_b]);
    assert!(collector.terminate());
    remove_db_dir(&db);
}

#[test]
fn a_request_in_flight_at_sigterm_is_finished_and_stored() {
    let db = temp_db("in-flight");
    let db_arg = db.to_str().unwrap();
    let collector = Collector::start(&["--port", "0", "--db", db_arg, "--test-api"]);

    let body = batch(&[&"f".repeat(32)]);
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", collector.port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{first}", body.len())
        .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    collector.signal_term();
    std::thread::sleep(Duration::from_millis(200));
    // Shutting down: new connections are refused...
    assert!(TcpStream::connect(("127.0.0.1", collector.port)).is_err());
    // ...but the request already in flight completes.
    stream.write_all(rest.as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 "), "{reply}");
    assert!(reply.ends_with(r#"{"accepted":1,"duplicates":0,"suppressed":0,"rejected":[]}"#), "{reply}");
    assert!(collector.wait_exit(), "clean exit after the in-flight request");

    let collector = Collector::start(&["--port", "0", "--db", db_arg, "--test-api"]);
    assert_eq!(event_ids(&collector), ["f".repeat(32)]);
    assert!(collector.terminate());
    remove_db_dir(&db);
}

#[test]
fn binary_reads_options_from_env_and_keeps_the_test_api_off_by_default() {
    let collector = Collector::start_with_env(
        &[],
        &[("ATTUNE_PORT", "0"), ("ATTUNE_DB", ":memory:"), ("ATTUNE_SITE_IDS", "other-shop,demo-shop")],
    );
    let (status, _) = collector.request("GET", "/__test/events", "");
    assert_eq!(status, 404);
    let (status, body) = collector.request("POST", "/v1/batch", &batch(&[&"c".repeat(32)]));
    assert_eq!(status, 200, "{body}");
    let unknown = batch(&[&"d".repeat(32)]).replace("demo-shop", "third-shop");
    let (status, body) = collector.request("POST", "/v1/batch", &unknown);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("unknown_site"), "{body}");
    assert!(collector.terminate());
}

#[test]
fn binary_refuses_bad_options_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_attune-collector"))
        .args(["--db", ":memory:", "--site-id", "not valid!"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid site id"), "{stderr}");
    assert!(out.stdout.is_empty(), "no listening line on failure");
}

#[test]
fn sigterm_after_a_batch_leaves_it_committed_and_the_database_closed_cleanly() {
    let db = temp_db("clean-close");
    let collector = Collector::start(&["--port", "0", "--db", db.to_str().unwrap()]);
    let ids: Vec<String> = (0..50).map(|i| format!("{i:032x}")).collect();
    let (status, body) =
        collector.request("POST", "/v1/batch", &batch(&ids.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!((status, body.as_str()), (200, r#"{"accepted":50,"duplicates":0,"suppressed":0,"rejected":[]}"#));
    assert!(collector.terminate(), "clean exit on SIGTERM");
    // Closing checkpointed the write-ahead log into the main file.
    let wal = db.with_file_name("collector.sqlite-wal");
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0, "WAL left behind at {}", wal.display());
    assert_eq!(ids_in_db(&db), ids);
    remove_db_dir(&db);
}

#[test]
fn json_logs_have_one_structured_line_per_batch() {
    let collector = Collector::spawn(
        &["--port", "0", "--db", ":memory:", "--log-format", "json"],
        &[],
        "attune_collector=info",
        Stdio::piped(),
    );
    let mut body = batch(&[&"a".repeat(32), &"b".repeat(32)]);
    body = body.replacen(r#""purpose":"analytics""#, r#""purpose":"ads""#, 1);
    let (status, reply) = collector.request("POST", "/v1/batch", &body);
    assert_eq!(status, 200, "{reply}");
    let (clean, mut child) = collector.wait_exit_child_after_term();
    assert!(clean);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    let batch_lines: Vec<&Value> = lines.iter().filter(|l| l["message"] == "batch").collect();
    assert_eq!(batch_lines.len(), 1, "{stderr}");
    let line = batch_lines[0];
    assert_eq!(line["site_id"], "demo-shop");
    assert_eq!((&line["accepted"], &line["duplicates"], &line["rejected"]), (&json!(1), &json!(0), &json!(1)));
    assert_eq!(line["bytes"], json!(body.len()));
    assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    assert_eq!(line["level"], "INFO");
}

#[test]
fn binary_refuses_a_bad_site_config_with_a_clear_message() {
    let db = temp_db("bad-site-config");
    let site_config = db.with_file_name("attune-config.json");
    std::fs::write(&site_config, r#"{"collect": {"analytics": {"retentionDays": 0, "events": {}}}}"#).unwrap();
    for path in [site_config.clone(), db.with_file_name("missing.json")] {
        let out = Command::new(env!("CARGO_BIN_EXE_attune-collector"))
            .args(["--db", ":memory:", "--port", "0", "--site-config", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("site config") && stderr.contains(path.to_str().unwrap()), "{stderr}");
        assert!(out.stdout.is_empty(), "no listening line on failure");
    }
    let stderr = String::from_utf8_lossy(
        &Command::new(env!("CARGO_BIN_EXE_attune-collector"))
            .args(["--db", ":memory:", "--site-config", site_config.to_str().unwrap()])
            .output()
            .unwrap()
            .stderr,
    )
    .into_owned();
    assert!(stderr.contains("collect.analytics.retentionDays"), "names the bad key: {stderr}");
    remove_db_dir(&db);
}

#[test]
fn rights_requests_are_answered_and_logged_without_personal_data() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::{Signature, SigningKey};
    use sha2::{Digest, Sha256};

    let db = temp_db("rights");
    let site_config = db.with_file_name("attune-config.json");
    std::fs::write(&site_config, r#"{"collect": {"analytics": {"retentionDays": 10, "events": {"page_view": {}}}}}"#)
        .unwrap();
    let collector = Collector::spawn(
        &[
            "--port",
            "0",
            "--db",
            db.to_str().unwrap(),
            "--log-format",
            "json",
            "--site-config",
            site_config.to_str().unwrap(),
        ],
        &[("ATTUNE_RETENTION_INTERVAL", "0")],
        "attune_collector=debug",
        Stdio::piped(),
    );

    let key = SigningKey::from_slice(&[5; 32]).unwrap();
    let point = key.verifying_key().to_sec1_point(false);
    let key_hash: String = Sha256::digest(point.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let public_key = URL_SAFE_NO_PAD.encode(point.as_bytes());
    let pid = "7".repeat(32);
    let mut body: Value = serde_json::from_str(&batch(&[&"a".repeat(32)])).unwrap();
    body["device"] = json!(key_hash);
    body["events"][0]["pid"] = json!(pid);
    let (status, reply) = collector.request("POST", "/v1/batch", &body.to_string());
    assert_eq!((status, reply.as_str()), (200, r#"{"accepted":1,"duplicates":0,"suppressed":0,"rejected":[]}"#));

    let (at, nonce) = (now_ms(), "0123456789abcdef".repeat(2));
    let message = format!("attune-rights/1\nerase\ndemo-shop\n{at}\n{nonce}\n{public_key}");
    let signature: Signature = key.sign(message.as_bytes());
    let request = json!({
        "v": 1, "siteId": "demo-shop", "action": "erase", "at": at, "nonce": nonce,
        "publicKey": public_key, "signature": URL_SAFE_NO_PAD.encode(signature.to_bytes()),
    });
    let (status, reply) = collector.request("POST", "/v1/rights/erase", &request.to_string());
    assert_eq!(status, 200, "{reply}");
    let receipt: Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(receipt["deleted"], json!({"events": 1, "receipts": 1, "pseudonymousIds": 1}));
    let (status, reply) = collector.request("POST", "/v1/batch", &body.to_string());
    assert_eq!((status, reply.as_str()), (200, r#"{"accepted":0,"duplicates":0,"suppressed":1,"rejected":[]}"#));
    let (status, reply) =
        collector.request("POST", "/v1/rights/export", &json!({"siteId": "demo-shop", "device": key_hash}).to_string());
    assert_eq!(status, 403, "{reply}");
    assert!(reply.contains("proof_required"), "{reply}");

    let (clean, mut child) = collector.wait_exit_child_after_term();
    assert!(clean);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let lines: Vec<Value> = stderr.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let find = |message: &str| lines.iter().filter(|l| l["message"] == message).collect::<Vec<_>>();
    let rights = find("rights");
    assert_eq!(rights.len(), 1, "{stderr}");
    assert_eq!((&rights[0]["action"], &rights[0]["site_id"]), (&json!("erase"), &json!("demo-shop")));
    assert_eq!(
        (&rights[0]["events"], &rights[0]["receipts"], &rights[0]["pseudonymous_ids"]),
        (&json!(1), &json!(1), &json!(1))
    );
    let retention = find("retention");
    assert_eq!(retention.len(), 1, "once at start-up, then never (interval 0): {stderr}");
    assert_eq!(retention[0]["events"], 0);
    let started = find("collector started");
    assert_eq!(started[0]["default_retention_days"], 30);
    assert!(started[0]["retention_days"].as_str().unwrap().contains("\"analytics\": 10"), "{}", started[0]);
    assert_eq!(find("batch")[1]["suppressed"], 1);
    for secret in [&key_hash, &pid, &public_key] {
        assert!(!stderr.contains(secret.as_str()), "{secret} must not be logged: {stderr}");
    }
    remove_db_dir(&db);
}

#[test]
fn the_retention_job_runs_at_start_up_then_every_interval_and_stops_on_shutdown() {
    let db = temp_db("retention-interval");
    let collector = Collector::spawn(
        &["--port", "0", "--db", db.to_str().unwrap(), "--log-format", "json", "--retention-interval", "1"],
        &[],
        "attune_collector=info",
        Stdio::piped(),
    );
    std::thread::sleep(Duration::from_millis(1500));
    let (clean, mut child) = collector.wait_exit_child_after_term();
    assert!(clean, "a clean exit with the job's timer pending");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let runs = stderr.lines().filter(|l| l.contains(r#""message":"retention""#)).count();
    assert_eq!(runs, 2, "{stderr}");
    assert!(stderr.contains("collector stopped") && !stderr.contains("still in use"), "closed cleanly: {stderr}");
    remove_db_dir(&db);
}
