#!/usr/bin/env node
// Recommendations: ranking speed in a real browser. NOT a test: it prints figures and whether
// issue 5's targets are met, and exits 0 either way (non-zero only if it could not run).
//
//   1. Builds the wasm into a bench-private directory (.tmp/bench-recs/wasm): cargo
//      (`wasm-release` profile, +simd128), wasm-bindgen --target web, wasm-opt -Oz with the same
//      flags as scripts/build-sdk.sh — the module the package ships, not js-wrapper/wasm.
//   2. Generates deterministic catalogues (bench/recs-data.mjs) of 1k, 10k and 100k items:
//      64-d embeddings around latent clusters, 5 tags from 300 (Zipf), Zipf popularity; writes
//      each as the binary `.atcat`, as JSON (1k and 10k) and as the plain-JS ranker's columns.
//   3. Serves bench/recs.html from a node:http server on 127.0.0.1 (cross-origin isolated, so
//      performance.now() is fine-grained) and runs each size in headless Chromium
//      (bench/recs-page.mjs): the wasm ranker vs the plain-JS ranker (bench/recs-ranker.mjs),
//      the wasm bandwidth floor and a plain JS sum, catalogue load times.
//
// Usage: node bench/recs.mjs [--sizes 1000,10000,100000] [--runs N] [--skip-build]
//                            [--wasm DIR] [--json] [--names] [--profile N] [--chromium-arg FLAG]
//   --wasm DIR    benchmark another wasm-bindgen output (e.g. an experimental build)
//   --names       keep the wasm name section (wasm-opt -g; same machine code) for --profile
//   --profile N   instead of the table: CPU-profile recommend() at N items, top functions

import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../chromium.mjs';
import { encodeBinary, encodeColumns, encodeJson, generate } from './recs-data.mjs';

const started = Date.now();
const loadBefore = os.loadavg()[0];
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,100000' },
    runs: { type: 'string' },
    'skip-build': { type: 'boolean', default: false },
    wasm: { type: 'string' },
    json: { type: 'boolean', default: false },
    names: { type: 'boolean', default: false },
    // Investigation: sample `recommend` at this size with the CPU profiler, print the top
    // functions by self time (needs names: --names, or --wasm with a build made with wasm-opt -g).
    profile: { type: 'string' },
    // Investigation: extra Chromium flags, e.g. --chromium-arg=--js-flags=--no-liftoff
    'chromium-arg': { type: 'string', multiple: true, default: [] },
    'profile-config': { type: 'string', default: '{"diversity":0}' },
  },
});
const SIZES = opts.sizes.split(',').map((s) => Number.parseInt(s, 10));
const work = path.join(repoRoot, '.tmp', 'bench-recs');
const wasmDir = path.resolve(opts.wasm ?? path.join(work, 'wasm'));
const dataDir = path.join(work, 'data');
const say = (line) => (opts.json ? process.stderr : process.stdout).write(`${line}\n`);

// --- 1. the wasm ----------------------------------------------------------------------
if (!opts.wasm && !opts['skip-build']) {
  const t0 = Date.now();
  const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, 'target');
  const sh = (script, cwd = repoRoot) =>
    execFileSync('bash', ['-c', `source "${repoRoot}/scripts/env.sh" && ${script}`], { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  say('building the wasm (cargo wasm-release, wasm-bindgen, wasm-opt -Oz) …');
  sh('cargo build -p attune-wasm --target wasm32-unknown-unknown --profile wasm-release --quiet');
  rmSync(wasmDir, { recursive: true, force: true });
  mkdirSync(wasmDir, { recursive: true });
  sh(
    `wasm-bindgen --target web --out-dir "${wasmDir}" --out-name attune_wasm ` +
      `"${targetDir}/wasm32-unknown-unknown/wasm-release/attune_wasm.wasm"`,
  );
  // binaryen from npm (v132) as in scripts/build-sdk.sh: Debian's v108 breaks the module.
  const wasmOpt = path.join(repoRoot, 'js-wrapper', 'node_modules', '.bin', 'wasm-opt');
  if (!existsSync(wasmOpt)) {
    console.error(`${wasmOpt} is missing: run \`npm install\` in js-wrapper/`);
    process.exit(2);
  }
  const wasmFile = path.join(wasmDir, 'attune_wasm_bg.wasm');
  execFileSync(
    wasmOpt,
    [
      '-Oz',
      ...(opts.names ? ['-g'] : []),
      ...['bulk-memory', 'nontrapping-float-to-int', 'sign-ext', 'simd', 'reference-types', 'multivalue', 'mutable-globals'].map(
        (f) => `--enable-${f}`,
      ),
      wasmFile,
      '-o',
      wasmFile,
    ],
    { stdio: 'inherit' },
  );
  say(`  built in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${path.relative(repoRoot, wasmDir)}`);
}
if (!existsSync(path.join(wasmDir, 'attune_wasm.js'))) {
  console.error(`${wasmDir}/attune_wasm.js is missing (build it, or drop --skip-build)`);
  process.exit(2);
}

// --- 2. the catalogues -------------------------------------------------------------------
{
  const t0 = Date.now();
  mkdirSync(dataDir, { recursive: true });
  for (const n of SIZES) {
    const cat = generate(n);
    writeFileSync(path.join(dataDir, `cat-${n}.atcat`), encodeBinary(cat));
    writeFileSync(path.join(dataDir, `cols-${n}.bin`), encodeColumns(cat));
    if (n <= 10_000) writeFileSync(path.join(dataDir, `cat-${n}.json`), encodeJson(cat));
  }
  say(`catalogues generated in ${((Date.now() - t0) / 1000).toFixed(1)} s → ${path.relative(repoRoot, dataDir)}`);
}

// --- 3. the page -----------------------------------------------------------------------
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};
const ROUTES = [
  ['/wasm/', wasmDir],
  ['/data/', dataDir],
  ['/', here],
];
const PAGE_FILES = new Set(['recs.html', 'recs-page.mjs', 'recs-ranker.mjs']);
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/v1/batch') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":0,"duplicates":0}');
    return;
  }
  const pathname = url.pathname === '/' ? '/recs.html' : url.pathname;
  const [prefix, dir] = ROUTES.find(([p]) => pathname.startsWith(p));
  const rel = path.normalize(decodeURIComponent(pathname.slice(prefix.length)));
  const file = path.join(dir, rel);
  const allowed = dir !== here || PAGE_FILES.has(rel);
  if (!allowed || !file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    // Cross-origin isolation: performance.now() at 5 µs rather than 100 µs.
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cache-control': 'no-store',
  });
  createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({ executablePath: chromiumPath, args: [...CHROMIUM_ARGS, ...opts['chromium-arg']] });
const chromiumVersion = browser.version();
const results = [];
let isolated = false;
const errors = [];
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const failed = new Promise((_, reject) => {
    page.on('pageerror', (e) => reject(new Error(`the page failed: ${e.message}`)));
    page.on('console', (m) => m.type() === 'error' && reject(new Error(`the page failed: ${m.text()}`)));
  });
  await page.goto(`${base}/`);
  await Promise.race([
    page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 60_000 }),
    failed,
  ]);
  isolated = await page.evaluate(() => window.bench.isolated);
  if (opts.profile) {
    await profile(page, Number.parseInt(opts.profile, 10), opts['profile-config']);
    SIZES.length = 0;
  }
  for (const n of SIZES) {
    const t0 = Date.now();
    const runOpts = opts.runs ? { runs: Number.parseInt(opts.runs, 10) } : {};
    results.push(await page.evaluate(([size, o]) => window.bench.runSize(size, o), [n, runOpts]));
    say(`  ${n.toLocaleString('en')} items: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
} catch (e) {
  console.error(`the benchmark could not run: ${e.message}${errors.length ? `\npage errors: ${errors.join('; ')}` : ''}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  server.close();
}
if (process.exitCode || opts.profile) process.exit();

async function profile(page, n, config) {
  await page.evaluate(([size, c]) => window.bench.profileSetup(size, c), [n, config]);
  const calls = Math.max(50, Math.round(2e6 / n));
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  await cdp.send('Profiler.start');
  const perCall = await page.evaluate((c) => window.bench.profileLoop(c), calls);
  const { profile: prof } = await cdp.send('Profiler.stop');
  // Self time per function from the samples; and the inclusive time of each function.
  const byId = new Map(prof.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of prof.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const dt = prof.timeDeltas;
  const self = new Map();
  const incl = new Map();
  let total = 0;
  const name = (node) => {
    const f = node.callFrame;
    const where = f.url ? path.basename(f.url.split('?')[0]) : '';
    return `${f.functionName || '(anonymous)'}${where ? ` [${where}]` : ''}`;
  };
  prof.samples.forEach((id, k) => {
    const ms = (dt[k + 1] ?? dt[k]) / 1000;
    const node = byId.get(id);
    if (['(idle)', '(program)', '(root)'].includes(node.callFrame.functionName)) return;
    total += ms;
    self.set(name(node), (self.get(name(node)) ?? 0) + ms);
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const nm = name(byId.get(at));
      if (!seen.has(nm)) incl.set(nm, (incl.get(nm) ?? 0) + ms);
      seen.add(nm);
    }
  });
  const top = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  say(`profile of ${calls} recommend() calls at ${n} items, config ${config}: median ${perCall.toFixed(3)} ms per call; ${total.toFixed(0)} ms sampled`);
  say('self time:');
  for (const [nm, ms] of top(self)) say(`  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${(ms / calls).toFixed(4)} ms/call  ${nm}`);
  say('inclusive time:');
  for (const [nm, ms] of top(incl)) say(`  ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${(ms / calls).toFixed(4)} ms/call  ${nm}`);
}

// --- report ----------------------------------------------------------------------------
const seconds = (Date.now() - started) / 1000;
const f = (x, d = 2) => (x == null ? '—' : x.toFixed(d));
const gbps = (bytes, ms) => bytes / (ms * 1e6);
const rows = results.map((r) => ({
  size: r.n >= 1000 ? `${r.n / 1000}k` : String(r.n),
  wasm: r.wasmMs,
  js: r.jsMs,
  speedup: r.jsMs / r.wasmMs,
  floor: r.probeMs,
  floorGBps: gbps(r.scannedBytes, r.probeMs),
  overFloor: r.wasmMs / r.probeMs,
  sum: r.sumMs,
  sumGBps: gbps(r.jsBytes, r.sumMs),
  jsOverSum: r.jsMs / r.sumMs,
  max: r.wasmMaxMs,
  worst: Math.max(r.wasmMaxMs, r.firstCallMs, r.firstJsonCallMs ?? 0, r.defaultMaxMs),
  r,
}));

const big = rows.filter((x) => x.r.n >= 10_000);
const targets = [
  ...big.map((x) => ({
    what: `wasm ranker ≥ 4× faster than the plain-JS ranker at ${x.size}`,
    value: `${f(x.speedup, 1)}×`,
    met: x.speedup >= 4,
  })),
  ...big.map((x) => ({
    what: `wasm ranker within 2× of the wasm bandwidth floor at ${x.size}`,
    value: `${f(x.overFloor, 1)}×`,
    met: x.overFloor <= 2,
  })),
  {
    what: 'no ranking call blocks the main thread > 16 ms (timed calls, first call after each load, default config)',
    value: `max ${f(Math.max(...rows.map((x) => x.worst)))} ms (steady p99 ≤ ${f(Math.max(...rows.map((x) => x.r.wasmP99Ms)))} ms)`,
    met: rows.every((x) => x.worst <= 16),
  },
];

if (opts.json) {
  console.log(JSON.stringify({ chromium: chromiumVersion, isolated, seconds, results, targets }, null, 2));
  process.exit(0);
}

const table = [
  [
    'size',
    'wasm ms',
    'JS ms',
    'JS/wasm',
    'wasm floor ms (GB/s)',
    'wasm/floor',
    'JS sum ms (GB/s)',
    'JS/JS sum',
    'max wasm call ms',
    'load binary ms',
    'load JSON ms',
  ],
  ...rows.map((x) => [
    x.size,
    f(x.wasm, 3),
    f(x.js, 3),
    `${f(x.speedup, 1)}×`,
    `${f(x.floor, 3)} (${f(x.floorGBps, 1)})`,
    `${f(x.overFloor, 1)}×`,
    `${f(x.sum, 3)} (${f(x.sumGBps, 1)})`,
    `${f(x.jsOverSum, 1)}×`,
    f(x.max, 2),
    f(x.r.loadBinaryMs, 1),
    x.r.loadJsonMs == null ? '—' : f(x.r.loadJsonMs, 1),
  ]),
];
say('');
say(
  `Recommendations: ranking speed — Chromium ${chromiumVersion}, ${isolated ? 'cross-origin isolated' : 'NOT isolated (coarse clock)'}, ` +
    `${os.cpus().length} CPUs, load average ${loadBefore.toFixed(1)} before / ${os.loadavg()[0].toFixed(1)} after`,
);
say(`top-10 home ranking, diversity 0; medians of ${rows.map((x) => `${x.r.runs} (${x.size})`).join(', ')} calls per ranker`);
say('');
say(`| ${table[0].join(' | ')} |`);
say(`|${table[0].map((_, c) => (c === 0 ? '---' : '---:')).join('|')}|`);
for (const row of table.slice(1)) say(`| ${row.join(' | ')} |`);
say('');
for (const x of rows) {
  const r = x.r;
  say(
    `${x.size}: scanned ${(r.scannedBytes / 1e6).toFixed(2)} MB (${(r.scannedBytes / r.n).toFixed(0)} B/item) by wasm, ` +
      `${(r.jsBytes / 1e6).toFixed(2)} MB by JS; default config (diversity 0.2) ${f(r.defaultMs, 3)} ms (max ${f(r.defaultMaxMs)}); ` +
      `wasm p99 ${f(r.wasmP99Ms)} ms, first call after loading ${r.firstJsonCallMs == null ? '' : `JSON ${f(r.firstJsonCallMs)} ms / `}binary ${f(r.firstCallMs)} ms, JS ranker max ${f(r.jsMaxMs)} ms; top-10 overlap JS vs wasm ${r.overlap}/10; ` +
      `same scores with the SDK's i8 data: ${r.exactSame ? 'yes' : 'NO'} (max |Δ| ${r.maxScoreDiff.toExponential(1)})` +
      (r.jsonSameAsBinary == null ? '' : `; JSON load ranks the same: ${r.jsonSameAsBinary ? 'yes' : 'NO'}`) +
      `; catalogue ${(r.binaryBytes / 1e6).toFixed(1)} MB binary${r.jsonBytes ? `, ${(r.jsonBytes / 1e6).toFixed(1)} MB JSON` : ''}`,
  );
  if (r.warnings.length) say(`  warnings: ${r.warnings.slice(0, 5).join('; ')}`);
}
const [s1, s10, s100] = [1_000, 10_000, 100_000].map((n) => rows.find((x) => x.r.n === n));
if (s10 && s100) {
  // Slope between 10k and 100k: the scan's cost per item. Intercept (from 1k and 10k): what a
  // call costs whatever the catalogue's size (request, plan, explanations, results to JS).
  const per = (get, a, b) => ((get(b) - get(a)) / (b.r.n - a.r.n)) * 1e6;
  const wasmNs = per((x) => x.wasm, s10, s100);
  const floorNs = per((x) => x.floor, s10, s100);
  const fixed = s1 ? s1.wasm - (per((x) => x.wasm, s1, s10) * s1.r.n) / 1e6 : null;
  say(
    `wasm ranker, 10k → 100k: ${wasmNs.toFixed(1)} ns per extra item (floor ${floorNs.toFixed(1)} ns, ` +
      `${(wasmNs / floorNs).toFixed(1)}×; JS ranker ${per((x) => x.js, s10, s100).toFixed(1)} ns)` +
      (fixed == null ? '' : `; per-call cost independent of size (1k → 10k intercept) ≈ ${f(fixed, 3)} ms`),
  );
}
say('');
say('targets (ratios within this run):');
for (const t of targets) say(`  ${t.met ? 'MET    ' : 'MISSED '} ${t.what}: ${t.value}`);
if (errors.length) say(`\npage errors: ${[...new Set(errors)].join('\n  ')}`);
say(`\nbenchmark ran in ${seconds.toFixed(0)} s`);
