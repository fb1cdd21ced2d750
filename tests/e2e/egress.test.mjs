// What leaves the device, checked where a visitor or an auditor would check it: the
// /v1/batch bodies on the network, what the collector stored, what the browser keeps in
// localStorage, the SDK's own egress log and the demo's "Your data" page.
// Covers minimal data (declared events/props only, coarsening, per-purpose pseudonymous
// ids), the persisted queue across tabs, the cross-tab flush lock and consent, offline,
// Retry-After, and that every field seen across this file is in the egress manifest.

import assert from 'node:assert/strict';
import { beforeEach } from 'node:test';
import {
  describe as show,
  e2eTest,
  EVENT_TIMEOUT_MS,
  manifestCoverageTest,
  purpose,
  quietPeriod,
  summarize,
  useE2E,
  waitFor,
} from './harness.mjs';

const env = useE2E();

beforeEach(async () => {
  await env.resetCollector();
});

const LOCK_NAME = 'attune:flush:demo-shop';
const HEX32 = /^[0-9a-f]{32}$/;
const byPurpose = (events, p) => events.filter((e) => e.purpose === p);
const withIds = (events, ids) => events.filter((e) => ids.includes(e.id));
const distinct = (values) => [...new Set(values)];

/** Opens the demo home page, accepts everything in the banner, waits for the home page_view. */
async function acceptAll(s, url = '/') {
  await s.goto(url);
  await s.waitBannerVisible();
  await s.banner('[data-attune-action="accept-all"]').click();
  await s.waitBannerHidden('the banner to close after "accept-all"');
  const path = new URL(url, 'http://x').pathname;
  return env.waitForCollector(
    (events) => events.some((e) => e.name === 'page_view' && e.props?.path === path),
    `the page_view of ${path} after accept-all`,
  );
}

/** A localStorage value of `page`, parsed as JSON (null when absent). */
async function stored(page, key) {
  const raw = await page.evaluate((k) => localStorage.getItem(k), key);
  return raw === null ? null : JSON.parse(raw);
}

/** The events in the persisted queue (`attune:queue`) of `page`'s origin. */
async function queuedEvents(page) {
  const queue = await stored(page, 'attune:queue');
  return Array.isArray(queue?.events) ? queue.events : [];
}

// ---------------------------------------------------------------------------------------
// 1. Minimal data
// ---------------------------------------------------------------------------------------
e2eTest(env, '1. minimal data: only declared events and props leave, coarsened, with per-purpose pseudonymous ids', async (s) => {
  await acceptAll(s);
  const warningsBefore = s.consoleMessages.length;

  const ids = await s.page.evaluate(() => {
    const a = window.attune;
    return {
      pageView: a.track('page_view', { path: '/x?email=jane@example.com', email: 'jane@example.com' }, 'analytics'),
      undeclared: a.track('newsletter_signup', { email: 'jane@example.com' }, 'analytics'),
      productView: a.track('product_view', { productId: 'p03', category: 'kitchen' }, 'analytics'),
      interest: a.track('product_interest', { productId: 'p03', category: 'kitchen' }, 'personalization'),
      cartMid: a.track('add_to_cart', { productId: 'p03', price: 79.9, currency: 'EUR' }, 'marketing'),
      cartLow: a.track('add_to_cart', { productId: 'p04', price: 12, currency: 'EUR' }, 'marketing'),
    };
  });
  assert.equal(ids.undeclared, null, 'track() of an event the site does not declare returns null');
  for (const [k, id] of Object.entries(ids)) {
    if (k !== 'undeclared') assert.match(String(id), HEX32, `track() returned an id for ${k}`);
  }
  await s.flush();
  const expected = Object.entries(ids).filter(([k]) => k !== 'undeclared').map(([, id]) => id);
  const events = await env.waitForCollector(
    (evs) => expected.every((id) => evs.some((e) => e.id === id)),
    'every declared event tracked by the test',
  );

  // The site is told what was refused and what was stripped.
  const warnings = s.consoleMessages.slice(warningsBefore).map((m) => m.text);
  assert.ok(warnings.some((t) => t.startsWith('[attune] undeclared_event')), `an undeclared_event warning: ${show(warnings)}`);
  assert.ok(
    warnings.some((t) => t.startsWith('[attune] prop_stripped') && t.includes('email')),
    `a prop_stripped warning naming "email": ${show(warnings)}`,
  );

  const pageView = events.find((e) => e.id === ids.pageView);
  assert.deepEqual(pageView.props, { path: '/x' }, 'page_view keeps only the declared prop, coarsened to the URL path');
  const wire = JSON.stringify(s.batchRequests.map((r) => r.body));
  assert.ok(!wire.includes('jane'), `nothing about "jane" may leave the browser; /v1/batch bodies: ${wire.slice(0, 2000)}`);
  assert.ok(!JSON.stringify(events).includes('jane'), `nothing about "jane" may be stored: ${show(events)}`);
  const undeclared = [...events, ...s.sentEvents].filter((e) => e.name === 'newsletter_signup');
  assert.deepEqual(undeclared, [], 'the undeclared event is never sent');

  const cart = (id) => events.find((e) => e.id === id).props;
  assert.deepEqual(cart(ids.cartMid), { productId: 'p03', price: '50-100', currency: 'EUR' }, 'a price of 79.90 is sent as the bucket "50-100"');
  assert.deepEqual(cart(ids.cartLow), { productId: 'p04', price: '<25', currency: 'EUR' }, 'a price of 12 is sent as the bucket "<25"');

  // Pseudonymous ids: one per purpose that declares one, never shared, none for personalization.
  const analyticsPids = distinct(byPurpose(events, 'analytics').map((e) => e.pid));
  const marketingPids = distinct(byPurpose(events, 'marketing').map((e) => e.pid));
  assert.equal(analyticsPids.length, 1, `all analytics events share one pid: ${show(analyticsPids)}`);
  assert.equal(marketingPids.length, 1, `all marketing events share one pid: ${show(marketingPids)}`);
  const [analyticsPid] = analyticsPids;
  const [marketingPid] = marketingPids;
  assert.match(String(analyticsPid), HEX32, 'the analytics pid is 32 hex digits');
  assert.match(String(marketingPid), HEX32, 'the marketing pid is 32 hex digits');
  assert.notEqual(analyticsPid, marketingPid, 'analytics and marketing must not share a pseudonymous id');
  const personalization = byPurpose(events, 'personalization');
  assert.ok(personalization.length > 0, 'the personalization event arrived');
  assert.ok(personalization.every((e) => !('pid' in e)), `personalization events carry no pid: ${show(personalization)}`);
  assert.ok(
    byPurpose(s.sentEvents, 'personalization').every((e) => !('pid' in e)),
    'no personalization event carries a pid on the wire',
  );
  assert.ok(JSON.stringify(await stored(s.page, 'attune:ids')).includes(analyticsPid), 'attune:ids holds the analytics pid');

  // Withdraw and grant analytics again: a new pid, the old one is gone from storage.
  await s.page.evaluate(() => window.attune.consent.withdraw(['analytics']));
  // Storage is rewritten by the next flush cycle, under the cross-tab lock (within milliseconds).
  const idsAfterWithdraw = await waitFor(
    async () => {
      const ids = JSON.stringify(await stored(s.page, 'attune:ids'));
      return ids.includes(analyticsPid) ? null : ids;
    },
    { timeout: 2000, message: 'withdrawing analytics to wipe its pid from attune:ids' },
  );
  await s.page.evaluate(() => window.attune.consent.grant(['analytics']));
  assert.equal(purpose(await s.consent(), 'analytics').status, 'granted', 'analytics is granted again');
  const again = await s.track('catalogue_filter', { category: 'home' }, 'analytics');
  const cartAgain = await s.track('add_to_cart', { productId: 'p05', price: 30, currency: 'EUR' }, 'marketing');
  await s.flush();
  const later = await env.waitForCollector(
    (evs) => [again, cartAgain].every((id) => evs.some((e) => e.id === id)),
    'the analytics and marketing events tracked after the new grant',
  );
  const newPid = later.find((e) => e.id === again).pid;
  assert.match(String(newPid), HEX32, 'the analytics event after the new grant carries a pid');
  assert.notEqual(newPid, analyticsPid, 'a new grant starts a new analytics pid (no link to the withdrawn one)');
  assert.notEqual(newPid, marketingPid, 'the new analytics pid is not the marketing one');
  assert.equal(later.find((e) => e.id === cartAgain).pid, marketingPid, 'marketing (never withdrawn) keeps its pid');
  const idsNow = JSON.stringify(await stored(s.page, 'attune:ids'));
  assert.ok(!idsNow.includes(analyticsPid), `attune:ids no longer holds the withdrawn analytics pid: ${idsNow}`);
  assert.ok(idsNow.includes(newPid), `attune:ids holds the new analytics pid: ${idsNow}`);
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors');
});

// ---------------------------------------------------------------------------------------
// 2. The persisted queue outlives its tab
// ---------------------------------------------------------------------------------------

/**
 * Accepts all, makes /v1/batch fail for this page, tracks three events and waits until the
 * page tried to send them, failed, and kept them in `attune:queue`. Returns their ids.
 */
async function queueWhileFailing(s) {
  await acceptAll(s);
  await s.page.route('**/v1/batch', (route) => route.abort());
  const ids = await s.page.evaluate(() => [
    window.attune.track('product_view', { productId: 'p06', category: 'outdoor' }, 'analytics'),
    window.attune.track('catalogue_filter', { category: 'outdoor' }, 'analytics'),
    window.attune.track('add_to_cart', { productId: 'p06', price: 45, currency: 'EUR' }, 'marketing'),
  ]);
  assert.ok(ids.every((id) => HEX32.test(String(id))), `track() returned ids: ${show(ids)}`);
  await waitFor(
    async () =>
      (await s.page.evaluate(() => window.attune.egressLog())).some(
        (p) => p.outcome === 'willRetry' && p.status == null && ids.every((id) => p.events.some((e) => e.id === id)),
      ),
    { message: 'the egress log to show a failed send (network error, willRetry) of the tracked events' },
  );
  await waitFor(async () => {
    const queued = (await queuedEvents(s.page)).map((e) => e.id);
    return ids.every((id) => queued.includes(id));
  }, { message: `attune:queue in localStorage to hold the events ${ids.join(', ')} (the network is failing)` });
  const early = withIds(await env.collectorEvents(), ids);
  assert.deepEqual(early, [], `nothing reached the collector while /v1/batch failed: ${summarize(early)}`);
  return ids;
}

/** Each of `ids` is stored exactly once; returns the stored events. */
async function assertStoredOnce(ids, message) {
  await env.waitForCollector((evs) => ids.every((id) => evs.some((e) => e.id === id)), message);
  await quietPeriod();
  const all = await env.collectorEvents();
  for (const id of ids) {
    assert.equal(all.filter((e) => e.id === id).length, 1, `event ${id} is stored exactly once: ${summarize(all)}`);
  }
  const arrived = withIds(all, ids);
  assert.deepEqual(arrived.map((e) => e.name).sort(), ['add_to_cart', 'catalogue_filter', 'product_view'], 'the same events arrive');
  return arrived;
}

e2eTest(env, '2. events queued in a tab that is closed arrive exactly once', async (s) => {
  const ids = await queueWhileFailing(s);
  // A normal close: the page may still hand its queue to sendBeacon on pagehide, or leave
  // it to the next page. Either way: every event once, none lost, none twice.
  await s.page.close();
  const next = await s.newPage('/cart.html');
  await assertStoredOnce(ids, 'the events the closed tab had queued');
  await waitFor(async () => (await queuedEvents(next)).every((e) => !ids.includes(e.id)), {
    message: 'the delivered events to leave attune:queue',
  });
});

e2eTest(env, '2b. events queued in a tab that dies (no pagehide) are sent by the next page, exactly once', async (s) => {
  const ids = await queueWhileFailing(s);
  // A crashed tab gets no pagehide, so no beacon: only the persisted queue can save these.
  const cdp = await s.context.newCDPSession(s.page);
  const crashed = s.page.waitForEvent('crash', { timeout: EVENT_TIMEOUT_MS });
  cdp.send('Page.crash').catch(() => {}); // never answered: the renderer is gone
  await crashed;
  await s.page.close().catch(() => {});
  const next = await s.newPage('/cart.html');
  await assertStoredOnce(ids, 'the events the dead tab left in attune:queue, sent by the next page');
  const carriedByNext = s.batchRequests
    .filter((r) => r.tab === 1)
    .flatMap((r) => r.body?.events ?? [])
    .filter((e) => ids.includes(e.id));
  assert.deepEqual(
    carriedByNext.map((e) => e.id).sort(),
    [...ids].sort(),
    `the new tab's /v1/batch requests carried the queued events once each: ${summarize(carriedByNext)}`,
  );
  await waitFor(async () => (await queuedEvents(next)).every((e) => !ids.includes(e.id)), {
    message: 'the delivered events to leave attune:queue',
  });
});

// ---------------------------------------------------------------------------------------
// 3. Two tabs: one sends at a time, and a withdrawal in one reaches the other
// ---------------------------------------------------------------------------------------

/**
 * Tab A (session.page) and tab B share storage. A's /v1/batch request is held in flight by
 * the test while B withdraws analytics. Tracks in A the analytics events (and, with
 * `withMarketing`, a marketing event in the same batch); returns what the checks need.
 */
async function withdrawInOtherTabWhileInFlight(s, { withMarketing }) {
  const pageA = s.page;
  await acceptAll(s);
  const pageB = await s.newPage('/cart.html');
  await env.waitForCollector(
    (evs) => evs.some((e) => e.name === 'page_view' && e.props?.path === '/cart.html'),
    "tab B's own page_view (analytics is granted in both tabs)",
  );

  const held = [];
  await pageA.route('**/v1/batch', (route) => held.push(route));
  const { analyticsIds, marketingId } = await pageA.evaluate((withMarketing) => {
    const a = window.attune;
    const analyticsIds = [
      a.track('product_view', { productId: 'p07', category: 'electronics' }, 'analytics'),
      a.track('catalogue_filter', { category: 'electronics' }, 'analytics'),
    ];
    const marketingId = withMarketing ? a.track('add_to_cart', { productId: 'p07', price: 120, currency: 'EUR' }, 'marketing') : null;
    // Not awaited: the request is held by the test, so this flush does not finish yet.
    void a.flush();
    return { analyticsIds, marketingId };
  }, withMarketing);
  await waitFor(() => held.length > 0, { message: "tab A's /v1/batch request to be on its way (held by the test)" });
  const heldRequest = held[0].request();
  const inFlight = heldRequest.postDataJSON();
  assert.deepEqual(
    inFlight.events.map((e) => e.id).sort(),
    [...analyticsIds, ...(marketingId ? [marketingId] : [])].sort(),
    `the held request carries the events just tracked: ${summarize(inFlight.events)}`,
  );

  const locks = await pageB.evaluate(() => navigator.locks.query());
  assert.ok(
    locks.held.some((l) => l.name === LOCK_NAME),
    `while tab A's request is in flight, ${LOCK_NAME} is held (seen from tab B): ${show(locks)}`,
  );

  await pageB.evaluate(() => window.attune.consent.withdraw(['analytics']));
  assert.equal(purpose(await pageB.evaluate(() => window.attune.consent.get()), 'analytics').status, 'denied', 'tab B: analytics denied');

  // Tab A notices through the storage event: its consent view, its footer, its queue.
  await waitFor(async () => purpose(await s.consent(), 'analytics').status === 'denied', {
    message: "tab A's consent.get() to show analytics denied after the withdrawal in tab B",
  });
  await waitFor(async () => /Analytics off/.test(await pageA.locator('#consent-summary').textContent()), {
    message: "tab A's footer #consent-summary to say \"Analytics off\"",
  });
  const queuedA = await queuedEvents(pageA);
  assert.deepEqual(byPurpose(queuedA, 'analytics'), [], `attune:queue holds no analytics event after the withdrawal: ${summarize(queuedA)}`);

  return { pageA, pageB, held, heldRequest, inFlight, analyticsIds, marketingId };
}

/**
 * Lets the held requests go. One the page aborted is torn down (route.abort): Playwright
 * would otherwise still forward a paused request to the collector after the page gave it up,
 * which no real connection does once the browser cancelled it before sending.
 */
async function releaseHeld(held) {
  const released = [];
  while (held.length) {
    const route = held.shift();
    const failure = route.request().failure();
    if (failure) {
      await route.abort().catch(() => {});
      released.push(`aborted by the page (${failure.errorText})`);
    } else {
      await route.continue().then(
        () => released.push('continued'),
        (err) => released.push(`continue failed: ${err.message.split('\n')[0]}`),
      );
    }
  }
  return released;
}

e2eTest(env, '3. two tabs: one flush at a time under the Web Lock; withdrawing in tab B purges tab A and aborts its request', async (s, t) => {
  const { pageA, held, heldRequest, analyticsIds } = await withdrawInOtherTabWhileInFlight(s, { withMarketing: false });

  await waitFor(() => heldRequest.failure(), {
    message: "tab A to abort its in-flight request that carries only withdrawn analytics events",
  });
  const released = await releaseHeld(held);
  await pageA.unroute('**/v1/batch');
  await s.flush();
  await quietPeriod();
  const leaked = withIds(await env.collectorEvents(), analyticsIds);
  assert.deepEqual(leaked, [], `no withdrawn analytics event may reach the collector (held requests: ${show(released)}): ${summarize(leaked)}`);
  const analyticsSent = s.sentEvents.filter((e) => analyticsIds.includes(e.id));
  assert.equal(
    analyticsSent.length,
    analyticsIds.length,
    `the withdrawn events were in the aborted request and in no later one (either tab): ${summarize(analyticsSent)}`,
  );
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors in either tab');

  await t.test(
    'the egress log records the aborted request and the events it carried',
    async () => {
      const log = await pageA.evaluate(() => window.attune.egressLog());
      assert.ok(
        log.some((p) => p.outcome === 'aborted' && analyticsIds.every((id) => p.events.some((e) => e.id === id))),
        `an "aborted" entry with ${analyticsIds.join(', ')}; egress log: ${show(log.map((p) => [p.status, p.outcome, p.events.map((e) => e.name)]))}`,
      );
    },
  );
});

e2eTest(
  env,
  '3b. two tabs: a withdrawal in tab B also stops tab A\'s in-flight request when it mixes withdrawn and granted purposes',
  async (s) => {
    const { pageA, held, heldRequest, inFlight, analyticsIds, marketingId } = await withdrawInOtherTabWhileInFlight(s, { withMarketing: true });

    // What an auditor needs: either the request is cancelled, or it never delivers the
    // withdrawn events. Give the SDK the same time as in test 3 to abort, then release.
    await waitFor(() => heldRequest.failure(), { timeout: 3000, message: 'tab A to abort its in-flight request' }).catch(() => {});
    const aborted = heldRequest.failure();
    const released = await releaseHeld(held);
    await pageA.unroute('**/v1/batch');
    await s.flush();
    // Positive control: the marketing event is still granted and arrives.
    await env.waitForCollector((evs) => evs.some((e) => e.id === marketingId), 'the marketing event of the held batch (still granted)');
    await quietPeriod();
    const leaked = withIds(await env.collectorEvents(), analyticsIds);
    assert.deepEqual(
      leaked,
      [],
      `events of the withdrawn purpose reached the collector: ${summarize(leaked)} ` +
        `(tab A ${aborted ? `aborted the request: ${aborted.errorText}` : 'did NOT abort the request'}; held requests: ${show(released)})`,
    );

    // And the egress log must describe what left: every event of every request A made.
    const log = await pageA.evaluate(() => window.attune.egressLog());
    const logged = new Set(log.flatMap((p) => p.events.map((e) => e.id)));
    const unlogged = inFlight.events.filter((e) => !logged.has(e.id));
    assert.deepEqual(
      unlogged,
      [],
      `the egress log omits events that were in a request tab A sent: ${summarize(unlogged)}; log: ${show(log.map((p) => [p.status, p.outcome, p.events.map((e) => e.name)]))}`,
    );
  },
);

// ---------------------------------------------------------------------------------------
// 4. Offline
// ---------------------------------------------------------------------------------------
e2eTest(env, '4. offline: nothing is attempted, events wait in attune:queue and go out when back online', async (s) => {
  await acceptAll(s);
  const requestsBefore = s.batchRequests.length;

  await s.context.setOffline(true);
  assert.equal(await s.page.evaluate(() => navigator.onLine), false, 'navigator.onLine is false');
  const ids = await s.page.evaluate(() => [
    window.attune.track('product_view', { productId: 'p08', category: 'home' }, 'analytics'),
    window.attune.track('add_to_cart', { productId: 'p08', price: 60, currency: 'EUR' }, 'marketing'),
  ]);
  await s.flush();
  await quietPeriod();
  assert.equal(
    s.batchRequests.length,
    requestsBefore,
    `no /v1/batch request may be attempted while offline, saw: ${summarize(s.sentEvents.slice(-5))}`,
  );
  const queued = (await queuedEvents(s.page)).map((e) => e.id);
  assert.ok(ids.every((id) => queued.includes(id)), `the events wait in attune:queue: ${show(queued)}`);

  await s.context.setOffline(false);
  await env.waitForCollector(
    (evs) => ids.every((id) => evs.some((e) => e.id === id)),
    'the events tracked offline, sent by the "online" event without an explicit flush',
  );
  assert.ok(s.batchRequests.length > requestsBefore, 'sending resumed');
});

// ---------------------------------------------------------------------------------------
// 5. Retry-After and the egress log
// ---------------------------------------------------------------------------------------
e2eTest(env, '5. a 429 with Retry-After is honoured, and the egress log and "your data" page show it', async (s) => {
  await acceptAll(s);

  // With Retry-After: 1 the SDK's own first back-off (500–1000 ms, jittered) could land near
  // 1 s anyway; 2 s can only be met by honouring the header.
  const RETRY_AFTER_S = 2;
  const answered = [];
  await s.page.route('**/v1/batch', async (route) => {
    if (answered.length === 0) {
      answered.push({ status: 429, at: Date.now() });
      await route.fulfill({
        status: 429,
        headers: { 'Retry-After': String(RETRY_AFTER_S), 'content-type': 'application/json' },
        body: '{"error":"rate_limited"}',
      });
    } else {
      answered.push({ status: 'forwarded', at: Date.now() });
      await route.continue();
    }
  });

  const id = await s.track('catalogue_filter', { category: 'kitchen' }, 'analytics');
  assert.match(String(id), HEX32);
  await s.flush();
  const events = await env.waitForCollector((evs) => evs.some((e) => e.id === id), 'the event after the 429', 3 * RETRY_AFTER_S * 1000 + 5000);
  await quietPeriod();
  const all = await env.collectorEvents();
  assert.equal(all.filter((e) => e.id === id).length, 1, 'the event is stored exactly once');
  const onWire = s.sentEvents.filter((e) => e.id === id).length;
  assert.equal(onWire, 2, `the event left twice: the 429 and the retry, saw ${onWire}: ${show(answered)}`);
  assert.equal(answered[0]?.status, 429, 'the first attempt got the 429');
  const retryAt = answered[1]?.at;
  const waited = retryAt - answered[0].at;
  assert.ok(
    waited >= RETRY_AFTER_S * 1000 - 100,
    `the retry came ${waited} ms after a 429 with Retry-After: ${RETRY_AFTER_S} (must wait ≥ ${RETRY_AFTER_S} s)`,
  );
  const storedEvent = events.find((e) => e.id === id);
  assert.ok(storedEvent.receivedAt >= answered[0].at + RETRY_AFTER_S * 1000 - 100, `stored at ${stored.receivedAt}, 429 at ${answered[0].at}`);

  const log = await s.page.evaluate(() => window.attune.egressLog());
  const carrying = log.filter((p) => p.events.some((e) => e.id === id));
  const refusedIdx = carrying.findIndex((p) => p.status === 429 && p.outcome === 'willRetry');
  const deliveredIdx = carrying.findIndex((p) => p.status === 200 && p.outcome === 'delivered');
  assert.ok(refusedIdx >= 0, `the egress log shows the 429 as willRetry: ${show(carrying)}`);
  assert.ok(deliveredIdx > refusedIdx, `the egress log shows a later 200 delivered entry: ${show(carrying)}`);
  const delivered = carrying[deliveredIdx];
  assert.equal(delivered.transport, 'fetch');
  assert.equal(delivered.destination, '/v1/batch');
  assert.ok(delivered.purposes.includes('analytics'), `the delivered entry names its purposes: ${show(delivered.purposes)}`);
  assert.ok(delivered.at >= carrying[refusedIdx].at + RETRY_AFTER_S * 1000 - 100, 'the log times are Retry-After apart');
  const entry = delivered.events.find((e) => e.id === id);
  assert.deepEqual(
    { name: entry.name, purpose: entry.purpose, props: entry.props, pid: entry.pid },
    { name: storedEvent.name, purpose: storedEvent.purpose, props: storedEvent.props, pid: storedEvent.pid },
    'the log entry shows what the collector stored',
  );
  assert.deepEqual((await stored(s.page, 'attune:egress-log'))?.entries, log, 'attune.egressLog() is what attune:egress-log holds');

  // The visitor's view of it.
  await s.goto('/your-data.html');
  const centre = 'attune-privacy-center';
  const row = s.page.locator(`${centre} tr[data-attune-field="events[].props.path"][data-attune-purpose="analytics"]`);
  assert.equal(await row.count(), 1, 'the manifest table has a row for events[].props.path (analytics)');
  assert.match(await row.textContent(), /395 days/, 'the row shows the analytics retention');
  const entries = s.page.locator(`${centre} li[data-attune-outcome]`);
  assert.ok((await entries.count()) >= 2, 'the privacy centre lists the payloads that left');
  const outcomes = await entries.evaluateAll((els) => els.map((el) => el.dataset.attuneOutcome));
  assert.ok(outcomes.includes('willRetry') && outcomes.includes('delivered'), `the list shows willRetry and delivered: ${show(outcomes)}`);
  assert.deepEqual(s.cspViolations, [], 'the page renders under the strict CSP');
});

// ---------------------------------------------------------------------------------------
// Last: everything this file saw leave the browser is declared in the egress manifest.
// ---------------------------------------------------------------------------------------
manifestCoverageTest(env);
