// Consent behaviour of the demo shop in real headless Chromium, checked where a visitor
// or an auditor would check it: what the page shows, what leaves the browser
// (/v1/batch requests), what the collector stored, and what the browser keeps.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { beforeEach } from 'node:test';
import {
  describe as show,
  e2eTest,
  manifestCoverageTest,
  purpose,
  quietPeriod,
  statuses,
  summarize,
  useE2E,
} from './harness.mjs';

const env = useE2E();

beforeEach(async () => {
  await env.resetCollector();
});

const NON_NECESSARY = ['analytics', 'personalization', 'marketing'];
const pageViews = (events) => events.filter((e) => e.name === 'page_view');
const paths = (events) => pageViews(events).map((e) => e.props?.path);
/** What a page_view carries for a URL: its path only (the demo declares `path` as "urlPath"). */
const pathOf = (url) => new URL(url, 'http://x').pathname;
const byPurpose = (events, p) => events.filter((e) => e.purpose === p);
/** `{analytics, personalization, marketing}` statuses of a ConsentView. */
const choices = (view) => {
  const all = statuses(view);
  return Object.fromEntries(NON_NECESSARY.map((id) => [id, all[id]]));
};

/** Clicks a banner button and waits for the banner to close. */
async function clickBanner(s, action) {
  await s.banner(`[data-attune-action="${action}"]`).click();
  await s.waitBannerHidden(`the banner to close after "${action}"`);
}

/** Waits until the collector has a page_view for every path in `expected`. */
function waitForPageViews(expected, message) {
  return env.waitForCollector(
    (events) => expected.every((p) => paths(events).includes(p)),
    message ?? `page_view events for ${expected.join(', ')}`,
  );
}

/** The SDK's own keys in a storage dump. */
const attuneKeys = (area) => Object.keys(area).filter((k) => k.startsWith('attune:')).sort();

// ---------------------------------------------------------------------------------------
// 1. First visit, no clicks
// ---------------------------------------------------------------------------------------
e2eTest(env, '1. first visit without a choice: banner shown, nothing sent, nothing stored', async (s) => {
  await s.goto('/');
  await s.waitBannerVisible('the consent banner on a first visit');

  const view = await s.consent();
  assert.equal(view.needsBanner, true, 'consent.get().needsBanner on a first visit');
  for (const id of NON_NECESSARY) {
    assert.equal(purpose(view, id).status, 'notAsked', `${id} must be "notAsked" before any choice`);
  }

  // Browse like a visitor who ignores the banner: a product, then the cart.
  await s.goto('/product.html?id=p03');
  await s.waitBannerVisible('the banner to still be shown on the second page (no choice made)');
  await s.page.locator('#add-to-cart').waitFor();
  await s.goto('/cart.html');
  await s.waitBannerVisible('the banner to still be shown on the third page');
  await s.flush();
  await quietPeriod();

  assert.equal(
    s.batchRequests.length,
    0,
    `no request may reach /v1/batch before consent, saw ${s.batchRequests.length}: ${summarize(s.sentEvents)}`,
  );
  const stored = await env.collectorEvents();
  assert.deepEqual(stored, [], `the collector must hold no events, has: ${summarize(stored)}`);

  const storage = await s.storage();
  assert.deepEqual(attuneKeys(storage.local), [], `no attune: keys in localStorage before a choice: ${show(storage.local)}`);
  assert.deepEqual(attuneKeys(storage.session), [], `no attune: keys in sessionStorage before a choice: ${show(storage.session)}`);
  // Nothing else either: neither the SDK nor the shop writes anything on a plain visit.
  assert.deepEqual(Object.keys(storage.local), [], 'localStorage must be empty on a first visit');
  assert.deepEqual(Object.keys(storage.session), [], 'sessionStorage must be empty on a first visit');
  assert.deepEqual(storage.indexedDB, [], 'no IndexedDB database may be created on a first visit');
  assert.equal(storage.documentCookie, '', 'document.cookie must be empty');
  assert.deepEqual(storage.cookies, [], 'the browser context must hold no cookies');
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors');
});

// ---------------------------------------------------------------------------------------
// 2. Accept analytics only
// ---------------------------------------------------------------------------------------
e2eTest(env, '2. analytics only: analytics arrives (buffered page_view too), personalization/marketing never', async (s) => {
  await s.goto('/');
  await s.waitBannerVisible();
  // The home page_view has been tracked while consent was undecided: it sits in the
  // SDK's memory-only buffer. Nothing may have left yet.
  const beforeChoice = await s.page.evaluate(() => Date.now());
  assert.equal(s.batchRequests.length, 0, 'nothing may be sent before the visitor chooses');

  const analytics = await s.purposeToggle('analytics');
  await analytics.check();
  for (const id of ['personalization', 'marketing']) {
    const toggle = await s.purposeToggle(id);
    assert.equal(await toggle.isChecked(), false, `${id} toggle must start unchecked`);
  }
  await clickBanner(s, 'save');

  const view = await s.consent();
  assert.deepEqual(
    choices(view),
    { analytics: 'granted', personalization: 'denied', marketing: 'denied' },
    'consent after saving "analytics only"',
  );
  assert.equal(purpose(view, 'necessary').status, 'granted', 'necessary is always granted');
  assert.equal(purpose(view, 'analytics').source, 'banner', 'analytics was granted through the banner');
  assert.equal(view.needsBanner, false, 'no banner needed once every purpose is answered');

  // The buffered home page_view is delivered, with its original capture time.
  const first = await waitForPageViews(['/'], 'the pre-consent page_view of / to be delivered after the choice');
  const homeView = pageViews(first).find((e) => e.props.path === '/');
  assert.ok(
    homeView.ts < beforeChoice,
    `the buffered page_view keeps its capture time (ts ${homeView.ts}) from before the click (${beforeChoice})`,
  );

  // Browse and do things that produce personalization and marketing events.
  await s.goto('/product.html?id=p01');
  await s.page.locator('#add-to-cart').click(); // add_to_cart (marketing)
  await s.page.locator('#cart-status').filter({ hasText: 'Added' }).waitFor();
  await s.flush();
  const recommendation = s.page.locator('#related-list .recommendation a').first();
  const recommendedId = await recommendation.getAttribute('data-product-id');
  await Promise.all([s.page.waitForURL(`**/product.html?id=${recommendedId}`), recommendation.click()]); // recommendation_click
  await s.waitReady();
  await s.track('recommendation_click', { productId: 'p02', from: 'test' }, 'personalization');
  await s.track('add_to_cart', { productId: 'p02', price: 24.5 }, 'marketing');
  await s.goto('/cart.html');
  await s.page.locator('#checkout').click(); // checkout_start (marketing)
  await s.flush();

  // Two product pages: the query string (?id=…) never leaves, so both are "/product.html".
  const expectedPaths = ['/', '/product.html', '/product.html', '/cart.html'];
  await env.waitForCollector(
    (events) => paths(events).filter((p) => p === '/product.html').length >= 2 && ['/', '/cart.html'].every((p) => paths(events).includes(p)),
    'page_view events for /, two product pages and /cart.html',
  );
  await env.waitForCollector(
    (events) => ['p01', recommendedId].every((id) => events.some((e) => e.name === 'product_view' && e.props?.productId === id)),
    `product_view events for p01 and ${recommendedId}`,
  );
  await quietPeriod();

  const stored = await env.collectorEvents();
  const notAnalytics = stored.filter((e) => e.purpose !== 'analytics');
  assert.deepEqual(notAnalytics, [], `only analytics events may reach the collector, also got: ${summarize(notAnalytics)}`);
  for (const p of new Set(expectedPaths)) {
    assert.equal(
      paths(stored).filter((x) => x === p).length,
      expectedPaths.filter((x) => x === p).length,
      `one page_view per visit of ${p} (no loss, no double counting): ${summarize(pageViews(stored))}`,
    );
  }
  assert.ok(
    stored.every((e) => !JSON.stringify(e.props ?? {}).includes('?')),
    `no query string leaves the device: ${show(stored.map((e) => e.props))}`,
  );
  const sentNotAnalytics = s.sentEvents.filter((e) => e.purpose !== 'analytics');
  assert.deepEqual(sentNotAnalytics, [], `no non-analytics event may leave the browser: ${summarize(sentNotAnalytics)}`);
  for (const r of s.batchRequests) {
    assert.deepEqual(
      [...(r.body?.consent?.granted ?? [])].sort(),
      ['analytics', 'necessary'],
      `each batch declares exactly the granted purposes: ${show(r.body?.consent)}`,
    );
    assert.equal(r.body?.siteId, 'demo-shop');
  }
  // Proof of consent: the receipt the visitor can download and the one the collector
  // stored name the same hash-chain head, with the same granted purposes.
  const receipt = await s.page.evaluate(() => window.attune.consent.receipt());
  assert.equal(receipt?.verified, true, `the visitor's consent receipt verifies: ${show(receipt)}`);
  assert.equal(receipt.head, (await s.consent()).record.head, 'receipt head = consent.get().record.head');
  const receipts = await env.collectorReceipts();
  const match = receipts.find((r) => r.hash === receipt.head);
  assert.ok(match, `the collector stored the visitor's receipt head ${receipt.head}: ${show(receipts)}`);
  assert.deepEqual([...match.granted].sort(), ['analytics', 'necessary'], 'the stored receipt lists what was granted');

  // The shop's on-device personalization profile is not written without consent.
  const storage = await s.storage();
  assert.equal(storage.local['demo-shop:interests'], undefined, 'no personalization profile without consent');
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors');
});

// ---------------------------------------------------------------------------------------
// 3. Withdraw analytics
// ---------------------------------------------------------------------------------------
e2eTest(env, '3. withdrawing analytics: queued analytics events are dropped, nothing more is sent', async (s) => {
  await s.goto('/');
  await s.waitBannerVisible();
  await clickBanner(s, 'accept-all');
  await waitForPageViews(['/'], 'the home page_view after accept-all');
  const baseline = await env.collectorEvents();
  const requestsBefore = s.batchRequests.length;

  // Track analytics events and withdraw in the same task — well within the 500 ms flush
  // interval — then force a flush. A marketing event tracked alongside is the positive
  // control: the pipe still works for purposes that stay granted.
  const { analyticsIds, marketingId } = await s.page.evaluate(async () => {
    const a = window.attune;
    const analyticsIds = [
      a.track('product_view', { productId: 'p07', category: 'electronics' }, 'analytics'),
      a.track('product_view', { productId: 'p08', category: 'electronics' }, 'analytics'),
      a.track('catalogue_filter', { category: 'home' }, 'analytics'),
    ];
    const marketingId = a.track('add_to_cart', { productId: 'p07', price: 179 }, 'marketing');
    a.consent.withdraw(['analytics']);
    await a.flush();
    return { analyticsIds, marketingId };
  });
  assert.ok(analyticsIds.every((id) => typeof id === 'string'), `track() returned ids: ${show(analyticsIds)}`);
  assert.equal(typeof marketingId, 'string', 'track() returned an id for the marketing event');

  await env.waitForCollector(
    (events) => events.some((e) => e.id === marketingId),
    'the marketing event tracked together with the withdrawn ones (positive control)',
  );
  const view = await s.consent();
  assert.equal(purpose(view, 'analytics').status, 'denied', `analytics is denied after withdraw: ${show(purpose(view, 'analytics'))}`);
  assert.equal(purpose(view, 'marketing').status, 'granted', 'marketing stays granted');

  // Keep browsing: page_view/product_view are tracked on every page but must stay home.
  await s.goto('/product.html?id=p09');
  await s.goto('/');
  await s.flush();
  await quietPeriod();

  const stored = await env.collectorEvents();
  const leaked = stored.filter((e) => analyticsIds.includes(e.id));
  assert.deepEqual(leaked, [], `events queued before the withdrawal must be dropped, got: ${summarize(leaked)}`);
  const newAnalytics = byPurpose(stored, 'analytics').filter((e) => !baseline.some((b) => b.id === e.id));
  assert.deepEqual(newAnalytics, [], `no analytics event may arrive after the withdrawal, got: ${summarize(newAnalytics)}`);
  const sentAnalytics = s.batchRequests
    .slice(requestsBefore)
    .flatMap((r) => r.body?.events ?? [])
    .filter((e) => e.purpose === 'analytics');
  assert.deepEqual(sentAnalytics, [], `no analytics event may leave the browser after the withdrawal: ${summarize(sentAnalytics)}`);

  // The visitor sees the withdrawal when reopening the privacy settings.
  await s.page.locator('#privacy-settings').click();
  await s.waitBannerVisible('the banner to reopen from the "Privacy settings" link');
  const toggle = await s.purposeToggle('analytics');
  assert.equal(await toggle.isChecked(), false, 'the analytics toggle shows the withdrawal');
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors');
});

e2eTest(env, '3b. withdrawing analytics from the reopened banner (uncheck + save) stops analytics', async (s) => {
  await s.goto('/');
  await s.waitBannerVisible();
  await clickBanner(s, 'accept-all');
  await waitForPageViews(['/'], 'the home page_view after accept-all');

  await s.page.locator('#privacy-settings').click();
  await s.waitBannerVisible('the banner to reopen from the "Privacy settings" link');
  const toggle = await s.purposeToggle('analytics');
  assert.equal(await toggle.isChecked(), true, 'the reopened banner shows analytics as granted');
  await toggle.uncheck();
  await clickBanner(s, 'save');
  assert.equal(purpose(await s.consent(), 'analytics').status, 'denied', 'analytics is denied after uncheck + save');
  const baseline = await env.collectorEvents();

  await s.goto('/product.html?id=p11');
  await s.page.locator('#add-to-cart').click();
  await s.flush();
  await env.waitForCollector(
    (events) => events.some((e) => e.name === 'add_to_cart' && e.props?.productId === 'p11'),
    'add_to_cart (marketing, still granted) as a positive control',
  );
  await quietPeriod();
  const fresh = (await env.collectorEvents()).filter((e) => !baseline.some((b) => b.id === e.id));
  const analytics = byPurpose(fresh, 'analytics');
  assert.deepEqual(analytics, [], `no analytics after withdrawing it in the banner, got: ${summarize(analytics)}`);
});

// ---------------------------------------------------------------------------------------
// 4. Global Privacy Control
// ---------------------------------------------------------------------------------------
e2eTest(
  env,
  '4. GPC: marketing denied by the signal without a click, and accept-all does not override it',
  async (s) => {
    await s.goto('/');
    assert.equal(await s.page.evaluate(() => navigator.globalPrivacyControl), true, 'GPC signal is on in the page');

    const view = await s.consent();
    assert.equal(view.signals?.gpc, true, `consent.get().signals.gpc: ${show(view.signals)}`);
    const marketing = purpose(view, 'marketing');
    assert.deepEqual(
      { status: marketing.status, source: marketing.source },
      { status: 'denied', source: 'gpc' },
      'marketing is denied by GPC before any click',
    );
    assert.equal(purpose(view, 'analytics').status, 'notAsked', 'analytics is still to be asked');

    await s.waitBannerVisible('the banner (analytics/personalization still need an answer)');
    await clickBanner(s, 'accept-all');
    const after = await s.consent();
    assert.deepEqual(
      choices(after),
      { analytics: 'granted', personalization: 'granted', marketing: 'denied' },
      'accept-all grants everything except what GPC denied',
    );
    assert.equal(purpose(after, 'marketing').source, 'gpc', 'marketing stays denied on the basis of GPC');

    await s.goto('/product.html?id=p05');
    await s.page.locator('#add-to-cart').click(); // add_to_cart (marketing)
    await s.track('add_to_cart', { productId: 'p05', price: 45 }, 'marketing');
    await s.flush();
    await env.waitForCollector(
      (events) => events.some((e) => e.name === 'product_view' && e.props?.productId === 'p05'),
      'product_view of p05 (analytics is granted)',
    );
    await quietPeriod();

    const stored = await env.collectorEvents();
    assert.ok(byPurpose(stored, 'analytics').length >= 2, `analytics events arrive: ${summarize(stored)}`);
    const marketingStored = byPurpose(stored, 'marketing');
    assert.deepEqual(marketingStored, [], `no marketing event may arrive under GPC, got: ${summarize(marketingStored)}`);
    const marketingSent = byPurpose(s.sentEvents, 'marketing');
    assert.deepEqual(marketingSent, [], `no marketing event may leave the browser under GPC: ${summarize(marketingSent)}`);
    for (const r of s.batchRequests) {
      assert.ok(!r.body?.consent?.granted?.includes('marketing'), `a batch declared marketing as granted: ${show(r.body?.consent)}`);
    }
  },
  {
    sessionOptions: {
      initScripts: [
        () =>
          Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {
            get: () => true,
            configurable: true,
          }),
      ],
    },
  },
);

// ---------------------------------------------------------------------------------------
// 5. Consent record edited by hand
// ---------------------------------------------------------------------------------------

/** Flip the first `"granted"` decision to `"denied"` (keeps the JSON valid). */
function revokeOne(value) {
  const i = value.indexOf('"granted"');
  return i < 0 ? null : `${value.slice(0, i)}"denied"${value.slice(i + '"granted"'.length)}`;
}

/** Flip the first `"denied"` decision to `"granted"`: a forged grant (keeps the JSON valid). */
function forgeGrant(value) {
  const i = value.indexOf('"denied"');
  return i < 0 ? null : `${value.slice(0, i)}"granted"${value.slice(i + '"denied"'.length)}`;
}

/** Change one hex digit of the last 64-hex-digit hash in the value. */
function flipHashDigit(value) {
  const matches = [...value.matchAll(/[0-9a-f]{64}/g)];
  if (matches.length === 0) return null;
  const m = matches[matches.length - 1];
  const at = m.index + 10;
  const digit = value[at] === '0' ? '1' : '0';
  return value.slice(0, at) + digit + value.slice(at + 1);
}

for (const { label, choose, tamper } of [
  { label: 'accept all, then a decision edited from "granted" to "denied"', choose: 'accept-all', tamper: revokeOne },
  { label: 'accept all, then one digit of a hash changed', choose: 'accept-all', tamper: flipHashDigit },
  { label: 'analytics only, then a "denied" decision forged to "granted"', choose: 'analytics-only', tamper: forgeGrant },
]) {
  e2eTest(env, `5. consent record edited by hand (${label}): treated as no consent`, async (s) => {
    await s.goto('/');
    await s.waitBannerVisible();
    if (choose === 'accept-all') {
      await clickBanner(s, 'accept-all');
    } else {
      await (await s.purposeToggle('analytics')).check();
      await clickBanner(s, 'save');
    }
    await waitForPageViews(['/'], `the home page_view after ${choose}`);

    // Leave for a page of the same origin that does not run the SDK, so nothing can
    // rewrite the record between the edit and the next visit.
    await s.flush();
    await s.page.goto('/bench-empty.html');
    const { local } = await s.storage();
    const keys = attuneKeys(local);
    const target = keys.find((k) => tamper(local[k]) !== null);
    assert.ok(target, `a stored attune: value that can be tampered with (${label}); attune keys: ${show(keys.map((k) => [k, local[k].slice(0, 200)]))}`);
    const edited = tamper(local[target]);
    assert.notEqual(edited, local[target]);
    await s.page.evaluate(([k, v]) => localStorage.setItem(k, v), [target, edited]);

    const eventsBefore = (await env.collectorEvents()).length;
    const requestsBefore = s.batchRequests.length;
    const warningsBefore = s.consoleMessages.filter((m) => m.text.startsWith('[attune]')).length;

    await s.goto('/', { flushFirst: false });
    await s.waitBannerVisible('the banner to be back after the consent record was tampered with');
    const view = await s.consent();
    const granted = view.purposes.filter((p) => p.status === 'granted' && p.id !== 'necessary');
    assert.deepEqual(granted, [], `nothing may count as granted after tampering: ${show(statuses(view))}`);
    assert.equal(view.needsBanner, true, 'consent.get().needsBanner after tampering');

    await s.track('product_view', { productId: 'p01', category: 'outdoor' }, 'analytics');
    await s.flush();
    await quietPeriod();
    assert.equal(
      s.batchRequests.length - requestsBefore,
      0,
      `no /v1/batch request after tampering: ${summarize(s.sentEvents)}`,
    );
    const eventsAfter = await env.collectorEvents();
    assert.equal(eventsAfter.length, eventsBefore, `no new collector rows after tampering: ${summarize(eventsAfter)}`);
    assert.deepEqual(s.pageErrors, [], 'the page must not throw on a tampered record');
    const warnings = s.consoleMessages.filter((m) => m.text.startsWith('[attune]')).slice(warningsBefore);
    assert.ok(warnings.length > 0, 'the site is told (onWarning) that the stored consent was rejected');
  });
}

// ---------------------------------------------------------------------------------------
// 6. Strict CSP
// ---------------------------------------------------------------------------------------
e2eTest(env, '6. strict CSP + Trusted Types: every page works with zero violations and zero console errors', async (s) => {
  const pages = ['/', '/product.html?id=p04', '/cart.html', '/product.html?id=p10', '/cart.html', '/your-data.html'];
  const visited = [];
  for (const [i, url] of pages.entries()) {
    const response = await s.goto(url);
    const csp = (await response.allHeaders())['content-security-policy'];
    assert.ok(csp, `${url} is served with a Content-Security-Policy header`);
    for (const directive of [
      "script-src 'self' 'wasm-unsafe-eval'",
      "require-trusted-types-for 'script'",
      "trusted-types 'none'",
      "style-src 'self'",
    ]) {
      assert.ok(csp.includes(directive), `${url}: CSP must contain ${directive}, got: ${csp}`);
    }
    assert.equal(
      await s.page.evaluate(() => document.querySelectorAll('script:not([src]), style').length),
      0,
      `${url} has no inline <script>/<style>`,
    );
    visited.push(url);

    if (i === 0) {
      await s.waitBannerVisible();
      await clickBanner(s, 'accept-all');
    } else {
      assert.equal(await s.bannerVisible(), false, `${url}: the banner stays closed once the visitor chose`);
    }
    if (url.startsWith('/product.html')) {
      await s.page.locator('#add-to-cart').click();
      await s.page.locator('#cart-status').filter({ hasText: 'Added' }).waitFor();
    }
    if (url === '/cart.html') {
      const rows = await s.page.locator('.cart-table tbody tr').count();
      assert.ok(rows > 0, 'the cart lists what was added');
      await s.page.locator('#checkout').click();
      await s.page.locator('#cart-empty').waitFor();
    }
  }
  // The receipt download and privacy-settings link work too.
  const [download] = await Promise.all([s.page.waitForEvent('download'), s.page.locator('#download-receipt').click()]);
  assert.equal(download.suggestedFilename(), 'attune-consent-receipt.json');
  const receiptFile = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(receiptFile.format, 'attune-consent-receipt/1', 'the downloaded file is a consent receipt');
  assert.equal(receiptFile.siteId, 'demo-shop');
  assert.equal(receiptFile.verified, true, 'the downloaded receipt verifies');
  assert.equal(receiptFile.head, (await s.consent()).record.head, 'the downloaded receipt is the current record');
  await s.page.locator('#privacy-settings').click();
  await s.waitBannerVisible('the banner to reopen from "Privacy settings"');
  await s.flush();

  await waitForPageViews([...new Set(visited.map(pathOf))], 'page_view of every visited page');
  await env.waitForCollector(
    (events) => ['add_to_cart', 'checkout_start', 'product_view'].every((n) => events.some((e) => e.name === n)),
    'add_to_cart, checkout_start and product_view events',
  );

  assert.deepEqual(s.cspViolations, [], `CSP violations: ${show(s.cspViolations)}`);
  const cspConsole = s.consoleMessages.filter((m) => /Content Security Policy|Trusted Type/i.test(m.text));
  assert.deepEqual(cspConsole, [], 'no CSP / Trusted Types complaints in the console');
  assert.deepEqual(s.consoleErrors, [], `console errors: ${show(s.consoleErrors)}`);
  assert.deepEqual(s.pageErrors, [], `uncaught page errors: ${show(s.pageErrors)}`);
});

// ---------------------------------------------------------------------------------------
// Last: everything this file saw leave the browser is declared in the egress manifest.
// ---------------------------------------------------------------------------------------
manifestCoverageTest(env);
