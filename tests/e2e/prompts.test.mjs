// Progressive profiling in the demo shop, in real headless Chromium: when the question card
// appears (its trigger and its purpose), what happens to the answer (stored on the device,
// survives reloads, never re-asked, never sent), Skip backing off across reloads, and marketer
// text shown literally. The network is watched: prompts are measured by question id only.

import assert from 'node:assert/strict';
import { beforeEach } from 'node:test';
import { e2eTest, quietPeriod, useE2E } from './harness.mjs';

const env = useE2E();

beforeEach(async () => {
  await env.resetCollector();
});

const CARD = 'attune-prompt';

/** Accepts everything in the banner of the current page. */
async function acceptAll(s) {
  await s.waitBannerVisible();
  await s.banner('[data-attune-action="accept-all"]').click();
  await s.waitBannerHidden();
}

const product = (id) => `/product.html?id=${id}`;
const cardCount = (s) => s.page.locator(CARD).count();
const next = (s) => s.page.evaluate(() => window.attune.prompts.next());
const traceOf = (decision, id) => decision.trace.find((line) => line.question === id)?.reason ?? '';

function assertClean(s) {
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors');
  assert.deepEqual(s.cspViolations, [], 'no CSP violations');
  assert.deepEqual(s.consoleErrors, [], 'no console errors');
}

e2eTest(env, 'a question appears only after its trigger, and only once its purpose is granted', async (s) => {
  await s.goto(product('p01'));
  await s.banner('[data-attune-action="reject-all"]').click();
  await s.waitBannerHidden();
  await s.goto(product('p02'));
  await s.goto(product('p03'));
  assert.equal(await cardCount(s), 0, 'no question without personalization consent');
  assert.match(traceOf(await next(s), 'interest'), /purpose personalization is not granted/);
  assert.equal((await s.storage()).local['attune:profile'], undefined, 'nothing about the visit is stored');

  await s.page.evaluate(() => window.attune.consent.grant(['personalization']));
  await s.goto(product('p04'));
  assert.equal(await cardCount(s), 0, 'one product view since the grant: the trigger needs two');
  assert.match(traceOf(await next(s), 'interest'), /1 product_view event\(s\), needs 2/);
  await s.goto(product('p05'));
  const card = s.page.locator(CARD);
  await card.waitFor({ state: 'visible' });
  assert.equal(await card.getAttribute('data-attune-question'), 'interest');
  await s.page.getByRole('region', { name: 'What are you shopping for today?' }).waitFor();
  assertClean(s);
});

e2eTest(env, 'an answer is stored on the device, survives reload, is not asked again, and never leaves', async (s) => {
  await s.goto(product('p01'));
  await acceptAll(s);
  // Product views count from the grant on: the trigger fires on the second one.
  await s.goto(product('p02'));
  await s.goto(product('p03'));
  const card = s.page.locator(CARD);
  await card.waitFor({ state: 'visible' });
  // Pick "Cooking" and save (keyboard use of the card is covered by prompt-ui.test.mjs).
  await s.page.locator(`${CARD} [data-attune-option="kitchen"]`).check();
  await s.page.locator(`${CARD} [data-attune-action="answer"]`).click();
  await card.waitFor({ state: 'detached' });

  await s.reload();
  const answers = await s.page.evaluate(() => window.attune.prompts.answers());
  assert.deepEqual(
    answers.map((a) => [a.question, a.value, a.purpose]),
    [['interest', 'kitchen', 'personalization']],
    'the answer survives a reload, with its purpose',
  );
  assert.ok(answers[0].expires - answers[0].at === 90 * 86_400_000, 'kept for the question’s 90-day retention');

  await s.goto(product('p04'));
  await s.goto(product('p05'));
  assert.equal(await cardCount(s), 0);
  assert.match(traceOf(await next(s), 'interest'), /answered; asked again after its retention ends/);

  await s.flush();
  const events = await env.waitForCollector(
    (evs) => ['prompt_shown', 'prompt_answered'].every((n) => evs.some((e) => e.name === n)),
    'prompt_shown and prompt_answered at the collector',
  );
  const promptEvents = events.filter((e) => e.name.startsWith('prompt_'));
  for (const e of promptEvents) {
    assert.deepEqual(e.props, { question: 'interest' }, `${e.name} carries the question id only`);
    assert.equal(e.purpose, 'analytics');
  }
  // "kitchen" may leave only as the category of a viewed product (declared analytics/personalization props).
  const other = s.sentEvents.filter((e) => !['product_view', 'product_interest'].includes(e.name));
  assert.ok(!JSON.stringify(other).includes('kitchen'), 'the answer itself never leaves the device');
  assertClean(s);
});

e2eTest(env, 'Skip backs off across reloads, and no event is sent for prompts without analytics consent', async (s) => {
  await s.goto(product('p01'));
  await s.waitBannerVisible();
  const analytics = await s.purposeToggle('analytics');
  await analytics.uncheck();
  await (await s.purposeToggle('personalization')).check();
  await s.banner('[data-attune-action="save"]').click();
  await s.waitBannerHidden();
  await s.goto(product('p02'));
  await s.goto(product('p03'));
  const card = s.page.locator(CARD);
  await card.waitFor({ state: 'visible' });
  await s.page.keyboard.press('Escape');
  await card.waitFor({ state: 'detached' });

  await s.reload();
  await s.goto(product('p04'));
  assert.equal(await cardCount(s), 0, 'a skipped question does not come back on the next pages');
  assert.match(traceOf(await next(s), 'interest'), /dismissed 1 time\(s\): backing off for 24 hours/);
  await quietPeriod();
  assert.ok(
    !s.sentEvents.some((e) => e.name.startsWith('prompt_')),
    'prompt_shown / prompt_dismissed are analytics events: not sent without analytics consent',
  );
  assertClean(s);
});

e2eTest(env, 'marketer text with HTML in it is shown literally', async (s) => {
  await s.goto('/');
  await acceptAll(s);
  const config = {
    fatigue: { quietMinutes: 0 },
    questions: [
      {
        id: 'html',
        kind: 'yesNo',
        purpose: 'personalization',
        retentionDays: 1,
        text: { en: '<img src=x onerror="window.__pwned=1">Do you <b>like</b> tents?' },
        why: { en: '<script>window.__pwned=2</script>Because.' },
        usedFor: { en: '<i>Nothing</i>' },
      },
    ],
  };
  // The marketer writes it in the editor and presses "Try it in the shop".
  await s.page.goto('/prompt-editor.html');
  await s.page.waitForFunction(() => document.documentElement.dataset.editorReady === 'true');
  await s.page.locator('#prompt-config').fill(JSON.stringify(config, null, 2));
  await s.page.locator('#config-issues', { hasText: 'No problems: 1 question' }).waitFor();
  await s.page.locator('#try-config').click();
  await s.page.waitForURL((url) => url.pathname === '/');
  await s.waitReady();
  const card = s.page.locator(CARD);
  await card.waitFor({ state: 'visible' });
  await s.page.locator(`${CARD} [data-attune-action="why"]`).click();
  const text = await card.evaluate((el) => el.shadowRoot.textContent);
  assert.ok(text.includes('<img src=x onerror="window.__pwned=1">Do you <b>like</b> tents?'), text);
  assert.ok(text.includes('<script>window.__pwned=2</script>Because.'), text);
  const injected = await card.evaluate((el) => el.shadowRoot.querySelectorAll('img, b, i, script').length);
  assert.equal(injected, 0, 'no element was created from marketer text');
  assert.equal(await s.page.evaluate(() => window.__pwned), undefined);
  assertClean(s);
});

/** A config whose one question has no trigger, handed to every tab of the session. */
const NOW_CONFIG = {
  fatigue: { quietMinutes: 0, perSession: 1 },
  questions: [
    {
      id: 'now',
      kind: 'yesNo',
      purpose: 'personalization',
      retentionDays: 1,
      text: { en: 'Shall we tailor the shop to you?' },
      why: { en: 'To test.' },
      usedFor: { en: 'Nothing.' },
    },
  ],
};
const tryEverywhere = {
  initScripts: [{ content: `sessionStorage.setItem('attune-demo:try-prompts', ${JSON.stringify(JSON.stringify(NOW_CONFIG))});` }],
};

e2eTest(
  env,
  'with two tabs open, accepting in one shows the question there only; withdrawing takes it away',
  async (s) => {
    await s.goto('/');
    const other = await s.newPage('/');
    await acceptAll(s);
    const card = s.page.locator(CARD);
    await card.waitFor({ state: 'visible' });
    await quietPeriod();
    assert.equal(await other.locator(CARD).count(), 0, 'the other tab does not pop up a second prompt');
    assert.equal(await cardCount(s), 1);

    await s.page.evaluate(() => window.attune.consent.withdraw(['personalization']));
    await card.waitFor({ state: 'detached' });
    const stored = (await s.storage()).local['attune:profile'];
    assert.equal(stored, undefined, 'withdrawal leaves nothing of the profile behind');
    assertClean(s);
  },
  { sessionOptions: tryEverywhere },
);
