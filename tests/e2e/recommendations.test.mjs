// On-device recommendations in the demo shop, in real headless Chromium: the home rail learns
// from product views only with personalization, says why in plain words, honours "Don't show",
// and forgets everything when personalization is withdrawn. Without personalization the rail is
// popularity only, the visitor's browsing is never stored, and nothing about it is sent.

import assert from 'node:assert/strict';
import { beforeEach } from 'node:test';
import { e2eTest, manifestCoverageTest, quietPeriod, useE2E, waitFor } from './harness.mjs';

const env = useE2E();

beforeEach(async () => {
  await env.resetCollector();
});

const RAIL = 'attune-recommendations';
const RECS_KEY = 'attune:recs';
const WRITES_KEY = 'e2e:local-writes';

/** Records (in sessionStorage, which survives navigations) every key any script writes to localStorage. */
const watchWrites = {
  initScripts: [
    {
      content: `(() => {
        const setItem = Storage.prototype.setItem;
        Storage.prototype.setItem = function (key, value) {
          if (this === window.localStorage) {
            const keys = JSON.parse(sessionStorage.getItem(${JSON.stringify(WRITES_KEY)}) || '[]');
            if (!keys.includes(key)) setItem.call(sessionStorage, ${JSON.stringify(WRITES_KEY)}, JSON.stringify([...keys, key]));
          }
          return setItem.call(this, key, value);
        };
      })();`,
    },
  ],
};

const product = (id) => `/product.html?id=${id}`;

async function clickBanner(s, action) {
  await s.waitBannerVisible();
  await s.banner(`[data-attune-action="${action}"]`).click();
  await s.waitBannerHidden();
}

/** The demo's published catalogue: id → its category and tags. */
async function catalogTags() {
  const res = await fetch(`${env.baseURL}/attune-catalog.json`);
  assert.equal(res.status, 200, 'the demo publishes /attune-catalog.json');
  const catalog = await res.json();
  return new Map(catalog.items.map((i) => [i.id, [i.category, ...i.tags]]));
}

/**
 * The home rail once it shows what the SDK ranks now: `{heading, personal, items: [{id,
 * reasons}]}` (reasons as the "Why?" panel words them), with `kinds`, the reason kinds the SDK
 * gave for the same request.
 */
async function homeRail(s) {
  let last;
  await waitFor(
    async () => {
      last = await s.page.evaluate(async (tag) => {
        const el = document.querySelector(tag);
        if (!el?.shadowRoot) return null;
        const expected = await window.attune.recommend({ slot: 'home', k: 4 });
        const items = [...el.shadowRoot.querySelectorAll('li[data-attune-item]')].map((li) => ({
          id: li.dataset.attuneItem,
          reasons: [...li.querySelectorAll('.why li')].map((r) => r.textContent),
        }));
        return {
          heading: el.shadowRoot.querySelector('h2')?.textContent,
          personal: el.dataset.attunePersonal,
          items,
          kinds: [...new Set(expected.flatMap((r) => r.because.map((b) => b.kind)))].sort(),
          current: JSON.stringify(items.map((i) => i.id)) === JSON.stringify(expected.map((r) => r.id)),
        };
      }, RAIL);
      return last?.current && last.items.length > 0;
    },
    { message: () => `the home rail to show the current ranking: ${JSON.stringify(last)}` },
  );
  return last;
}

const ids = (rail) => rail.items.map((i) => i.id);

function assertClean(s) {
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors');
  assert.deepEqual(s.cspViolations, [], 'no CSP violations');
  assert.deepEqual(s.consoleErrors, [], 'no console errors');
}

e2eTest(env, 'with personalization, viewing products changes the home rail and "Why?" names what was viewed', async (s) => {
  await s.goto('/');
  await clickBanner(s, 'accept-all');
  const before = await homeRail(s);
  assert.equal(before.heading, 'Popular right now', 'no signals yet: the rail is the popular one');
  assert.deepEqual(before.kinds, ['popular']);

  await s.goto(product('p01'));
  await s.goto(product('p02'));
  const stored = JSON.parse((await s.storage()).local[RECS_KEY] ?? 'null');
  assert.deepEqual(stored?.history.map((h) => [h.item, h.kind]), [['p01', 'view'], ['p02', 'view']], 'both views are kept on the device');

  await s.goto('/');
  const after = await homeRail(s);
  assert.notDeepEqual(ids(after), ids(before), 'the rail changed');
  assert.equal(after.heading, 'Recommended for you');
  assert.equal(after.personal, 'true');
  assert.ok(!ids(after).includes('p01') && !ids(after).includes('p02'), 'viewed products are not recommended back on the home page');

  const viewed = /^Because you viewed (Alpine Trail Backpack 28L|Merino Hiking Socks \(2 pairs\))$/;
  const index = after.items.findIndex((i) => i.reasons.some((r) => viewed.test(r)));
  assert.ok(index >= 0, `an item is recommended because of a viewed product: ${JSON.stringify(after.items)}`);
  const item = s.page.locator(`${RAIL} li[data-attune-item="${after.items[index].id}"]`);
  const why = item.locator('[data-attune-action="why"]');
  const panel = item.locator('.why');
  assert.equal(await why.getAttribute('aria-expanded'), 'false');
  assert.equal(await panel.isVisible(), false, 'the reasons start hidden');
  await why.click();
  assert.equal(await why.getAttribute('aria-expanded'), 'true');
  assert.equal(await why.getAttribute('aria-controls'), await panel.getAttribute('id'));
  await panel.getByText(viewed).first().waitFor({ state: 'visible' });
  await panel.locator('[data-attune-action="forget"]').first().waitFor({ state: 'visible' });
  await panel.locator('[data-attune-action="not-interested"]').waitFor({ state: 'visible' });
  // Escape closes it and gives focus back to the button.
  await panel.locator('[data-attune-action="not-interested"]').focus();
  await s.page.keyboard.press('Escape');
  assert.equal(await why.getAttribute('aria-expanded'), 'false');
  assert.equal(await why.evaluate((b) => b.getRootNode().activeElement === b), true, 'focus is back on "Why?"');

  // The signals stay on the device: what leaves is only the declared events.
  await s.flush();
  await quietPeriod();
  const sent = JSON.stringify(s.batchRequests.map((r) => r.body));
  for (const word of ['history', 'because', 'notInterested', 'muted']) {
    assert.ok(!sent.includes(`"${word}"`), `no /v1/batch body carries "${word}"`);
  }
  assertClean(s);
});

e2eTest(
  env,
  'without personalization the rail is popularity only whatever the browsing, nothing is stored and nothing sent',
  async (s) => {
    await s.goto('/');
    await clickBanner(s, 'reject-all');
    const before = await homeRail(s);
    assert.equal(before.heading, 'Popular right now');
    assert.deepEqual(before.kinds, ['popular'], 'every reason is popularity');
    assert.ok(before.items.every((i) => i.reasons.length > 0 && i.reasons.every((r) => /^Popular (in .+|right now)$/.test(r))), JSON.stringify(before.items));

    for (const id of ['p07', 'p08', 'p09']) await s.goto(product(id));
    await s.page.locator('#add-to-cart').click();
    // A click on a suggestion is a signal only with personalization.
    const suggestion = s.page.locator('#related-list .recommendation a').first();
    const next = await suggestion.getAttribute('data-product-id');
    await Promise.all([s.page.waitForURL(`**/product.html?id=${next}`), suggestion.click()]);
    await s.waitReady();
    await s.goto('/cart.html');
    await s.page.locator(`${RAIL} li[data-attune-item]`).first().waitFor();
    await s.goto('/');
    const after = await homeRail(s);
    assert.deepEqual(ids(after), ids(before), 'the same rail after browsing electronics');
    assert.deepEqual(after.kinds, ['popular']);
    assert.equal(after.personal, 'false');

    const { local, session } = await s.storage();
    assert.equal(local[RECS_KEY], undefined, 'attune:recs is not in localStorage');
    const written = JSON.parse(session[WRITES_KEY] ?? '[]');
    assert.ok(written.includes('attune:consent'), `the write log sees the SDK's writes: ${written.join(', ')}`);
    assert.ok(!written.includes(RECS_KEY), `attune:recs was never written (keys written: ${written.join(', ')})`);
    assert.deepEqual(await s.page.evaluate(() => window.attune.recommendations.signals().history), []);

    await s.flush();
    await quietPeriod();
    assert.deepEqual(s.batchRequests.map((r) => r.body?.events?.map((e) => e.name)), [], 'nothing was sent at all');
    assert.deepEqual(await env.collectorEvents(), []);
    assertClean(s);
  },
  { sessionOptions: watchWrites },
);

e2eTest(env, '"Don’t show" in the Why panel removes items with that tag from the next rail, also after a reload', async (s) => {
  const tags = await catalogTags();
  await s.goto('/');
  await clickBanner(s, 'accept-all');
  await s.goto(product('p04'));
  await s.goto('/');
  const before = await homeRail(s);

  // The first item's "Why?" panel, used with the keyboard.
  const item = s.page.locator(`${RAIL} li[data-attune-item]`).first();
  await item.locator('[data-attune-action="why"]').focus();
  await s.page.keyboard.press('Enter');
  const mute = item.locator('[data-attune-action="mute"]').first();
  await mute.waitFor({ state: 'visible' });
  const tag = await mute.getAttribute('data-attune-tag');
  assert.match(await mute.textContent(), /^Don’t show /);
  assert.ok(before.items.some((i) => tags.get(i.id).includes(tag)), `the rail had an item tagged ${tag}`);
  await mute.focus();
  await s.page.keyboard.press('Enter');

  const after = await homeRail(s);
  const tagged = after.items.filter((i) => tags.get(i.id).includes(tag));
  assert.deepEqual(tagged, [], `no item tagged ${tag} after muting it: ${JSON.stringify(after.items)}`);
  await s.page.locator(`${RAIL} .status`).filter({ hasText: 'Recommendations updated.' }).waitFor({ state: 'attached' });
  assert.equal(
    await s.page.locator(RAIL).evaluate((el) => el.shadowRoot.activeElement?.matches('li > a') ?? false),
    true,
    'focus stays in the rail, on an item link',
  );
  assert.deepEqual(JSON.parse((await s.storage()).local[RECS_KEY]).muted, [tag]);

  // "Not interested" takes the item away for good.
  const dismissed = after.items[0].id;
  const first = s.page.locator(`${RAIL} li[data-attune-item="${dismissed}"]`);
  await first.locator('[data-attune-action="why"]').click();
  await first.locator('[data-attune-action="not-interested"]').click();
  await first.waitFor({ state: 'detached' });
  assert.ok(!ids(await homeRail(s)).includes(dismissed), `${dismissed} is gone from the rail`);
  const history = JSON.parse((await s.storage()).local[RECS_KEY]).history;
  assert.ok(history.some((h) => h.item === dismissed && h.kind === 'notInterested'), JSON.stringify(history));

  await s.reload();
  const reloaded = await homeRail(s);
  assert.deepEqual(reloaded.items.filter((i) => tags.get(i.id).includes(tag)), [], 'the mute is kept on the device');
  assert.ok(!ids(reloaded).includes(dismissed), 'and so is "not interested"');

  // The "Your data" page (the privacy centre) lists it and can undo it.
  await s.goto('/your-data.html');
  await s.page.locator(`attune-privacy-center [data-attune-action="unmute"][data-attune-tag="${tag}"]`).click();
  await s.goto('/');
  assert.deepEqual(await s.page.evaluate(() => window.attune.recommendations.signals().muted), []);
  assertClean(s);
});

e2eTest(env, 'withdrawing personalization removes attune:recs and the rail goes back to popularity', async (s) => {
  await s.goto('/');
  await clickBanner(s, 'accept-all');
  await s.goto(product('p10'));
  await s.goto(product('p11'));
  await s.goto('/');
  assert.equal((await homeRail(s)).personal, 'true');
  assert.ok((await s.storage()).local[RECS_KEY], 'signals are stored while personalization is on');

  await s.page.locator('#privacy-settings').click();
  const toggle = await s.purposeToggle('personalization');
  await toggle.uncheck();
  await clickBanner(s, 'save');
  assert.equal((await s.storage()).local[RECS_KEY], undefined, 'attune:recs is gone');
  const rail = await homeRail(s);
  assert.deepEqual(rail.kinds, ['popular'], 'the rail no longer uses anything about the visitor');
  assert.equal(rail.heading, 'Popular right now');
  assert.match(await s.page.locator('#for-you-note').textContent(), /Turn on Personalization/);

  await s.goto(product('p12'));
  assert.equal((await s.storage()).local[RECS_KEY], undefined, 'and nothing new is stored');
  assertClean(s);
});

e2eTest(env, 'product and cart pages: "similar" and "cart" rails, explained, and clicks tracked', async (s) => {
  await s.goto('/');
  await clickBanner(s, 'accept-all');
  await s.goto(product('p05'));
  const cards = s.page.locator('#related-list .recommendation');
  await cards.first().waitFor();
  const related = await cards.evaluateAll((els) => els.map((el) => el.querySelector('a').dataset.productId));
  assert.ok(related.length > 0 && !related.includes('p05'), `related products, not the product itself: ${related}`);
  assert.match(await cards.first().locator('.card-reason').textContent(), /^Similar to Cast Iron Skillet 26cm$/);

  await s.page.locator('#add-to-cart').click();
  await s.goto('/cart.html');
  const rail = s.page.locator(RAIL);
  await rail.locator('li[data-attune-item]').first().waitFor();
  assert.equal(await rail.locator('h2').textContent(), 'Goes well with your cart');
  const cartIds = await rail.locator('li[data-attune-item]').evaluateAll((els) => els.map((el) => el.dataset.attuneItem));
  assert.ok(!cartIds.includes('p05'), 'the cart’s own items are not suggested');
  await rail.locator('[data-attune-action="why"]').first().click();
  await rail.locator('.why').first().getByText(/^Goes with Cast Iron Skillet 26cm$/).waitFor();

  const first = rail.locator('li[data-attune-item] a').first();
  await Promise.all([s.page.waitForURL(/product\.html\?id=/), first.click()]);
  await s.waitReady();
  await s.flush();
  const events = await env.waitForCollector(
    (evs) => evs.some((e) => e.name === 'recommendation_click'),
    'recommendation_click at the collector',
  );
  const click = events.find((e) => e.name === 'recommendation_click');
  assert.deepEqual(click.props, { productId: cartIds[0], from: 'cart', position: 0 });
  const history = await s.page.evaluate(() => window.attune.recommendations.signals().history.map((h) => [h.item, h.kind]));
  assert.ok(history.some(([item, kind]) => item === cartIds[0] && kind === 'click'), `the click is a signal: ${JSON.stringify(history)}`);
  assertClean(s);
});

manifestCoverageTest(env);
