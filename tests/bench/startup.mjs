#!/usr/bin/env node
// Startup cost of the SDK in a real browser. NOT a test: it prints figures, no thresholds.
//
// Two pages of the built demo site, identical shell and stylesheet:
//   bench-empty.html  no SDK, marks ready at once
//   bench-sdk.html    `await Attune.init(…)` (wasm fetch + compile, config, consent state,
//                     banner), then marks ready
// Each is loaded RUNS times, alternating, each load in a fresh browser context (cold
// storage, same HTTP cache rules: none — contexts do not share a cache). For every load:
//   - main-thread CPU from navigation to ready, from CDP Performance.getMetrics
//     (TaskDuration, ScriptDuration: deltas around the navigation)
//   - JSHeapUsedSize at ready
//   - wall time navigation start → `attune-ready` mark (performance.now())
//   - bytes of JS + wasm + CSS transferred
// and the medians / p90 are printed for empty vs SDK, with the difference.
//
// Pages are served by a small node:http static server inside this script (with the same
// strict CSP the collector sends and `application/wasm` for .wasm), so the collector is
// not needed. Usage: node bench/startup.mjs [--runs 21] [--dist ../demo-site/dist] [--json]

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '21' },
    warmup: { type: 'string', default: '2' },
    dist: { type: 'string', default: process.env.ATTUNE_DEMO_DIST ?? path.join(repoRoot, 'demo-site', 'dist') },
    json: { type: 'boolean', default: false },
  },
});
const RUNS = Math.max(1, Number.parseInt(opts.runs, 10));
const WARMUP = Math.max(0, Number.parseInt(opts.warmup, 10));
const dist = path.resolve(opts.dist);
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
  "require-trusted-types-for 'script'; trusted-types 'none'";

for (const page of ['bench-empty.html', 'bench-sdk.html']) {
  if (!existsSync(path.join(dist, page))) {
    console.error(`${path.join(dist, page)} is missing: run \`npm install && npm run build\` in demo-site/`);
    process.exit(2);
  }
}

// --- static server --------------------------------------------------------------------
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/v1/batch') {
    // Nothing should be sent on a first visit (no consent); answer like the collector would.
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":0,"duplicates":0}');
    return;
  }
  const file = path.join(dist, path.normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, ''));
  if (!file.startsWith(dist) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'content-security-policy': CSP,
    'cache-control': 'no-store',
  });
  createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// --- measurement ----------------------------------------------------------------------
const browser = await chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
const chromiumVersion = browser.version();

async function metrics(cdp) {
  const { metrics: list } = await cdp.send('Performance.getMetrics');
  return Object.fromEntries(list.map((m) => [m.name, m.value]));
}

async function loadOnce(pageName) {
  const context = await browser.newContext();
  const errors = [];
  try {
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const before = await metrics(cdp);
    await browser.startTracing(page, { categories: TRACE_CATEGORIES });
    await page.goto(`${base}/${pageName}`, { waitUntil: 'commit' });
    // Poll through raw CDP (a tiny Runtime.evaluate) rather than page.waitForFunction, so
    // Playwright's injected helper scripts do not add main-thread work to the measurement.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { result } = await cdp.send('Runtime.evaluate', {
        expression: "document.documentElement.dataset.attuneReady === 'true'",
        returnByValue: true,
      });
      if (result.value === true) break;
      if (Date.now() > deadline) throw new Error(`${pageName} did not become ready within 30 s: ${errors.join('; ')}`);
      await sleep(5);
    }
    const after = await metrics(cdp);
    const trace = JSON.parse((await browser.stopTracing()).toString('utf8'));
    const inPage = await page.evaluate(() => {
      const ready = performance.getEntriesByName('attune-ready')[0];
      const bytes = { js: 0, wasm: 0, css: 0 };
      for (const r of performance.getEntriesByType('resource')) {
        const size = r.transferSize || r.encodedBodySize || 0;
        if (r.name.endsWith('.wasm')) bytes.wasm += size;
        else if (r.name.endsWith('.js')) bytes.js += size;
        else if (r.name.endsWith('.css')) bytes.css += size;
      }
      return {
        readyAt: ready ? ready.startTime : Number.NaN,
        ok: document.documentElement.dataset.attuneOk ?? 'n/a',
        bytes,
      };
    });
    if (pageName === 'bench-sdk.html' && inPage.ok !== 'true') {
      throw new Error(`Attune.init did not become ready on ${pageName} (data-attune-ok=${inPage.ok}) ${errors.join('; ')}`);
    }
    return {
      ...mainThreadCpu(trace),
      taskMs: (after.TaskDuration - before.TaskDuration) * 1000,
      scriptMs: (after.ScriptDuration - before.ScriptDuration) * 1000,
      heapMiB: after.JSHeapUsedSize / (1024 * 1024),
      readyMs: inPage.readyAt,
      kib: { js: inPage.bytes.js / 1024, wasm: inPage.bytes.wasm / 1024, css: inPage.bytes.css / 1024 },
      errors,
    };
  } finally {
    await context.close();
  }
}

// Thread CPU time (not wall time) of the page's renderer main thread, from a Chromium trace:
// the sum of `tdur` of its top-level tasks that start before the `attune-ready` mark. Unlike
// TaskDuration deltas this excludes time the thread was descheduled and work of other processes.
const TRACE_CATEGORIES = ['toplevel', 'blink.user_timing', '__metadata'];
function mainThreadCpu(trace) {
  const events = trace.traceEvents ?? trace;
  const ready = events.find((e) => e.name === 'attune-ready' && e.cat?.includes('blink.user_timing'));
  if (!ready) return { cpuToReadyMs: Number.NaN, cpuAfterScriptMs: Number.NaN };
  const start = events.find((e) => e.name === 'attune-script-start' && e.pid === ready.pid);
  const tasks = events.filter(
    (e) => e.pid === ready.pid && e.tid === ready.tid && e.ph === 'X' && e.cat?.includes('toplevel') && typeof e.tdur === 'number',
  );
  const sumUntil = (from, to) =>
    tasks.filter((t) => t.ts + t.dur >= from && t.ts <= to).reduce((a, t) => a + t.tdur, 0) / 1000;
  return {
    cpuToReadyMs: sumUntil(-Infinity, ready.ts),
    cpuAfterScriptMs: start ? sumUntil(start.ts, ready.ts) : Number.NaN,
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx];
};
const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const PAGES = { empty: 'bench-empty.html', sdk: 'bench-sdk.html' };
const samples = { empty: [], sdk: [] };
try {
  for (let i = 0; i < WARMUP; i += 1) {
    await loadOnce(PAGES.empty);
    await loadOnce(PAGES.sdk);
  }
  for (let i = 0; i < RUNS; i += 1) {
    // Alternate the order so drift (thermal, background work) hits both equally.
    const order = i % 2 === 0 ? ['empty', 'sdk'] : ['sdk', 'empty'];
    for (const kind of order) samples[kind].push(await loadOnce(PAGES[kind]));
    if (!opts.json) process.stderr.write(`\rrun ${i + 1}/${RUNS}`);
  }
  if (!opts.json) process.stderr.write('\n');
} finally {
  await browser.close();
  server.close();
}

const FIELDS = [
  ['main-thread CPU → ready, trace thread time (ms)', (s) => s.cpuToReadyMs],
  ['main-thread CPU script start → ready (ms)', (s) => s.cpuAfterScriptMs],
  ['main-thread CPU, TaskDuration (ms)', (s) => s.taskMs],
  ['script CPU, ScriptDuration (ms)', (s) => s.scriptMs],
  ['navigation → ready, wall (ms)', (s) => s.readyMs],
  ['JS heap used at ready (MiB)', (s) => s.heapMiB],
  ['JS transferred (KiB)', (s) => s.kib.js],
  ['wasm transferred (KiB)', (s) => s.kib.wasm],
];
const summary = FIELDS.map(([label, get]) => {
  const e = samples.empty.map(get);
  const s = samples.sdk.map(get);
  return {
    metric: label,
    empty: { median: median(e), p90: quantile(e, 0.9) },
    sdk: { median: median(s), p90: quantile(s, 0.9) },
    diffMedian: median(s) - median(e),
  };
});
const errors = [...samples.empty, ...samples.sdk].flatMap((s) => s.errors);

if (opts.json) {
  console.log(JSON.stringify({ runs: RUNS, chromium: chromiumVersion, summary, errors }, null, 2));
} else {
  const fmt = (n) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
  const rows = [
    ['metric', 'empty median', 'empty p90', 'SDK median', 'SDK p90', 'Δ median'],
    ...summary.map((r) => [r.metric, fmt(r.empty.median), fmt(r.empty.p90), fmt(r.sdk.median), fmt(r.sdk.p90), fmt(r.diffMedian)]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  console.log(`Attune startup benchmark — Chromium ${chromiumVersion}, ${RUNS} fresh-context loads per page (+${WARMUP} warm-up each)`);
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows.slice(1)) console.log(line(r));
  if (errors.length) console.log(`\nerrors seen during the runs (${errors.length}):\n  ${[...new Set(errors)].join('\n  ')}`);
}
