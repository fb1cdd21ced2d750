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
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
    ['--bind', '127.0.0.1:0', '--db', db, '--static-dir', staticDir, '--test-api'],
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
 * appended to the error, so a failure explains itself.
 */
export function e2eTest(env, name, fn, { sessionOptions, timeout = 60_000 } = {}) {
  return test(name, { timeout }, async (t) => {
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

  const page = await context.newPage();
  page.on('console', (msg) => {
    consoleMessages.push({ type: msg.type(), text: msg.text(), page: page.url() });
  });
  page.on('pageerror', (err) => pageErrors.push({ message: err.message, stack: err.stack, page: page.url() }));
  page.on('request', (req) => {
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
    batchRequests.push({ method: req.method(), type: req.resourceType(), at: Date.now(), body });
  });
  page.on('requestfailed', (req) => failedRequests.push({ url: req.url(), error: req.failure()?.errorText }));

  const session = {
    context,
    page,
    cspViolations,
    consoleMessages,
    pageErrors,
    batchRequests,
    failedRequests,

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
    async waitReady(label = page.url()) {
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
      for (const m of consoleMessages.slice(-40)) lines.push(`  [${m.type}] ${m.text}`);
      lines.push(`/v1/batch requests (${batchRequests.length}):`);
      for (const r of batchRequests.slice(-20)) {
        lines.push(`  ${r.method} (${r.type}) granted=${describe(r.body?.consent?.granted)} events=${summarize(r.body?.events ?? [])}`);
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
