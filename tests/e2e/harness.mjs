// End-to-end harness: one attune-collector (fresh SQLite db, serving demo-site/dist with
// its strict CSP, /__test API on) and one headless Chromium per test file; a fresh
// browser context per test, instrumented to record what a privacy auditor would look at:
// every request to /v1/batch, console errors, uncaught page errors and CSP violations.
//
// Environment:
//   ATTUNE_COLLECTOR_BIN  collector binary      (default: <repo>/target/debug/attune-collector)
//   ATTUNE_DEMO_DIST      built demo site       (default: <repo>/demo-site/dist)
//   CHROMIUM_PATH         Chromium executable   (default: /usr/bin/chromium)
//   ATTUNE_E2E_HEADFUL=1  show the browser (needs a display)

import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const collectorBin =
  process.env.ATTUNE_COLLECTOR_BIN ?? path.join(repoRoot, 'target', 'debug', 'attune-collector');
export const demoDist = path.resolve(process.env.ATTUNE_DEMO_DIST ?? path.join(repoRoot, 'demo-site', 'dist'));

/** How long to wait for something that should happen (events to reach the collector…). */
export const EVENT_TIMEOUT_MS = 10_000;
/** The bounded wait used only to show that NOTHING arrives (flush interval is 500 ms). */
export const QUIET_PERIOD_MS = 1_500;

// ---------------------------------------------------------------------------------------
// Generic helpers
// ---------------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `fn` until it returns a truthy value (which is returned) or `timeout` ms pass.
 * On timeout, throws an Error with `message` (a string or a function of the last value)
 * and the last value / error seen, so a failure says what was actually observed.
 */
export async function waitFor(fn, { timeout = EVENT_TIMEOUT_MS, interval = 100, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      lastError = undefined;
      if (last) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(interval);
  }
  const what = typeof message === 'function' ? message(last) : message;
  const detail = lastError ? `last error: ${lastError.stack ?? lastError}` : `last value: ${describe(last)}`;
  throw new Error(`timed out after ${timeout} ms waiting for ${what}\n${detail}`);
}

/** A short, bounded wait used ONLY to assert that nothing (more) happens. */
export const quietPeriod = (ms = QUIET_PERIOD_MS) => sleep(ms);

export function describe(value) {
  try {
    const text = JSON.stringify(value, null, 1);
    return text && text.length > 3000 ? `${text.slice(0, 3000)}…` : text;
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------
// Collector process
// ---------------------------------------------------------------------------------------

export async function startCollector({ staticDir = demoDist, timeout = 20_000 } = {}) {
  if (!existsSync(collectorBin)) {
    throw new Error(
      `collector binary not found at ${collectorBin}\n` +
        'build it with `cargo build -p attune-collector` (or set ATTUNE_COLLECTOR_BIN)',
    );
  }
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    throw new Error(
      `the demo site is not built: ${path.join(staticDir, 'index.html')} is missing\n` +
        'run `npm install && npm run build` in demo-site/ (or set ATTUNE_DEMO_DIST)',
    );
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'attune-e2e-'));
  const db = path.join(dir, 'collector.sqlite');
  const child = spawn(
    collectorBin,
    [
      '--bind', '127.0.0.1:0', '--db', db, '--static-dir', staticDir, '--test-api',
      // The demo's retention per purpose (the same file the SDK gets).
      '--site-config', path.join(repoRoot, 'demo-site', 'src', 'attune-config.json'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } },
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-20_000);
  });

  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`collector did not print its listening line within ${timeout} ms\nstderr:\n${stderr}`));
    }, timeout);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = /attune-collector listening on (http:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${collectorBin}: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`collector exited before it was ready (code ${code}, signal ${signal})\nstderr:\n${stderr}`));
    });
  });
  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.resume();

  return {
    url,
    db,
    stderr: () => stderr,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------
// The per-file environment: collector + browser, and instrumented sessions
// ---------------------------------------------------------------------------------------

/**
 * Registers before/after hooks that start the collector and Chromium for this test file
 * and stop both afterwards (also when a test or the setup failed). Returns an object
 * whose fields are filled in once `before` ran.
 */
export function useE2E() {
  const env = {
    baseURL: '',
    collector: null,
    browser: null,
    /** Every event the collector stored in this file, saved by `resetCollector` before it deletes them. */
    observed: [],
    /** Every consent receipt the collector stored in this file (same). */
    observedReceipts: [],
    /** The body of every /v1/batch request any session of this file made (saved when it closes). */
    observedBatches: [],

    async collectorEvents() {
      const res = await fetch(`${env.baseURL}/__test/events`);
      if (!res.ok) throw new Error(`GET /__test/events: HTTP ${res.status} ${await res.text()}`);
      const body = await res.json();
      return body.events;
    },
    async collectorReceipts() {
      const res = await fetch(`${env.baseURL}/__test/receipts`);
      if (!res.ok) throw new Error(`GET /__test/receipts: HTTP ${res.status} ${await res.text()}`);
      return (await res.json()).receipts;
    },
    async resetCollector() {
      // Keep what is about to be deleted: the manifest coverage check looks at all of it.
      env.observed.push(...(await env.collectorEvents()));
      env.observedReceipts.push(...(await env.collectorReceipts()));
      const res = await fetch(`${env.baseURL}/__test/events`, { method: 'DELETE' });
      if (!res.ok) throw new Error(`DELETE /__test/events: HTTP ${res.status} ${await res.text()}`);
      const left = await env.collectorEvents();
      if (left.length !== 0) throw new Error(`collector still has ${left.length} events after DELETE /__test/events`);
    },
    /** Waits until the collector holds events for which `pred(events)` is truthy; returns them. */
    async waitForCollector(pred, message, timeout = EVENT_TIMEOUT_MS) {
      let seen = [];
      await waitFor(
        async () => {
          seen = await env.collectorEvents();
          return pred(seen);
        },
        { timeout, message: () => `${message}\ncollector has ${seen.length} events: ${summarize(seen)}` },
      );
      return seen;
    },
    newSession: (options) => newSession(env, options),
  };

  before(async () => {
    env.collector = await startCollector();
    env.baseURL = env.collector.url;
    env.browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: process.env.ATTUNE_E2E_HEADFUL !== '1',
      args: process.env.ATTUNE_E2E_HEADFUL === '1' ? CHROMIUM_ARGS.filter((a) => a !== '--headless') : CHROMIUM_ARGS,
    });
  });

  after(async () => {
    const results = await Promise.allSettled([env.browser?.close(), env.collector?.stop()]);
    for (const r of results) if (r.status === 'rejected') console.error('teardown:', r.reason);
  });

  return env;
}

/** `name (purpose) props.path|productId` for each event: compact failure output. */
export function summarize(events) {
  if (events.length === 0) return '(none)';
  return events
    .map((e) => {
      const p = e.props ?? {};
      const detail = p.path ?? p.productId ?? '';
      return `${e.name}(${e.purpose}${detail ? ` ${detail}` : ''})`;
    })
    .join(', ');
}

/**
 * A test that gets a fresh, instrumented browser context. If the body throws, the
 * session's console output, page errors, CSP violations and /v1/batch traffic are
 * appended to the error, so a failure explains itself. `todo: 'reason'` marks a test that
 * shows a known bug (it runs and reports, but does not fail the suite).
 */
export function e2eTest(env, name, fn, { sessionOptions, timeout = 60_000, todo } = {}) {
  return test(name, { timeout, todo }, async (t) => {
    const session = await env.newSession(sessionOptions);
    try {
      await fn(session, t);
    } catch (err) {
      if (err && typeof err === 'object') {
        const report = await session.report().catch((e) => `(no session report: ${e})`);
        try {
          err.message = `${err.message}\n\n--- session report ---\n${report}`;
        } catch {
          /* read-only message */
        }
      }
      throw err;
    } finally {
      env.observedBatches.push(...session.batchRequests.map((r) => r.body).filter(Boolean));
      await session.close();
    }
  });
}

async function newSession(env, { initScripts = [], contextOptions = {} } = {}) {
  const context = await env.browser.newContext({ baseURL: env.baseURL, ...contextOptions });

  const cspViolations = [];
  const consoleMessages = [];
  const pageErrors = [];
  const batchRequests = [];
  const failedRequests = [];

  // CSP violations are reported by the page itself: a listener installed before any page
  // script runs, forwarding each report through a binding (survives navigations).
  await context.exposeBinding('__attuneTestReportCsp', (source, v) => {
    cspViolations.push({ page: source.frame.url(), ...v });
  });
  await context.addInitScript(() => {
    document.addEventListener(
      'securitypolicyviolation',
      (e) => {
        // eslint-disable-next-line no-undef
        window.__attuneTestReportCsp?.({
          directive: e.violatedDirective,
          effectiveDirective: e.effectiveDirective,
          blockedURI: e.blockedURI,
          sourceFile: e.sourceFile,
          line: e.lineNumber,
          sample: e.sample,
          disposition: e.disposition,
        });
      },
      true,
    );
  });
  for (const script of initScripts) await context.addInitScript(script);

  // Every page of the context (the first one, and tabs opened with `session.newPage()`)
  // records into the same lists; `tab` says which page (0 = session.page).
  const pages = [];
  const instrument = (p) => {
    const tab = pages.push(p) - 1;
    p.on('console', (msg) => {
      consoleMessages.push({ type: msg.type(), text: msg.text(), page: p.url(), tab });
    });
    p.on('pageerror', (err) => pageErrors.push({ message: err.message, stack: err.stack, page: p.url(), tab }));
    p.on('request', (req) => {
      let pathname;
      try {
        pathname = new URL(req.url()).pathname;
      } catch {
        return;
      }
      if (pathname !== '/v1/batch') return;
      let body = null;
      try {
        body = JSON.parse(req.postData() ?? 'null');
      } catch {
        body = { unparsable: req.postData() };
      }
      batchRequests.push({ method: req.method(), type: req.resourceType(), at: Date.now(), tab, body });
    });
    p.on('requestfailed', (req) => failedRequests.push({ url: req.url(), error: req.failure()?.errorText, tab }));
    return p;
  };
  const page = instrument(await context.newPage());

  const session = {
    context,
    page,
    cspViolations,
    consoleMessages,
    pageErrors,
    batchRequests,
    failedRequests,
    pages,

    /**
     * Opens another tab in the same context (same storage, same Web Locks), instrumented like
     * `session.page`; with `url`, navigates there and waits for the SDK to start.
     */
    async newPage(url) {
      const p = instrument(await context.newPage());
      if (url) {
        const response = await p.goto(url, { waitUntil: 'load' });
        if (!response?.ok()) throw new Error(`GET ${url} in a new tab: HTTP ${response?.status()}`);
        await waitDemoReady(p, `${url} (tab ${pages.indexOf(p)})`);
      }
      return p;
    },

    get consoleErrors() {
      return consoleMessages.filter((m) => m.type === 'error');
    },

    /** Every event the page sent to /v1/batch, as seen on the network. */
    get sentEvents() {
      return batchRequests.flatMap((r) => (Array.isArray(r.body?.events) ? r.body.events : []));
    },

    /**
     * Navigates (after flushing the current page, so nothing queued is lost to the
     * navigation), waits for the demo page to finish starting the SDK and checks that it
     * started. Returns the navigation response.
     */
    async goto(url, { flushFirst = true } = {}) {
      if (flushFirst) await session.flushIfReady();
      const response = await page.goto(url, { waitUntil: 'load' });
      if (!response) throw new Error(`no response navigating to ${url}`);
      if (!response.ok()) throw new Error(`GET ${url}: HTTP ${response.status()}`);
      await session.waitReady(url);
      return response;
    },

    async reload() {
      const response = await page.reload({ waitUntil: 'load' });
      await session.waitReady('reload');
      return response;
    },

    /** Waits for `<html data-attune-ready="true">` and checks `attune.ready`. */
    waitReady(label = page.url()) {
      return waitDemoReady(page, label);
    },

    async flush() {
      await page.evaluate(() => window.attune.flush());
    },

    async flushIfReady() {
      if (!/^https?:/.test(page.url())) return;
      await page.evaluate(async () => {
        if (window.attune?.ready) await window.attune.flush();
      });
    },

    /** `attune.consent.get()` of the current page. */
    consent() {
      return page.evaluate(() => window.attune.consent.get());
    },

    /** Tracks an event from the page, returns the id (or null when refused). */
    track(name, props, purpose) {
      return page.evaluate(([n, p, pu]) => window.attune.track(n, p, pu), [name, props, purpose]);
    },

    /** A locator inside the consent banner's (open) shadow root. */
    banner(selector) {
      return page.locator(`attune-consent-banner ${selector}`);
    },

    async waitBannerVisible(message = 'the consent banner to be visible') {
      try {
        await session.banner('[data-attune-action="accept-all"]').waitFor({ state: 'visible', timeout: EVENT_TIMEOUT_MS });
      } catch (err) {
        throw new Error(`expected ${message}: ${err.message.split('\n')[0]}`);
      }
    },

    async waitBannerHidden(message = 'the consent banner to close') {
      try {
        await session.banner('[data-attune-action="accept-all"]').waitFor({ state: 'hidden', timeout: EVENT_TIMEOUT_MS });
      } catch (err) {
        throw new Error(`expected ${message}: ${err.message.split('\n')[0]}`);
      }
    },

    /** True when the banner's accept-all button is on screen right now. */
    bannerVisible() {
      return session.banner('[data-attune-action="accept-all"]').isVisible();
    },

    /**
     * The purpose checkbox in the banner; clicks "customize" first if the toggles are
     * tucked away behind it.
     */
    async purposeToggle(purpose) {
      const toggle = session.banner(`[data-attune-purpose="${purpose}"]`);
      if (!(await toggle.isVisible())) {
        const customize = session.banner('[data-attune-action="customize"]');
        if (await customize.isVisible()) await customize.click();
      }
      await toggle.waitFor({ state: 'visible', timeout: EVENT_TIMEOUT_MS });
      return toggle;
    },

    /** Keys and values of localStorage / sessionStorage, IndexedDB names, cookies. */
    async storage() {
      const inPage = await page.evaluate(async () => {
        const dump = (s) => Object.fromEntries(Array.from({ length: s.length }, (_, i) => s.key(i)).map((k) => [k, s.getItem(k)]));
        const dbs = typeof indexedDB.databases === 'function' ? await indexedDB.databases() : [];
        return {
          local: dump(localStorage),
          session: dump(sessionStorage),
          indexedDB: dbs.map((d) => d.name),
          documentCookie: document.cookie,
        };
      });
      return { ...inPage, cookies: await context.cookies() };
    },

    async report() {
      const lines = [`url: ${page.url()}`];
      lines.push(`page errors (${pageErrors.length}): ${describe(pageErrors)}`);
      lines.push(`CSP violations (${cspViolations.length}): ${describe(cspViolations)}`);
      lines.push(`console (${consoleMessages.length}):`);
      for (const m of consoleMessages.slice(-40)) lines.push(`  [tab ${m.tab}] [${m.type}] ${m.text}`);
      lines.push(`/v1/batch requests (${batchRequests.length}):`);
      for (const r of batchRequests.slice(-20)) {
        lines.push(`  [tab ${r.tab}] ${r.method} (${r.type}) granted=${describe(r.body?.consent?.granted)} events=${summarize(r.body?.events ?? [])}`);
      }
      if (failedRequests.length) lines.push(`failed requests: ${describe(failedRequests)}`);
      const events = await env.collectorEvents().catch((e) => `(unavailable: ${e.message})`);
      lines.push(`collector events: ${typeof events === 'string' ? events : summarize(events)}`);
      const stderr = env.collector?.stderr() ?? '';
      if (stderr.trim()) lines.push(`collector stderr (tail):\n${stderr.slice(-2000)}`);
      return lines.join('\n');
    },

    async close() {
      await context.close().catch(() => {});
    },
  };
  return session;
}

/** Waits until a demo page set `<html data-attune-ready="true">` and checks `attune.ready`. */
export async function waitDemoReady(page, label = page.url()) {
  try {
    await page.waitForFunction(() => document.documentElement.dataset.attuneReady === 'true', null, {
      timeout: EVENT_TIMEOUT_MS,
    });
  } catch (err) {
    throw new Error(`page ${label} never set data-attune-ready (page script failed or hung): ${err.message}`);
  }
  const state = await page.evaluate(() => ({
    ready: window.attune?.ready,
    error: window.attune?.error ? `${window.attune.error.code}: ${window.attune.error.message}` : null,
  }));
  if (state.ready !== true) {
    throw new Error(`Attune.init resolved to an inert instance on ${label}: ready=${state.ready} error=${state.error}`);
  }
}

/** The state of one purpose in a ConsentView. */
export function purpose(view, id) {
  const list = Array.isArray(view?.purposes) ? view.purposes : Object.entries(view?.purposes ?? {}).map(([k, v]) => ({ id: k, ...v }));
  const state = list.find((p) => p.id === id);
  if (!state) throw new Error(`purpose ${id} missing from consent view: ${describe(view)}`);
  return state;
}

/** `{analytics: 'granted', …}` for compact assertions. */
export function statuses(view) {
  const list = Array.isArray(view?.purposes) ? view.purposes : [];
  return Object.fromEntries(list.map((p) => [p.id, p.status]));
}

// ---------------------------------------------------------------------------------------
// Manifest coverage: everything that left, as seen on the wire and at the collector, is
// declared in the built egress manifest (demo-site/dist/egress-manifest.json).
// ---------------------------------------------------------------------------------------

/** The event fields the SDK sends (the wire format). */
export const WIRE_EVENT_KEYS = ['id', 'name', 'purpose', 'ts', 'props', 'pid'];
/**
 * What the collector's /__test/events adds to each stored event: `siteId` (copied from the
 * batch envelope, declared as the `siteId` row) and `receivedAt` (its own clock; never sent).
 */
export const COLLECTOR_ADDED_KEYS = ['siteId', 'receivedAt'];

export async function loadManifest() {
  const file = path.join(demoDist, 'egress-manifest.json');
  return JSON.parse(await readFile(file, 'utf8'));
}

/** `v`, `consent.granted`, `events[].props.path`… for every leaf/array field of a batch body. */
export function batchFields(body) {
  const fields = [];
  for (const [key, value] of Object.entries(body ?? {})) {
    if (key === 'events') continue;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const sub of Object.keys(value)) fields.push(`${key}.${sub}`);
    } else {
      fields.push(key);
    }
  }
  return fields;
}

/**
 * Whether `value` is what the manifest's human-readable `sentAs` promises; `undefined` for a
 * wording this check does not know (counted and reported, not failed).
 */
export function conformsToSentAs(sentAs, value) {
  const list = /^(?:one of|range): (.*)$/.exec(sentAs);
  if (list) return list[1].split(', ').includes(value);
  if (sentAs.startsWith('URL path only')) return typeof value === 'string' && value.startsWith('/') && !/[?#]/.test(value);
  if (sentAs.startsWith('identifier')) return typeof value === 'string' && value.length > 0 && value.length <= 128 && !/\s/.test(value);
  if (sentAs === 'whole number') return Number.isInteger(value) && value >= 0;
  return undefined;
}

/**
 * Registers, as the last test of the file, the check that every event observed at the
 * collector (all tests of the file: `env.observed` + what is stored now) and every field of
 * every /v1/batch body sent (`env.observedBatches`) is declared in the egress manifest.
 */
export function manifestCoverageTest(env) {
  return test('manifest coverage: every field observed at the collector and on the wire is in egress-manifest.json', async (t) => {
    const manifest = await loadManifest();
    assert.equal(manifest.format, 'attune-egress-manifest/1', 'manifest format');
    const purposes = new Map(manifest.purposes.map((p) => [p.purpose, p]));
    const rows = new Set(manifest.rows.map((r) => `${r.purpose} ${r.field}`));
    const hasRow = (purposeId, field) => rows.has(`${purposeId} ${field}`);
    const problems = [];
    const note = (what) => {
      if (problems.length < 40) problems.push(what);
    };

    // 1. Events stored by the collector: declared purpose, event, props (and their values
    // coarsened as the manifest says), pid only where the purpose declares one.
    let valuesChecked = 0;
    const unverified = new Set();
    const events = [...env.observed, ...(await env.collectorEvents())];
    const allowedKeys = new Set([...WIRE_EVENT_KEYS, ...COLLECTOR_ADDED_KEYS]);
    for (const e of events) {
      const label = `${e.name}(${e.purpose}) ${e.id}`;
      for (const key of Object.keys(e)) {
        if (!allowedKeys.has(key)) note(`${label}: top-level key "${key}" is neither sent by the SDK nor a known collector field`);
      }
      const declared = purposes.get(e.purpose);
      if (!declared) {
        note(`${label}: purpose "${e.purpose}" is not in manifest.purposes`);
        continue;
      }
      const spec = declared.events.find((x) => x.name === e.name);
      if (!spec) {
        note(`${label}: event "${e.name}" is not declared for ${e.purpose} (declared: ${declared.events.map((x) => x.name).join(', ')})`);
        continue;
      }
      for (const [prop, value] of Object.entries(e.props ?? {})) {
        const declaredProp = spec.props.find((p) => p.name === prop);
        if (!declaredProp) note(`${label}: prop "${prop}" is not declared for ${e.name}`);
        if (!hasRow(e.purpose, `events[].props.${prop}`)) note(`${label}: no manifest row events[].props.${prop} for ${e.purpose}`);
        if (!declaredProp) continue;
        const ok = conformsToSentAs(declaredProp.sentAs, value);
        if (ok === undefined) unverified.add(declaredProp.sentAs);
        else if (ok) valuesChecked += 1;
        else note(`${label}: ${prop} = ${JSON.stringify(value)} is not "${declaredProp.sentAs}"`);
      }
      const rotates = declared.pseudonymousIdRotateDays !== null && declared.pseudonymousIdRotateDays !== undefined;
      if ('pid' in e && !rotates) note(`${label}: carries a pid but ${e.purpose} declares no pseudonymous id`);
      if ('pid' in e && !hasRow(e.purpose, 'events[].pid')) note(`${label}: carries a pid but there is no events[].pid row for ${e.purpose}`);
      if (!('pid' in e) && rotates) note(`${label}: has no pid although ${e.purpose} declares a pseudonymous id`);
    }

    // 2. Consent receipts stored by the collector come from the batch envelope.
    const receipts = [...env.observedReceipts, ...(await env.collectorReceipts())];
    for (const r of receipts) {
      for (const purposeId of r.granted.filter((p) => purposes.has(p))) {
        for (const field of ['consent.receiptHash', 'consent.granted']) {
          if (!hasRow(purposeId, field)) note(`receipt ${r.hash.slice(0, 12)}…: no manifest row ${field} for ${purposeId}`);
        }
      }
    }
    for (const purposeId of purposes.keys()) {
      for (const field of ['consent.receiptHash', 'consent.granted']) {
        if (!hasRow(purposeId, field)) note(`the envelope field ${field} has no manifest row for ${purposeId}`);
      }
    }

    // 3. Every field of every batch body that left a page (envelope and events).
    let wireEvents = 0;
    for (const body of env.observedBatches) {
      const batchPurposes = [...new Set((body.events ?? []).map((e) => e.purpose))];
      for (const field of batchFields(body)) {
        for (const purposeId of batchPurposes) {
          if (!hasRow(purposeId, field)) note(`a /v1/batch body carried "${field}" but the manifest has no such row for ${purposeId}`);
        }
      }
      for (const e of body.events ?? []) {
        wireEvents += 1;
        for (const key of Object.keys(e)) {
          const field = key === 'props' ? null : `events[].${key}`;
          if (field && !hasRow(e.purpose, field)) note(`${e.name}(${e.purpose}) on the wire: "${field}" has no manifest row`);
        }
        for (const prop of Object.keys(e.props ?? {})) {
          if (!hasRow(e.purpose, `events[].props.${prop}`)) note(`${e.name}(${e.purpose}) on the wire: prop "${prop}" has no manifest row`);
        }
      }
    }

    assert.ok(events.length > 0, 'the coverage check saw no collector events at all: the suite did not exercise anything');
    assert.deepEqual(
      problems,
      [],
      `${problems.length} field(s) left the device without being in the manifest ` +
        `(checked ${events.length} collector events, ${receipts.length} receipts, ${env.observedBatches.length} batch bodies)`,
    );
    t.diagnostic(
      `manifest coverage: ${events.length} collector events, ${receipts.length} receipts, ` +
        `${env.observedBatches.length} /v1/batch bodies (${wireEvents} events) all declared; ` +
        `${valuesChecked} prop values match their "sentAs"` +
        (unverified.size ? `; values not checked (unknown sentAs wording): ${[...unverified].join(' | ')}` : ''),
    );
  });
}
