// <attune-prompt> in real headless Chromium, driven by the keyboard only, on a page with a strict
// CSP (no inline script or style, Trusted Types required for every HTML sink).
//
// It serves js-wrapper/dist (build it with scripts/build-sdk.sh) and tests/fixtures/prompt-ui from
// a tiny static server; the fixture imports dist/prompt.js, the test puts a PromptView on
// `window.promptFixture` and presses the fixture's "Ask me" button, which calls renderPrompt.
// Every handler call and prompt event lands in `window.promptLog`.
//
// Environment: ATTUNE_SDK_DIST (default js-wrapper/dist), CHROMIUM_PATH (default /usr/bin/chromium).
//
//   cd tests && node --test e2e/prompt-ui.test.mjs
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, chromiumPath } from '../chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const distDir = path.resolve(process.env.ATTUNE_SDK_DIST ?? path.join(repoRoot, 'js-wrapper', 'dist'));
const fixtureDir = path.join(repoRoot, 'tests', 'fixtures', 'prompt-ui');

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; require-trusted-types-for 'script'; trusted-types 'none'";
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css' };
const WAIT_MS = 5_000;

// ---------------------------------------------------------------------------------------
// Server, browser, sessions
// ---------------------------------------------------------------------------------------

/** `/` and `/fixture.*` from the fixture directory, `/dist/*` from js-wrapper/dist; nothing else. */
function startServer() {
  const server = createServer(async (req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://x');
    let file;
    if (pathname === '/') file = path.join(fixtureDir, 'index.html');
    else if (pathname.startsWith('/dist/')) file = path.join(distDir, path.normalize(pathname.slice('/dist/'.length)));
    else file = path.join(fixtureDir, path.normalize(pathname.slice(1)));
    const inside = (dir) => file.startsWith(dir + path.sep);
    if (pathname === '/favicon.ico' || !(inside(fixtureDir) || inside(distDir))) {
      res.writeHead(pathname === '/favicon.ico' ? 204 : 404, { 'Content-Security-Policy': CSP }).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Security-Policy': CSP,
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Security-Policy': CSP }).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

let server;
let browser;
let baseURL;

before(async () => {
  if (!existsSync(path.join(distDir, 'prompt.js'))) {
    throw new Error(`${path.join(distDir, 'prompt.js')} is missing: build the SDK with scripts/build-sdk.sh`);
  }
  server = await startServer();
  baseURL = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

/**
 * A test with a fresh context and page on the fixture. After the body, the page must have had no
 * CSP violation, console error or uncaught error (unless the test expects some and empties the
 * lists itself); a failure appends what the page reported.
 */
function promptTest(name, fn, { contextOptions = {} } = {}) {
  return test(name, { timeout: 30_000 }, async () => {
    const context = await browser.newContext({ baseURL, ...contextOptions });
    const problems = { console: [], pageErrors: [], dialogs: [] };
    await context.addInitScript(() => {
      window.__csp = [];
      document.addEventListener(
        'securitypolicyviolation',
        (e) => window.__csp.push({ directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample }),
        true,
      );
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.console.push(m.text());
    });
    page.on('pageerror', (e) => problems.pageErrors.push(e.message));
    page.on('dialog', (d) => {
      problems.dialogs.push(d.message());
      void d.dismiss();
    });
    const session = { page, problems, ...helpers(page) };
    try {
      const response = await page.goto('/', { waitUntil: 'load' });
      assert.equal(response?.status(), 200);
      assert.equal(response.headers()['content-security-policy'], CSP);
      await page.waitForFunction(() => document.documentElement.dataset.fixtureReady === 'true', null, { timeout: WAIT_MS });
      await fn(session);
      const csp = await page.evaluate(() => window.__csp);
      assert.deepEqual(csp, [], 'CSP violations');
      assert.deepEqual(problems.console, [], 'console errors');
      assert.deepEqual(problems.pageErrors, [], 'uncaught page errors');
      assert.deepEqual(problems.dialogs, [], 'dialogs (alert/confirm/prompt) opened');
    } catch (err) {
      const report = await page
        .evaluate(() => ({ log: window.promptLog, csp: window.__csp, html: document.body.outerHTML.slice(0, 2000) }))
        .catch((e) => `(page unavailable: ${e.message})`);
      err.message += `\n--- page ---\n${JSON.stringify({ ...problems, report }, null, 1)}`;
      throw err;
    } finally {
      await context.close();
    }
  });
}

function helpers(page) {
  const prompt = (selector) => page.locator(`attune-prompt ${selector}`);
  return {
    prompt,
    /** Sets the fixture's knobs, focuses the opener and presses Enter on it: the card appears. */
    async open(view, knobs = {}) {
      await page.evaluate(
        ([v, k]) => {
          Object.assign(window.promptFixture, { host: 'body', answerMode: 'resolve', strings: undefined }, k, { view: v });
        },
        [view, knobs],
      );
      await page.focus('#opener');
      await page.keyboard.press('Enter');
      await page.locator('attune-prompt section').waitFor({ state: 'visible', timeout: WAIT_MS });
    },
    /** The focused element, looking through shadow roots. */
    active() {
      return page.evaluate(() => {
        let a = document.activeElement;
        while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
        if (!a || a === document.body) return null;
        const root = a.getRootNode();
        return {
          tag: a.localName,
          id: a.id || null,
          type: a.getAttribute('type'),
          action: a.dataset.attuneAction ?? null,
          option: a.dataset.attuneOption ?? null,
          inPrompt: root instanceof ShadowRoot && root.host.localName === 'attune-prompt',
        };
      });
    },
    /** Presses Tab (at most `max` times) until the focused element in the card matches `selector`. */
    async tabTo(selector, max = 8) {
      for (let i = 0; i < max; i++) {
        await page.keyboard.press('Tab');
        const hit = await page.evaluate((sel) => {
          let a = document.activeElement;
          while (a?.shadowRoot?.activeElement) a = a.shadowRoot.activeElement;
          return Boolean(a?.matches(sel));
        }, selector);
        if (hit) return;
      }
      throw new Error(`Tab never reached ${selector}`);
    },
    log: () => page.evaluate(() => window.promptLog),
    async waitClosed() {
      await page.waitForFunction(() => !document.querySelector('attune-prompt'), null, { timeout: WAIT_MS });
    },
    saveDisabled: () => prompt('[data-attune-action="answer"]').isDisabled(),
  };
}

// ---------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------

function view(kind, overrides = {}) {
  const base = {
    id: `q-${kind}`,
    kind,
    language: 'en',
    text: `Question of kind ${kind}?`,
    options: [],
    min: null,
    max: null,
    maxLength: null,
    why: 'So we can show you the right sizes first.',
    usedFor: 'Sorting the shop by what fits you.',
    purpose: 'personalization',
    purposeLabel: 'Personalization',
    retentionDays: 180,
  };
  if (kind === 'single' || kind === 'multiple') {
    base.options = [
      { id: 'tea', label: 'Tea' },
      { id: 'coffee', label: 'Coffee' },
      { id: 'water', label: 'Water' },
    ];
  }
  if (kind === 'scale') Object.assign(base, { min: 1, max: 5 });
  if (kind === 'text') base.maxLength = 20;
  return { ...base, ...overrides };
}

/** The answer record and the event record, after the card closed. */
async function answered(s) {
  await s.waitClosed();
  const log = await s.log();
  const calls = log.filter((e) => e.call);
  const events = log.filter((e) => e.event);
  assert.equal(calls.length, 1, `one handler call: ${JSON.stringify(log)}`);
  assert.equal(events.length, 1, `one event: ${JSON.stringify(log)}`);
  return { call: calls[0], event: events[0] };
}

async function assertFocusBackOnOpener(s) {
  assert.deepEqual(await s.active(), { tag: 'button', id: 'opener', type: 'button', action: null, option: null, inPrompt: false });
}

// ---------------------------------------------------------------------------------------
// The five kinds, keyboard only
// ---------------------------------------------------------------------------------------

promptTest('single choice: a radio group in a fieldset, answered with Space/arrows/Tab/Enter, gives the option id', async (s) => {
  await s.open(view('single'));
  assert.deepEqual(await s.active(), { tag: 'input', id: 'attune-option-0', type: 'radio', action: null, option: 'tea', inPrompt: true });
  assert.equal(await s.prompt('fieldset legend').textContent(), 'Question of kind single?');
  assert.equal(await s.prompt('fieldset input[type="radio"]').count(), 3);
  assert.equal(await s.saveDisabled(), true, 'Save is disabled before an answer is chosen');

  await s.page.keyboard.press('Space');
  await s.page.keyboard.press('ArrowDown');
  assert.equal(await s.prompt('[data-attune-option="coffee"]').isChecked(), true);
  assert.equal(await s.saveDisabled(), false);

  // Tab order: the radio group (one stop), Why, Skip, Save, close.
  const order = [];
  for (let i = 0; i < 4; i++) {
    await s.page.keyboard.press('Tab');
    order.push((await s.active()).action);
  }
  assert.deepEqual(order, ['why', 'skip', 'answer', 'close']);
  await s.page.keyboard.press('Shift+Tab');
  await s.page.keyboard.press('Enter');

  const { call, event } = await answered(s);
  assert.deepEqual(call, { call: 'answer', value: 'coffee', type: 'string' });
  assert.deepEqual(event, {
    event: 'attune-prompt-answered',
    detail: { id: 'q-single', value: 'coffee' },
    bubbles: true,
    composed: true,
    connected: true,
  });
  await assertFocusBackOnOpener(s);
});

promptTest('multiple choice: checkboxes toggled with Space give an array of option ids', async (s) => {
  await s.open(view('multiple'));
  assert.deepEqual((await s.active()).option, 'tea');
  assert.equal(await s.prompt('fieldset input[type="checkbox"]').count(), 3);
  await s.page.keyboard.press('Space'); // tea
  await s.tabTo('[data-attune-option="coffee"]');
  await s.page.keyboard.press('Space'); // coffee
  await s.tabTo('[data-attune-option="water"]');
  await s.page.keyboard.press('Space'); // water
  await s.page.keyboard.press('Shift+Tab');
  await s.page.keyboard.press('Space'); // coffee off again
  assert.equal(await s.saveDisabled(), false);
  await s.tabTo('[data-attune-action="answer"]');
  await s.page.keyboard.press('Enter');
  const { call, event } = await answered(s);
  assert.deepEqual(call, { call: 'answer', value: ['tea', 'water'], type: 'array' });
  assert.deepEqual(event.detail, { id: 'q-multiple', value: ['tea', 'water'] });
  await assertFocusBackOnOpener(s);
});

promptTest('multiple choice: unticking every box disables Save again', async (s) => {
  await s.open(view('multiple'));
  await s.page.keyboard.press('Space');
  assert.equal(await s.saveDisabled(), false);
  await s.page.keyboard.press('Space');
  assert.equal(await s.saveDisabled(), true);
});

promptTest('scale: radios min..max with labelled ends, arrows pick a number', async (s) => {
  await s.open(view('scale'));
  const labels = await s.prompt('fieldset label').allTextContents();
  assert.deepEqual(labels, ['1lowest', '2', '3', '4', '5highest']);
  assert.equal((await s.active()).option, '1');
  await s.page.keyboard.press('Space');
  await s.page.keyboard.press('ArrowRight');
  await s.page.keyboard.press('ArrowRight');
  await s.tabTo('[data-attune-action="answer"]');
  await s.page.keyboard.press('Space');
  const { call } = await answered(s);
  assert.deepEqual(call, { call: 'answer', value: 3, type: 'number' });
  await assertFocusBackOnOpener(s);
});

promptTest('scale: a long scale is a slider with its value shown, counted once moved', async (s) => {
  await s.open(view('scale', { min: 0, max: 100 }));
  const slider = s.prompt('input[type="range"]');
  assert.equal((await s.active()).type, 'range');
  assert.equal(await slider.getAttribute('aria-labelledby'), 'attune-prompt-question');
  const endsId = await slider.getAttribute('aria-describedby');
  assert.match(await s.prompt(`#${endsId}`).innerText(), /^0 lowest\s+100 highest$/, 'the ends describe the slider');
  assert.equal(await s.saveDisabled(), true, 'an untouched slider is not an answer');
  await s.page.keyboard.press('ArrowRight');
  assert.equal(await s.prompt('output').textContent(), '51');
  assert.equal(await s.saveDisabled(), false);
  await s.tabTo('[data-attune-action="answer"]');
  await s.page.keyboard.press('Enter');
  const { call } = await answered(s);
  assert.deepEqual(call, { call: 'answer', value: 51, type: 'number' });
});

promptTest('yes/no: two radios, "No" gives false (a boolean, not a string)', async (s) => {
  await s.open(view('yesNo'));
  const labels = await s.prompt('fieldset label').allTextContents();
  assert.deepEqual(labels, ['Yes', 'No']);
  assert.equal((await s.active()).option, 'yes');
  await s.page.keyboard.press('ArrowDown'); // moves to "No" and checks it
  assert.equal(await s.prompt('[data-attune-option="no"]').isChecked(), true);
  await s.tabTo('[data-attune-action="answer"]');
  await s.page.keyboard.press('Enter');
  const { call, event } = await answered(s);
  assert.deepEqual(call, { call: 'answer', value: false, type: 'boolean' });
  assert.deepEqual(event.detail, { id: 'q-yesNo', value: false });
});

promptTest('text: a labelled input with maxlength and a counter; Enter submits the trimmed text', async (s) => {
  await s.open(view('text'));
  const input = s.prompt('input[type="text"]');
  assert.equal((await s.active()).type, 'text');
  assert.equal(await input.getAttribute('maxlength'), '20');
  assert.equal(await s.prompt('label[for="attune-answer"]').textContent(), 'Question of kind text?');
  const counterId = await input.getAttribute('aria-describedby');
  assert.equal(await s.prompt(`#${counterId}`).textContent(), '20 characters left');

  await s.page.keyboard.type('   ');
  assert.equal(await s.saveDisabled(), true, 'blank text is not an answer');
  await s.page.keyboard.press('Enter'); // implicit submission is blocked while Save is disabled
  assert.equal((await s.log()).length, 0);

  await s.page.keyboard.type('size 38 please, and more than twenty');
  assert.equal((await input.inputValue()).length, 20, 'maxlength holds');
  assert.equal(await s.prompt(`#${counterId}`).textContent(), '0 characters left');
  await s.page.keyboard.press('Enter');
  const { call } = await answered(s);
  assert.deepEqual(call, { call: 'answer', value: 'size 38 please, a', type: 'string' });
  await assertFocusBackOnOpener(s);
});

// ---------------------------------------------------------------------------------------
// Dismissal, focus, disclosure
// ---------------------------------------------------------------------------------------

promptTest('Skip, Escape and the close button each call dismiss once and give focus back', async (s) => {
  for (const how of ['skip', 'escape', 'close']) {
    await s.page.evaluate(() => window.promptLog.splice(0));
    await s.open(view('single'));
    assert.equal((await s.active()).inPrompt, true, `${how}: focus moved into the card`);
    if (how === 'escape') {
      await s.page.keyboard.press('Space'); // an answer in progress does not stop Escape
      await s.page.keyboard.press('Escape');
    } else {
      await s.tabTo(`[data-attune-action="${how}"]`);
      await s.page.keyboard.press(how === 'skip' ? 'Enter' : 'Space');
    }
    await s.waitClosed();
    assert.deepEqual(
      await s.log(),
      [
        { call: 'dismiss' },
        { event: 'attune-prompt-dismissed', detail: { id: 'q-single' }, bubbles: true, composed: true, connected: true },
      ],
      how,
    );
    await assertFocusBackOnOpener(s);
  }
});

promptTest('a listener showing the next question on "answered" gets focus; closing that one returns to the opener', async (s) => {
  await s.open(view('yesNo'));
  await s.page.evaluate((next) => {
    document.addEventListener(
      'attune-prompt-answered',
      () => {
        window.promptFixture.view = next;
        document.getElementById('opener').click();
      },
      { once: true },
    );
  }, view('single'));
  await s.page.keyboard.press('Space');
  await s.tabTo('[data-attune-action="answer"]');
  await s.page.keyboard.press('Enter');
  await s.page.waitForFunction(() => document.querySelector('attune-prompt')?.dataset.attuneQuestion === 'q-single', null, {
    timeout: WAIT_MS,
  });
  assert.equal(await s.page.locator('attune-prompt').count(), 1, 'the first card is gone');
  assert.deepEqual(await s.active(), { tag: 'input', id: 'attune-option-0', type: 'radio', action: null, option: 'tea', inPrompt: true });
  await s.page.keyboard.press('Escape');
  await s.waitClosed();
  await assertFocusBackOnOpener(s);
});

promptTest('focus is not returned to an element that left the document', async (s) => {
  await s.open(view('yesNo'));
  await s.page.evaluate(() => document.getElementById('opener').remove());
  await s.page.keyboard.press('Escape');
  await s.waitClosed();
  assert.equal(await s.active(), null);
});

promptTest('"Why do we ask?" toggles aria-expanded and shows why, used for, purpose and retention', async (s) => {
  await s.open(view('single', { retentionDays: 30 }));
  await s.tabTo('[data-attune-action="why"]');
  const button = s.prompt('[data-attune-action="why"]');
  assert.equal(await button.textContent(), 'Why do we ask?');
  assert.equal(await button.getAttribute('aria-expanded'), 'false');
  const regionId = await button.getAttribute('aria-controls');
  const region = s.prompt(`#${regionId}`);
  assert.equal(await region.isVisible(), false);

  await s.page.keyboard.press('Enter');
  assert.equal(await button.getAttribute('aria-expanded'), 'true');
  assert.equal(await region.isVisible(), true);
  const text = await region.innerText();
  for (const expected of [
    'So we can show you the right sizes first.',
    'Used for',
    'Sorting the shop by what fits you.',
    'Purpose',
    'Personalization',
    'We keep your answer for 30 days',
  ]) {
    assert.ok(text.includes(expected), `disclosure shows "${expected}": ${JSON.stringify(text)}`);
  }
  assert.equal((await s.active()).action, 'why', 'focus stays on the disclosure button');

  await s.page.keyboard.press('Space');
  assert.equal(await button.getAttribute('aria-expanded'), 'false');
  assert.equal(await region.isVisible(), false);
  assert.equal((await s.log()).length, 0, 'the disclosure neither answers nor dismisses');
});

promptTest('retention of one day reads "1 day"; the chrome strings can be translated', async (s) => {
  await s.open(view('yesNo', { retentionDays: 1, language: 'fr', text: 'Aimez-vous le thé ?' }), {
    strings: { skip: 'Passer', save: 'Enregistrer', yes: 'Oui', no: 'Non', whyAsk: 'Pourquoi ?', bogus: 'ignored' },
  });
  assert.equal(await s.prompt('[data-attune-action="skip"]').textContent(), 'Passer');
  assert.equal(await s.prompt('[data-attune-action="answer"]').textContent(), 'Enregistrer');
  assert.equal(await s.prompt('[data-attune-action="why"]').textContent(), 'Pourquoi ?');
  assert.deepEqual(await s.prompt('fieldset label').allTextContents(), ['Oui', 'Non']);
  assert.equal(await s.prompt('section').getAttribute('lang'), 'fr');
  assert.equal(await s.prompt('.retention').textContent(), 'We keep your answer for 1 day');
});

// ---------------------------------------------------------------------------------------
// Safety, errors, semantics
// ---------------------------------------------------------------------------------------

promptTest('marketer text with HTML shows literally and creates no element', async (s) => {
  const html = '<img src=x onerror=alert(1)>';
  await s.open(
    view('single', {
      id: 'q-<b>',
      text: `Q ${html}`,
      options: [{ id: 'o"><img src=y>', label: `L ${html}` }],
      why: `W ${html}`,
      usedFor: `U ${html}`,
      purposeLabel: `P ${html}`,
    }),
  );
  assert.equal(await s.prompt('legend').textContent(), `Q ${html}`);
  assert.equal(await s.prompt('fieldset label').textContent(), `L ${html}`);
  assert.equal(await s.prompt('[data-attune-option]').getAttribute('data-attune-option'), 'o"><img src=y>');
  assert.equal(await s.page.locator('attune-prompt').getAttribute('data-attune-question'), 'q-<b>');
  await s.prompt('[data-attune-action="why"]').press('Enter');
  const why = await s.prompt('.why').innerText();
  for (const t of [`W ${html}`, `U ${html}`, `P ${html}`]) assert.ok(why.includes(t), `${t} in ${JSON.stringify(why)}`);
  const images = await s.page.evaluate(() => {
    const host = document.querySelector('attune-prompt');
    return document.querySelectorAll('img').length + host.shadowRoot.querySelectorAll('img, b').length;
  });
  assert.equal(images, 0);
});

promptTest('a rejecting answer handler: the error shows in role=alert, the card stays, a retry works', async (s) => {
  await s.open(view('yesNo'), { answerMode: 'reject' });
  await s.page.keyboard.press('Space'); // Yes
  await s.tabTo('[data-attune-action="answer"]');
  await s.page.keyboard.press('Enter');
  const alert = s.prompt('[role="alert"]');
  await s.page.waitForFunction(
    () => document.querySelector('attune-prompt')?.shadowRoot.querySelector('[role="alert"]').textContent !== '',
    null,
    { timeout: WAIT_MS },
  );
  assert.equal(await alert.textContent(), 'The server is unreachable <b>now</b>');
  assert.equal(await s.page.locator('attune-prompt').count(), 1, 'the card stays open');
  assert.equal((await s.active()).action, 'answer', 'focus stays on Save');
  assert.equal(await s.prompt('[data-attune-action="answer"]').getAttribute('aria-disabled'), null, 'Save usable again');
  assert.equal((await s.log()).filter((e) => e.event).length, 0, 'no answered event');

  // A handler that throws synchronously is handled the same way.
  await s.page.evaluate(() => (window.promptFixture.answerMode = 'throw'));
  await s.page.keyboard.press('Enter');
  await s.page.waitForFunction(
    () => document.querySelector('attune-prompt')?.shadowRoot.querySelector('[role="alert"]').textContent.startsWith('Answers'),
    null,
    { timeout: WAIT_MS },
  );
  assert.equal(await alert.textContent(), 'Answers are switched off <b>here</b>');

  await s.page.evaluate(() => (window.promptFixture.answerMode = 'sync'));
  await s.page.keyboard.press('Enter');
  await s.waitClosed();
  const log = await s.log();
  assert.deepEqual(
    log.filter((e) => e.call).map((e) => e.value),
    [true, true, true],
  );
  assert.deepEqual(log.filter((e) => e.event).map((e) => e.detail), [{ id: 'q-yesNo', value: true }]);
  await assertFocusBackOnOpener(s);
});

promptTest('robustness: an unknown kind throws before anything is added; a throwing dismiss handler still closes', async (s) => {
  const thrown = await s.page.evaluate((v) => {
    try {
      window.promptFixture.renderPrompt(document.body, v, { answer() {}, dismiss() {} });
      return null;
    } catch (e) {
      return { name: e.name, code: e.code, field: e.field };
    }
  }, view('slider'));
  assert.deepEqual(thrown, { name: 'AttuneError', code: 'invalid_prompt', field: 'kind' });
  assert.equal(await s.page.locator('attune-prompt').count(), 0);

  await s.page.evaluate((v) => {
    window.promptFixture.renderPrompt(document.body, v, {
      answer() {},
      dismiss() {
        throw new Error('dismiss failed');
      },
    });
  }, view('yesNo'));
  await s.page.keyboard.press('Escape');
  await s.waitClosed();
  assert.deepEqual(s.problems.pageErrors.splice(0), ['dismiss failed'], 'the handler error is not swallowed');
  s.problems.console.splice(0);
});

promptTest('semantics: labelled region, not modal, no focus trap, the page stays usable', async (s) => {
  await s.open(view('single'), { host: 'slot' });
  const host = s.page.locator('attune-prompt');
  assert.equal(await host.getAttribute('data-attune-question'), 'q-single');
  assert.equal(await host.getAttribute('data-attune-placement'), 'inline');
  assert.equal(await s.page.locator('#slot > attune-prompt').count(), 1, 'appended to the given host');

  const semantics = await s.page.evaluate(() => {
    const root = document.querySelector('attune-prompt').shadowRoot;
    const card = root.querySelector('section');
    const label = root.getElementById(card.getAttribute('aria-labelledby'));
    return {
      role: card.getAttribute('role'),
      label: label?.textContent,
      labelTag: label?.localName,
      modal: root.querySelectorAll('[aria-modal]').length + document.querySelectorAll('[aria-modal], dialog').length,
      inert: document.querySelectorAll('[inert], [aria-hidden="true"]').length,
      lang: card.getAttribute('lang'),
      styleElements: root.querySelectorAll('style, link').length,
      adopted: root.adoptedStyleSheets.length,
      position: getComputedStyle(document.querySelector('attune-prompt')).position,
    };
  });
  assert.deepEqual(semantics, {
    role: 'region',
    label: 'Question of kind single?',
    labelTag: 'legend',
    modal: 0,
    inert: 0,
    lang: 'en',
    styleElements: 0,
    adopted: 1,
    position: 'static',
  });
  const snapshot = await s.page.locator('#slot').ariaSnapshot();
  assert.match(snapshot, /region "Question of kind single\?"/);
  assert.match(snapshot, /group "Question of kind single\?"/);
  assert.match(snapshot, /button "Close"/);

  // No focus trap: Tab past the last control leaves the card; Shift+Tab from the first leaves too.
  await s.tabTo('[data-attune-action="close"]');
  await s.page.keyboard.press('Tab');
  assert.equal((await s.active()).id, 'after');
  await s.page.focus('attune-prompt [data-attune-option="tea"]');
  await s.page.keyboard.press('Shift+Tab');
  assert.equal((await s.active()).id, 'opener');

  // The rest of the page is still clickable while the card is open.
  await s.page.evaluate(() => document.getElementById('after').addEventListener('click', () => (window.afterClicked = true)));
  await s.page.click('#after', { timeout: WAIT_MS });
  assert.equal(await s.page.evaluate(() => window.afterClicked), true);
  assert.equal(await host.count(), 1, 'a click elsewhere does not close the card');
});

promptTest('floating placement on <body>: fixed, non-blocking card', async (s) => {
  await s.open(view('yesNo'));
  const placement = await s.page.evaluate(() => {
    const host = document.querySelector('attune-prompt');
    return { attr: host.dataset.attunePlacement, position: getComputedStyle(host).position, parent: host.parentElement.localName };
  });
  assert.deepEqual(placement, { attr: 'floating', position: 'fixed', parent: 'body' });
  await s.page.click('#after', { timeout: WAIT_MS });
  assert.equal((await s.active()).id, 'after', 'a page button can be used while the card floats');
});

promptTest('themable by --attune-prompt-* custom properties from a page stylesheet', async (s) => {
  await s.open(view('yesNo'));
  const save = s.prompt('[data-attune-action="answer"]');
  const before = await save.evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.equal(before, 'rgb(33, 70, 208)', 'default accent');
  await s.page.evaluate(() => document.documentElement.classList.add('themed'));
  assert.equal(await save.evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(1, 2, 3)');
  assert.equal(await s.prompt('section').evaluate((c) => getComputedStyle(c).borderTopLeftRadius), '3px');
});

promptTest(
  'prefers-reduced-motion: reduce turns the entrance animation off',
  async (s) => {
    await s.open(view('yesNo'));
    assert.equal(await s.prompt('section').evaluate((c) => getComputedStyle(c).animationName), 'none');
  },
  { contextOptions: { reducedMotion: 'reduce' } },
);

promptTest('at 200% zoom (a 1280x720 window zoomed is a 640x360 CSS viewport) every control stays reachable', async (s) => {
  await s.page.setViewportSize({ width: 640, height: 360 });
  await s.open(view('multiple', { text: 'A rather long question that has to wrap onto several lines at this zoom level?' }));
  const fits = await s.page.evaluate(() => {
    const card = document.querySelector('attune-prompt').shadowRoot.querySelector('section');
    const r = card.getBoundingClientRect();
    return { overflowX: card.scrollWidth > card.clientWidth + 1, right: r.right <= window.innerWidth + 1 };
  });
  assert.deepEqual(fits, { overflowX: false, right: true });
  await s.tabTo('[data-attune-action="skip"]');
  assert.equal(await s.prompt('[data-attune-action="skip"]').isVisible(), true);
  await s.page.keyboard.press('Enter');
  await s.waitClosed();
});

promptTest('the fixture really enforces the CSP and Trusted Types (so the tests above mean something)', async (s) => {
  const blocked = await s.page.evaluate(() => {
    try {
      document.createElement('div').innerHTML = '<b>x</b>';
      return false;
    } catch (e) {
      return e instanceof TypeError;
    }
  });
  assert.equal(blocked, true, 'innerHTML with a string throws under require-trusted-types-for');
  await s.page.waitForFunction(() => window.__csp.length > 0, null, { timeout: WAIT_MS });
  const csp = await s.page.evaluate(() => window.__csp.splice(0));
  assert.equal(csp[0].directive, 'require-trusted-types-for');
  s.problems.console.splice(0); // the expected violation is also logged
});

test('importing dist/prompt.js under Node defines nothing; renderPrompt says it needs a DOM', async () => {
  const before = new Set(Object.getOwnPropertyNames(globalThis));
  const mod = await import(pathToFileURL(path.join(distDir, 'prompt.js')).href);
  assert.deepEqual(Object.getOwnPropertyNames(globalThis).filter((n) => !before.has(n)), []);
  assert.equal(mod.PROMPT_TAG, 'attune-prompt');
  assert.equal(mod.PROMPT_STRINGS.skip, 'Skip');
  assert.throws(
    () => mod.renderPrompt({}, view('yesNo'), { answer() {}, dismiss() {} }),
    (e) => e instanceof Error && e.code === 'no_dom',
  );
});
