// The marketers' prompt config editor (demo-site/prompt-editor.html) in real headless Chromium,
// under the collector's strict CSP: live validation with every problem at once, the per-language
// preview built from the real <attune-prompt> card, and "simulate a visitor" with its trace.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe as show, e2eTest, EVENT_TIMEOUT_MS, repoRoot, useE2E, waitFor } from './harness.mjs';

const env = useE2E();

const shopPrompts = JSON.parse(await readFile(path.join(repoRoot, 'demo-site', 'src', 'attune-prompts.json'), 'utf8'));

/** Fields every test question shares; each test adds id, kind, text (and options). */
const BASE = {
  purpose: 'personalization',
  why: { en: 'So we can suggest better gear.' },
  usedFor: { en: 'Suggestions on the home page.' },
  retentionDays: 30,
};

async function openEditor(s) {
  const response = await s.page.goto('/prompt-editor.html', { waitUntil: 'load' });
  assert.ok(response?.ok(), `GET /prompt-editor.html: HTTP ${response?.status()}`);
  try {
    await s.page.waitForFunction(() => document.documentElement.dataset.editorReady === 'true', null, {
      timeout: EVENT_TIMEOUT_MS,
    });
  } catch (err) {
    throw new Error(`the editor never finished its first check (page script failed or hung): ${err.message}`);
  }
}

/** Replaces the editor's text as if typed (fires `input`). */
async function typeConfig(s, config) {
  const text = typeof config === 'string' ? config : JSON.stringify(config, null, 2);
  await s.page.locator('#prompt-config').fill(text);
}

/** `path: message` of every problem listed under #config-issues (or another list). */
function listedIssues(s, box = '#config-issues') {
  return s.page.locator(`${box} li[data-path]`).allTextContents();
}

/** Waits until #config-issues lists problems for which `pred(lines)` holds; returns the lines. */
async function waitForIssues(s, pred, what, box = '#config-issues') {
  let lines = [];
  await waitFor(
    async () => {
      lines = await listedIssues(s, box);
      return pred(lines);
    },
    { message: () => `${what}; listed: ${show(lines)}` },
  );
  return lines;
}

async function waitForText(locator, expected, what) {
  let last;
  await waitFor(
    async () => {
      last = (await locator.textContent())?.trim();
      return typeof expected === 'string' ? last === expected : expected.test(last ?? '');
    },
    { message: () => `${what}: expected ${expected}, found ${show(last)}` },
  );
  return last;
}

/** The question of a rendered <attune-prompt> (legend, or label for text questions). */
const cardQuestion = (s, scope) => s.page.locator(`${scope} attune-prompt :is(legend, label.question)`);

/** No uncaught errors, console errors or CSP violations; nothing sent, nothing stored. */
async function assertCleanRun(s) {
  assert.deepEqual(s.pageErrors, [], 'no uncaught page errors');
  assert.deepEqual(s.cspViolations, [], 'no CSP violations (no inline script/style, no HTML parsing)');
  assert.deepEqual(s.consoleErrors, [], 'no console errors');
  assert.equal(s.batchRequests.length, 0, `the editor sends nothing, saw: ${show(s.sentEvents)}`);
  const storage = await s.storage();
  assert.deepEqual(Object.keys(storage.local), [], 'the editor stores nothing in localStorage');
  assert.deepEqual(storage.indexedDB, [], 'the editor creates no IndexedDB database');
}

// ---------------------------------------------------------------------------------------

e2eTest(env, 'the editor opens with the shop prompt config, no problems and a preview of every question', async (s) => {
  await openEditor(s);
  const n = shopPrompts.questions.length;
  await waitForText(s.page.locator('#config-issues'), `No problems: ${n} question${n === 1 ? '' : 's'}`, 'the status of the shop config');
  assert.deepEqual(await listedIssues(s), [], 'no problems are listed for the shop config');

  const text = await s.page.locator('#prompt-config').inputValue();
  assert.deepEqual(JSON.parse(text), shopPrompts, 'the editor holds demo-site/src/attune-prompts.json');
  assert.match(text, /\n {2}"questions"/, 'the config is pretty-printed');
  assert.equal(await s.page.locator('#prompt-config').getAttribute('spellcheck'), 'false');
  assert.equal(
    await s.page.locator('#prompt-config').evaluate((el) => el.labels.length),
    1,
    'the config textarea has a label',
  );

  const previewed = await s.page.locator('[data-preview-question]').evaluateAll((els) => els.map((e) => e.dataset.previewQuestion));
  assert.deepEqual(previewed, shopPrompts.questions.map((q) => q.id), 'one preview per question, in config order');
  for (const q of shopPrompts.questions) {
    const legend = cardQuestion(s, `[data-preview-question="${q.id}"]`);
    assert.equal((await legend.textContent())?.trim(), q.text[shopPrompts.defaultLanguage ?? 'en'], `preview of ${q.id}`);
  }
  const languages = await s.page.locator('#preview-language option').evaluateAll((os) => os.map((o) => o.value));
  assert.equal(languages[0], shopPrompts.defaultLanguage ?? 'en', 'the default language comes first');
  assert.ok(languages.includes('de'), `the shop's German texts are offered: ${show(languages)}`);
  assert.equal(await s.page.locator('#back-to-shop').getAttribute('href'), '/', 'a link back to the shop');

  // A preview card's buttons only say what they would do, and the card comes back.
  const first = shopPrompts.questions.find((q) => q.kind === 'single');
  if (first) {
    const scope = `[data-preview-question="${first.id}"]`;
    await s.page.locator(`${scope} attune-prompt [data-attune-option="${first.options[0].id}"]`).check();
    await s.page.locator(`${scope} attune-prompt [data-attune-action="answer"]`).click();
    await waitForText(
      s.page.locator('#preview-log li').first(),
      new RegExp(`would store answer "${first.options[0].id}" to "${first.id}"`),
      'the preview log after answering a card',
    );
    await cardQuestion(s, scope).waitFor({ state: 'visible', timeout: EVENT_TIMEOUT_MS });
  }
  await assertCleanRun(s);
});

e2eTest(env, 'a broken config lists every problem at once, each with its path; reset restores the shop config', async (s) => {
  await openEditor(s);
  const broken = {
    questions: [
      {
        ...BASE,
        id: 'a',
        kind: 'single',
        colour: 'red',
        text: { en: 'Pick one' },
        options: [
          { id: 'a', label: { en: 'A' }, tags: [1] },
          { id: 'b', label: { en: 'B' }, tags: ['b'] },
        ],
      },
      { ...BASE, id: 'a', kind: 'yesNo', text: { en: 'Again?' } },
    ],
  };
  await typeConfig(s, broken);
  const expected = [
    'questions[0].options[0].tags: expected an array of strings, found a number',
    'questions[1].id: duplicate question id "a"',
  ];
  const lines = await waitForIssues(
    s,
    (ls) => expected.every((e) => ls.includes(e)) && ls.some((l) => l.startsWith('questions[0].colour: unknown field `colour`')),
    'the tags, duplicate id and unknown key problems listed together',
  );
  assert.equal(lines.length, 3, `exactly these three problems: ${show(lines)}`);
  assert.match(await s.page.locator('#config-issues').textContent(), /3 problems/);
  assert.match(await s.page.locator('#preview-status').textContent(), /last valid version/, 'the preview says it is stale');

  // Selecting a problem selects it in the text.
  await s.page.locator('#config-issues li[data-path="questions[0].colour"] button').click();
  const selected = await s.page.locator('#prompt-config').evaluate((el) => ({
    focused: document.activeElement === el,
    text: el.value.slice(el.selectionStart, el.selectionEnd),
  }));
  assert.ok(selected.focused, 'the textarea has focus after selecting a problem');
  assert.equal(selected.text, '"colour": "red"', 'the unknown key is selected');

  // A syntax error names its line and column.
  await typeConfig(s, '{\n  "questions": [\n    {"id": "a",}\n  ]\n}');
  const syntax = await waitForIssues(s, (ls) => ls.length === 1 && /line 3 column \d+/.test(ls[0]), 'a syntax error with line 3');
  assert.match(syntax[0], /^config: .*line 3 column \d+/, 'the syntax error has its line and column');

  await s.page.locator('#reset-config').click();
  const n = shopPrompts.questions.length;
  await waitForText(s.page.locator('#config-issues'), `No problems: ${n} question${n === 1 ? '' : 's'}`, 'the status after reset');
  assert.deepEqual(JSON.parse(await s.page.locator('#prompt-config').inputValue()), shopPrompts, 'reset restores the shop config');
  await assertCleanRun(s);
});

e2eTest(env, 'the preview shows each question in the chosen language, and HTML in a text stays text', async (s) => {
  await openEditor(s);
  const config = {
    defaultLanguage: 'en',
    questions: [
      {
        ...BASE,
        id: 'style',
        kind: 'single',
        text: { en: 'Which <b>bold</b> colours do you like?', de: 'Welche <b>kräftigen</b> Farben magst du?' },
        options: [
          { id: 'red', label: { en: 'Red', de: 'Rot' }, tags: ['red'] },
          { id: 'blue', label: { en: 'Blue', de: 'Blau' }, tags: ['blue'] },
        ],
        why: { en: 'So we can suggest better gear.', de: 'Damit wir Besseres vorschlagen.' },
        usedFor: { en: 'Suggestions on the home page.', de: 'Vorschläge auf der Startseite.' },
      },
      { ...BASE, id: 'gift_wrap', kind: 'yesNo', text: { en: 'Gift wrap?' } },
    ],
  };
  await typeConfig(s, config);
  await waitForText(s.page.locator('#config-issues'), 'No problems: 2 questions', 'the status of the test config');
  const style = '[data-preview-question="style"]';
  await waitForText(cardQuestion(s, style), 'Which <b>bold</b> colours do you like?', 'the English preview, markup as text');
  assert.equal(await s.page.locator(`${style} attune-prompt b`).count(), 0, 'no <b> element is created from the text');
  assert.deepEqual(
    await s.page.locator('#preview-language option').evaluateAll((os) => os.map((o) => o.value)),
    ['en', 'de'],
    'the languages the config uses, the default first',
  );

  await s.page.locator('#preview-language').selectOption('de');
  await waitForText(cardQuestion(s, style), 'Welche <b>kräftigen</b> Farben magst du?', 'the German preview');
  assert.equal(await s.page.locator(`${style} attune-prompt b`).count(), 0, 'no <b> element in the German card either');
  const labels = await s.page.locator(`${style} attune-prompt .choices label`).allTextContents();
  assert.deepEqual(labels.map((l) => l.trim()), ['Rot', 'Blau'], 'German option labels');
  assert.equal(await s.page.locator(`${style} attune-prompt section`).getAttribute('lang'), 'de');
  // A question without German texts falls back to the default language, and says so.
  await waitForText(cardQuestion(s, '[data-preview-question="gift_wrap"]'), 'Gift wrap?', 'the fallback to English');
  assert.match(await s.page.locator('[data-preview-question="gift_wrap"] .preview-meta').textContent(), /no "de" text: shown in en/);
  await assertCleanRun(s);
});

e2eTest(env, 'simulate a visitor: no prompt without consent (the trace says why), the question once granted and triggered', async (s) => {
  await openEditor(s);
  const verdict = s.page.locator('#simulate-verdict');
  const interest = shopPrompts.questions.find((q) => q.id === 'interest');
  assert.ok(interest, 'the shop config has the "interest" question this test simulates');

  // The form starts with nothing granted and two product views (the trigger of "interest").
  await waitForText(verdict, 'No prompt now', 'the verdict without consent');
  const row = s.page.locator('#simulate-trace tbody tr[data-question="interest"]');
  assert.equal(await row.getAttribute('data-eligible'), 'false');
  assert.match(await row.locator('td').nth(2).textContent(), /personalization.*not granted/, 'the trace names the missing consent');
  assert.equal(await s.page.locator('#simulate-prompt attune-prompt').count(), 0, 'no prompt is rendered');

  await s.page.locator('#granted-personalization').check();
  await waitForText(verdict, 'Would show: interest', 'the verdict once personalization is granted');
  await waitForText(cardQuestion(s, '#simulate-prompt'), interest.text.en, 'the simulated prompt');
  assert.equal(await row.getAttribute('data-eligible'), 'true', 'the trace marks "interest" eligible');

  // The visitor's languages pick the translation.
  await s.page.locator('#sim-languages').fill('de-CH, de');
  await waitForText(cardQuestion(s, '#simulate-prompt'), interest.text.de, 'the simulated prompt in German');

  // Without the events, the trigger does not fire; the trace says what is missing.
  await s.page.locator('#sim-events').fill('[]');
  await waitForText(verdict, 'No prompt now', 'the verdict without product views');
  assert.match(await row.locator('td').nth(2).textContent(), /product_view/, 'the trace names the missing event');

  // Problems in the described visitor are listed like config problems.
  await s.page.locator('#sim-page-views').fill('-1');
  await s.page.locator('#sim-answers').fill('{"interest": "nope"');
  const lines = await waitForIssues(
    s,
    (ls) => ls.some((l) => l.startsWith('scenario.answers: not valid JSON')),
    'the JSON syntax problem in the answers',
    '#simulate-issues',
  );
  assert.equal(lines.length, 1, `only the syntax problem until it is fixed: ${show(lines)}`);
  await s.page.locator('#sim-answers').fill('{"interest": "nope"}');
  await waitForIssues(
    s,
    (ls) =>
      ls.includes('scenario.pageViews: expected a whole number of 0 or more') &&
      ls.some((l) => l.startsWith('scenario.answers.interest: ')),
    'the core\'s scenario problems',
    '#simulate-issues',
  );
  assert.match(await verdict.textContent(), /Fix the problems/);
  await assertCleanRun(s);
});
