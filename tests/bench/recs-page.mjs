// The recommendations benchmark page (served by bench/recs.mjs, which drives it). For one
// catalogue size, `window.bench.runSize(n, opts)`:
//   1. loads the catalogue into a fresh AttuneSdk (`setCatalog`, timed: JSON when asked, then
//      binary; the binary one is ranked), grants consent, records the visitor's view signals,
//      sets `{"diversity":0}` (like for like with the plain-JS ranker);
//   2. checks the two rankers agree (top-10 overlap; and, with the SDK's own i8 numbers, that
//      every score matches);
//   3. in interleaved rounds, times `sdk.recommend({slot: "home", k: 10})`, the plain-JS ranker,
//      the wasm bandwidth probe (a SIMD sum over the bytes one ranking scans) and a plain JS sum
//      over the JS ranker's bytes;
//   4. times the default config (diversity 0.2: MMR over 30 candidates) for reference.
// Every figure is a median of per-call performance.now() differences (the page is
// cross-origin isolated, so the clock is fine-grained); the floors are timed in batches of calls
// lasting ≥ 1 ms each.

import init, { AttuneSdk } from '/wasm/attune_wasm.js';
import { JsRanker, jsSum } from '/recs-ranker.mjs';

const SITE_CONFIG = JSON.stringify({
  policy: { revision: 1, expiryDays: 365 },
  purposes: [
    {
      id: 'personalization',
      label: 'Personalization',
      description: 'Remembers, on this device, which products you look at to suggest similar ones.',
    },
  ],
  banner: { title: 'Your privacy choices', body: 'Benchmark page.' },
});
const REQUEST = JSON.stringify({ slot: 'home', k: 10 });
const K = 10;

const log = (line) => {
  document.getElementById('log').textContent += `${line}\n`;
};

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const quantile = (values, q) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};
const now = () => performance.now();
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Reads the columns file written by recs-data.mjs `encodeColumns`. */
function readColumns(bytes) {
  const buf = bytes.buffer;
  const head = new Uint32Array(buf, 0, 5);
  const [n, dim, tagsPerItem, tagVocab, nSignals] = head;
  const signals = new Int32Array(new Uint32Array(buf, 20, nSignals));
  let o = 4 * (5 + nSignals);
  const unit = new Float32Array(buf, o, n * dim);
  o += 4 * n * dim;
  const deq = new Float32Array(buf, o, n * dim);
  o += 4 * n * dim;
  const tags = new Int32Array(buf, o, n * tagsPerItem);
  o += 4 * n * tagsPerItem;
  const prior = new Float32Array(buf, o, n);
  return { n, dim, tagsPerItem, tagVocab, signals, unit, deq, tags, prior };
}

const idOf = (i) => `i${String(i).padStart(6, '0')}`;

/** Times `f` in batches of `batch` calls; returns per-call ms of each batch. */
function timeBatches(f, batch, samples) {
  const out = [];
  for (let s = 0; s < samples; s += 1) {
    const t0 = now();
    for (let b = 0; b < batch; b += 1) f();
    out.push((now() - t0) / batch);
  }
  return out;
}
/** How many calls of `f` make a batch of at least `ms`. */
function batchFor(f, ms = 1) {
  let batch = 1;
  for (;;) {
    const t0 = now();
    for (let b = 0; b < batch; b += 1) f();
    const t = now() - t0;
    if (t >= ms || batch >= 1 << 16) return batch;
    batch = Math.max(batch * 2, Math.ceil((batch * ms * 1.2) / Math.max(t, 0.005)));
  }
}

async function runSize(n, opts = {}) {
  const runs = opts.runs ?? (n >= 100_000 ? 60 : 200);
  const rounds = opts.rounds ?? 10;
  const loads = opts.loads ?? 3;
  const warmupMs = opts.warmupMs ?? 400;
  const withJson = opts.json ?? n <= 10_000;
  const cols = readColumns(await fetchBytes(`/data/cols-${n}.bin`));
  const binary = await fetchBytes(`/data/cat-${n}.atcat`);
  const json = withJson ? await fetchBytes(`/data/cat-${n}.json`) : null;
  const warnings = [];
  const sdk = new AttuneSdk('bench-shop', '/v1/batch', SITE_CONFIG, 'memory', (w) => warnings.push(`${w.code}: ${w.message}`), null);
  try {
    sdk.acceptAll('api');
    for (const i of cols.signals) {
      if (sdk.recordSignal(idOf(i), 'view', undefined) !== true) throw new Error('recordSignal was refused');
    }
    sdk.setRecommendConfig('{"diversity":0}');
    const ids = (list) => list.map((r) => r.id);

    // --- loading ---
    const loadMs = { binary: [], json: [] };
    let jsonTop = null;
    let firstJsonCallMs = null;
    if (json) {
      for (let l = 0; l < loads; l += 1) {
        const t0 = now();
        const summary = sdk.setCatalog(json);
        loadMs.json.push(now() - t0);
        if (summary.kept !== n) throw new Error(`JSON catalogue: kept ${summary.kept} of ${n}`);
      }
      const t1 = now();
      jsonTop = ids(sdk.recommend(REQUEST));
      firstJsonCallMs = now() - t1;
    }
    for (let l = 0; l < loads; l += 1) {
      const t0 = now();
      const summary = sdk.setCatalog(binary);
      loadMs.binary.push(now() - t0);
      if (summary.kept !== n) throw new Error(`binary catalogue: kept ${summary.kept} of ${n}`);
    }
    let t0 = now();
    const wasmTop = sdk.recommend(REQUEST);
    const firstCallMs = now() - t0;

    // --- agreement ---
    const weights = new Float32Array(cols.signals.length).fill(1); // fresh views: weight 1 × fade ≈ 1
    const js = new JsRanker(cols, cols.unit);
    const check = new JsRanker(cols, cols.deq);
    const jsTop = js.rank(cols.signals, weights, K);
    const exact = check.rank(cols.signals, weights, K, true);
    const wasmIds = ids(wasmTop);
    const overlap = jsTop.filter((r) => wasmIds.includes(idOf(r.index))).length;
    const exactSame = exact.every((r, j) => idOf(r.index) === wasmIds[j]);
    const maxScoreDiff = Math.max(...exact.map((r, j) => Math.abs(r.score - wasmTop[j].score)));

    // --- the timed rounds ---
    const wasmRank = () => sdk.recommend(REQUEST);
    const jsRank = () => js.rank(cols.signals, weights, K);
    let sink = 0;
    const probe = () => {
      sink += sdk.benchBandwidthProbe()[0];
    };
    const sum = () => {
      sink += jsSum(cols.unit, cols.tags, cols.prior);
    };
    const scannedBytes = sdk.benchBandwidthProbe()[1];
    const jsBytes = 4 * (cols.unit.length + cols.tags.length + cols.prior.length);
    // Warm-up by time, not count: V8 runs new wasm and JS code in its baseline tier first and
    // swaps in optimised code (compiled on background threads) only after enough work, so a
    // fixed handful of calls leaves the 1k case measuring baseline code.
    for (let w = 0, start = now(); w < 10 || now() - start < warmupMs; w += 1) {
      wasmRank();
      jsRank();
      probe();
      sum();
      if (w % 10 === 9) await tick();
    }
    const probeBatch = batchFor(probe);
    const sumBatch = batchFor(sum);
    const t = { wasm: [], js: [], probe: [], sum: [] };
    const per = Math.max(1, Math.round(runs / rounds));
    for (let r = 0; r < rounds; r += 1) {
      for (let j = 0; j < per; j += 1) {
        t0 = now();
        wasmRank();
        t.wasm.push(now() - t0);
      }
      for (let j = 0; j < per; j += 1) {
        t0 = now();
        jsRank();
        t.js.push(now() - t0);
      }
      t.probe.push(...timeBatches(probe, probeBatch, 3));
      t.sum.push(...timeBatches(sum, sumBatch, 3));
      await tick();
    }

    // --- the default config (diversity 0.2), for reference ---
    sdk.setRecommendConfig('{}');
    const defaults = [];
    for (let w = 0; w < 5; w += 1) wasmRank();
    for (let j = 0; j < Math.min(runs, 50); j += 1) {
      t0 = now();
      wasmRank();
      defaults.push(now() - t0);
    }
    sdk.setRecommendConfig('{"diversity":0}');

    const result = {
      n,
      runs: t.wasm.length,
      wasmMs: median(t.wasm),
      wasmMaxMs: Math.max(...t.wasm),
      wasmP99Ms: quantile(t.wasm, 0.99),
      firstCallMs,
      firstJsonCallMs,
      jsMs: median(t.js),
      jsMaxMs: Math.max(...t.js),
      probeMs: median(t.probe),
      probeBatch,
      scannedBytes,
      sumMs: median(t.sum),
      sumBatch,
      jsBytes,
      defaultMs: median(defaults),
      defaultMaxMs: Math.max(...defaults),
      loadBinaryMs: median(loadMs.binary),
      loadBinaryMaxMs: Math.max(...loadMs.binary),
      loadJsonMs: json ? median(loadMs.json) : null,
      loadJsonMaxMs: json ? Math.max(...loadMs.json) : null,
      binaryBytes: binary.length,
      jsonBytes: json ? json.length : null,
      overlap,
      exactSame,
      maxScoreDiff,
      jsonSameAsBinary: jsonTop ? jsonTop.join() === wasmIds.join() : null,
      wasmTop: wasmIds,
      warnings,
      sink,
    };
    log(`${n}: wasm ${result.wasmMs.toFixed(3)} ms, JS ${result.jsMs.toFixed(3)} ms`);
    return result;
  } finally {
    sdk.free();
  }
}

/**
 * For `recs.mjs --profile`: loads size `n` like runSize, then calls the ranker `calls` times
 * (`config`: the ranking config JSON) between the `profile-start` and `profile-end` marks.
 */
async function profileSetup(n, config = '{"diversity":0}') {
  const cols = readColumns(await fetchBytes(`/data/cols-${n}.bin`));
  const sdk = new AttuneSdk('bench-shop', '/v1/batch', SITE_CONFIG, 'memory', null, null);
  sdk.acceptAll('api');
  for (const i of cols.signals) sdk.recordSignal(idOf(i), 'view', undefined);
  sdk.setRecommendConfig(config);
  sdk.setCatalog(await fetchBytes(`/data/cat-${n}.atcat`));
  for (let w = 0; w < 20; w += 1) sdk.recommend(REQUEST);
  profiled = sdk;
}
let profiled = null;
function profileLoop(calls) {
  const times = [];
  for (let c = 0; c < calls; c += 1) {
    const t0 = now();
    profiled.recommend(REQUEST);
    times.push(now() - t0);
  }
  return median(times);
}

await init();
window.bench = { runSize, profileSetup, profileLoop, isolated: globalThis.crossOriginIsolated === true, ua: navigator.userAgent };
document.documentElement.dataset.ready = 'true';
