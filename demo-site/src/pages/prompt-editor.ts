// The marketers' prompt config editor: edit the JSON, see every problem at once (the core's own
// validation), preview each question as visitors see it, and simulate a described visitor with the
// very scheduler the browser runs. Starts no Attune instance: nothing here is stored or sent.
import {
  BUILT_IN_PURPOSES,
  previewPrompts,
  renderPrompt,
  simulatePrompts,
  validatePrompts,
  type AnswerValue,
  type FieldIssue,
  type NextPrompt,
  type PromptScenario,
  type PromptView,
} from '@attune/sdk';
import shopPrompts from '../attune-prompts.json';
import { siteConfig, TRY_PROMPTS_KEY } from '../attune';
import { byId, clear, h } from '../dom';

const DEBOUNCE_MS = 250;
const SHOP_CONFIG_TEXT = JSON.stringify(shopPrompts, null, 2);

/** Every purpose the site declares: the built-in ones and its custom ones. */
const PURPOSES = [...new Set([...BUILT_IN_PURPOSES, ...siteConfig.purposes.map((p) => p.id)])];
/** Purposes a question may ask under (all but `necessary`), with the site's labels. */
const GRANTABLE = PURPOSES.filter((id) => id !== 'necessary').map((id) => ({
  id,
  label: siteConfig.purposes.find((p) => p.id === id)?.label ?? id,
}));

const editor = byId<HTMLTextAreaElement>('prompt-config');
const issuesBox = byId('config-issues');
const languageSelect = byId<HTMLSelectElement>('preview-language');
const previewBox = byId('preview');
const previewStatus = byId('preview-status');
const previewLog = byId<HTMLOListElement>('preview-log');
const simulateForm = byId<HTMLFormElement>('simulate');
const simulateIssues = byId('simulate-issues');
const verdict = byId('simulate-verdict');
const simulatePromptHost = byId('simulate-prompt');
const traceBody = byId<HTMLTableElement>('simulate-trace').tBodies[0]!;

/** The last config that passed validation: what the preview and the simulator show. */
let validConfig: { text: string; value: PromptConfigShape } | null = null;
/** Bumped on every check, so a slow answer for an older text is dropped. */
let checkRevision = 0;
let simulateRevision = 0;

/** The parts of a prompt config this page reads itself (the core checks the rest). */
interface PromptConfigShape {
  defaultLanguage?: string;
  questions?: QuestionShape[];
}
interface QuestionShape {
  id?: string;
  text?: Record<string, string>;
  why?: Record<string, string>;
  usedFor?: Record<string, string>;
  options?: { label?: Record<string, string> }[];
}

// ---------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------

function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The element that has focus, looking inside open shadow roots. */
function deepActiveElement(): HTMLElement | null {
  let active: Element | null = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active instanceof HTMLElement && active !== document.body ? active : null;
}

/**
 * `renderPrompt` moves focus into the card it shows, as it should on a shop page. Here the cards
 * are previews: whoever is typing keeps the focus and the page does not scroll.
 */
function renderPreviewCard(host: Element, view: PromptView, handlers: { answer(v: AnswerValue): void; dismiss(): void }): HTMLElement {
  const before = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
  const { scrollX, scrollY } = window;
  const card = renderPrompt(host, view, handlers);
  if (before?.isConnected) before.focus({ preventScroll: true });
  else deepActiveElement()?.blur();
  window.scrollTo(scrollX, scrollY);
  return card;
}

function logPreview(text: string): void {
  previewLog.prepend(h('li', {}, `${new Date().toLocaleTimeString()} — ${text}`));
  while (previewLog.children.length > 8) previewLog.lastElementChild?.remove();
}

// ---------------------------------------------------------------------------------------
// Locating a problem in the text
// ---------------------------------------------------------------------------------------

/**
 * The span of every value in a JSON text (which JSON.parse accepted), keyed by the path the core
 * reports: `questions[0].options[1].tags`; object members span from their key. The root is `config`.
 */
function valueSpans(text: string): Map<string, [number, number]> {
  const spans = new Map<string, [number, number]>();
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): [number, number] => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') i++;
      else
        for (;;) {
          ws();
          const keyStart = i;
          const key = string();
          ws();
          i++; // ':'
          const member = path ? `${path}.${key}` : key;
          const [, end] = value(member);
          spans.set(member, [keyStart, end]);
          ws();
          if (text[i++] !== ',') break;
        }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') i++;
      else
        for (let n = 0; ; n++) {
          value(`${path}[${n}]`);
          ws();
          if (text[i++] !== ',') break;
        }
    } else if (c === '"') {
      string();
    } else {
      while (i < text.length && !' \t\n\r,]}'.includes(text[i]!)) i++;
    }
    const span: [number, number] = [start, i];
    spans.set(path || 'config', span);
    return span;
  };
  value('');
  return spans;
}

/** Where a problem is in `text`: its path (or the closest enclosing one), or a line and column. */
function locate(text: string, issue: FieldIssue): [number, number] | null {
  const at = /line (\d+) column (\d+)/.exec(issue.message);
  if (issue.path === 'config' && at) {
    const lines = text.split('\n');
    const line = Math.min(Number(at[1]), lines.length);
    let offset = 0;
    for (let n = 0; n < line - 1; n++) offset += lines[n]!.length + 1;
    offset += Math.max(0, Math.min(Number(at[2]) - 1, lines[line - 1]!.length));
    return [offset, Math.min(offset + 1, text.length)];
  }
  let spans: Map<string, [number, number]>;
  try {
    JSON.parse(text);
    spans = valueSpans(text);
  } catch {
    return null;
  }
  for (let path = issue.path; path; path = path.replace(/(\.[^.[\]]*|\[\d+\]|^[^.[\]]*)$/, '')) {
    const span = spans.get(path);
    if (span) return span;
  }
  return spans.get('config') ?? null;
}

function selectInEditor(span: [number, number]): void {
  editor.focus({ preventScroll: true });
  editor.setSelectionRange(span[0], span[1]);
  const line = editor.value.slice(0, span[0]).split('\n').length - 1;
  const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
  editor.scrollTop = Math.max(0, line * lineHeight - editor.clientHeight / 3);
  editor.scrollIntoView({ block: 'nearest' });
}

// ---------------------------------------------------------------------------------------
// Problems list
// ---------------------------------------------------------------------------------------

function issueList(listId: string, issues: FieldIssue[], onSelect: (issue: FieldIssue) => void): HTMLUListElement {
  return h(
    'ul',
    { id: listId, class: 'issue-list' },
    ...issues.map((issue) => {
      const button = h(
        'button',
        { type: 'button', class: 'issue', 'data-path': issue.path },
        h('code', {}, issue.path),
        `: ${issue.message}`,
      );
      button.addEventListener('click', () => onSelect(issue));
      return h('li', { 'data-path': issue.path }, button);
    }),
  );
}

/** What the list shows now: it is only rebuilt (and re-announced) when that changes. */
let shownIssues = '';

function showConfigIssues(issues: FieldIssue[], questions: number): void {
  const key = JSON.stringify([issues, questions]);
  if (key === shownIssues) return;
  shownIssues = key;
  clear(issuesBox);
  if (issues.length === 0) {
    issuesBox.dataset.state = 'ok';
    issuesBox.append(h('p', { class: 'ok', id: 'config-ok' }, `No problems: ${questions} question${questions === 1 ? '' : 's'}`));
    return;
  }
  issuesBox.dataset.state = 'problems';
  issuesBox.append(
    h('p', { class: 'problem-count' }, `${issues.length} problem${issues.length === 1 ? '' : 's'}`),
    issueList('config-issue-list', issues, (issue) => {
      const span = locate(editor.value, issue);
      if (span) selectInEditor(span);
      else editor.focus();
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Checking the config
// ---------------------------------------------------------------------------------------

async function checkConfig(): Promise<void> {
  const revision = ++checkRevision;
  const text = editor.value;
  issuesBox.setAttribute('aria-busy', 'true');
  let parsed: PromptConfigShape | undefined;
  let syntaxError: string | undefined;
  try {
    parsed = JSON.parse(text) as PromptConfigShape;
  } catch (e) {
    syntaxError = message(e);
  }
  let issues: FieldIssue[];
  try {
    // The text, not the parsed value: the core then reports a syntax error with its line and column.
    issues = await validatePrompts(text, { purposes: PURPOSES });
  } catch (e) {
    issues = [{ path: 'validator', message: `could not run: ${message(e)}` }];
  }
  if (revision !== checkRevision) return;
  if (syntaxError !== undefined && issues.length === 0) issues = [{ path: 'config', message: syntaxError }];
  issuesBox.removeAttribute('aria-busy');
  const questions = Array.isArray(parsed?.questions) ? parsed.questions.length : 0;
  showConfigIssues(issues, questions);

  if (issues.length === 0 && parsed) {
    const changed = validConfig?.text !== text;
    validConfig = { text, value: parsed };
    previewStatus.textContent = '';
    if (changed) {
      fillLanguages(parsed);
      await Promise.all([renderPreview(), runSimulation()]);
    }
  } else if (validConfig) {
    previewStatus.textContent = 'The config has problems: the preview and the simulation show the last valid version.';
  } else {
    previewStatus.textContent = 'Fix the problems to see the preview.';
  }
}

// ---------------------------------------------------------------------------------------
// Preview
// ---------------------------------------------------------------------------------------

/** Every language the config's texts use, the default language first. */
function configLanguages(config: PromptConfigShape): string[] {
  const fallback = typeof config.defaultLanguage === 'string' ? config.defaultLanguage : 'en';
  const found = new Set<string>();
  const add = (texts: unknown) => {
    if (texts && typeof texts === 'object') for (const language of Object.keys(texts)) found.add(language);
  };
  for (const q of Array.isArray(config.questions) ? config.questions : []) {
    add(q.text);
    add(q.why);
    add(q.usedFor);
    for (const option of Array.isArray(q.options) ? q.options : []) add(option?.label);
  }
  found.delete(fallback);
  return [fallback, ...[...found].sort()];
}

function fillLanguages(config: PromptConfigShape): void {
  const languages = configLanguages(config);
  const selected = languageSelect.value;
  clear(languageSelect);
  for (const [i, language] of languages.entries()) {
    languageSelect.append(h('option', { value: language }, i === 0 ? `${language} (default)` : language));
  }
  languageSelect.value = languages.includes(selected) ? selected : languages[0]!;
}

async function renderPreview(): Promise<void> {
  const config = validConfig;
  if (!config) return;
  const language = languageSelect.value;
  let outcome: Awaited<ReturnType<typeof previewPrompts>>;
  try {
    outcome = await previewPrompts(config.value, language, { siteConfig });
  } catch (e) {
    previewStatus.textContent = `The preview could not run: ${message(e)}`;
    return;
  }
  if (config !== validConfig || language !== languageSelect.value) return;
  clear(previewBox);
  if (!outcome.result) {
    previewBox.append(issueList('preview-issue-list', outcome.issues, () => editor.focus()));
    return;
  }
  if (outcome.result.length === 0) {
    previewBox.append(h('p', { class: 'muted' }, 'The config has no questions.'));
    return;
  }
  for (const view of outcome.result) {
    const host = h('div', { class: 'preview-host' });
    const meta = h(
      'p',
      { class: 'preview-meta' },
      h('code', {}, view.id),
      ` · ${view.kind} · ${view.purposeLabel}`,
      view.language !== language ? h('span', { class: 'fallback' }, ` · no "${language}" text: shown in ${view.language}`) : null,
    );
    const container = h('div', { class: 'preview-card', 'data-preview-question': view.id, 'data-language': view.language }, meta, host);
    previewBox.append(container);
    showPreviewCard(host, view);
  }
}

/** A preview card whose buttons only say what they would do; it comes back after an answer. */
function showPreviewCard(host: HTMLElement, view: PromptView): void {
  const again = () => setTimeout(() => host.isConnected && !host.firstChild && showPreviewCard(host, view), 0);
  renderPreviewCard(host, view, {
    answer: (value) => {
      logPreview(`would store answer ${JSON.stringify(value)} to "${view.id}" (kept ${view.retentionDays} days, under ${view.purpose})`);
      again();
    },
    dismiss: () => {
      logPreview(`would record that "${view.id}" was dismissed`);
      again();
    },
  });
}

// ---------------------------------------------------------------------------------------
// Simulate a visitor
// ---------------------------------------------------------------------------------------

const field = <T extends HTMLElement = HTMLInputElement>(id: string) => byId<T>(id);
const JSON_FIELDS = {
  events: 'sim-events',
  answers: 'sim-answers',
  dismissed: 'sim-dismissed',
  interests: 'sim-interests',
} as const;
const NUMBER_FIELDS = {
  pageViews: 'sim-page-views',
  secondsOnSite: 'sim-seconds',
  session: 'sim-session',
  shownThisSession: 'sim-shown',
  minutesSinceLastPrompt: 'sim-minutes',
} as const;
/** Scenario field → the form control it comes from (for selecting a problem). */
const SCENARIO_CONTROLS: Record<string, string> = {
  ...JSON_FIELDS,
  ...NUMBER_FIELDS,
  granted: `granted-${GRANTABLE[0]?.id ?? ''}`,
  path: 'sim-path',
  languages: 'sim-languages',
};

function setupSimulateForm(): void {
  const granted = byId('sim-granted');
  for (const purpose of GRANTABLE) {
    const input = h('input', { type: 'checkbox', id: `granted-${purpose.id}`, name: 'granted', value: purpose.id });
    granted.append(h('label', { class: 'checkbox' }, input, ` ${purpose.label} `, h('code', {}, purpose.id)));
  }
  field<HTMLTextAreaElement>('sim-events').value = '[{"name": "product_view", "props": {"category": "outdoor"}, "count": 2}]';
  field<HTMLTextAreaElement>('sim-answers').value = '{}';
  field<HTMLTextAreaElement>('sim-dismissed').value = '[]';
  field<HTMLTextAreaElement>('sim-interests').value = '{}';

  const rerun = debounce(() => void runSimulation(), DEBOUNCE_MS);
  simulateForm.addEventListener('input', rerun);
  simulateForm.addEventListener('change', rerun);
  simulateForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void runSimulation();
  });
}

/** The scenario the form describes, or the problems with its JSON fields. */
function readScenario(): { scenario: PromptScenario; issues: FieldIssue[] } {
  const issues: FieldIssue[] = [];
  const scenario: Record<string, unknown> = {
    granted: [...simulateForm.querySelectorAll<HTMLInputElement>('input[name="granted"]:checked')].map((i) => i.value),
    path: field('sim-path').value.trim() || '/',
    languages: field('sim-languages')
      .value.split(',')
      .map((l) => l.trim())
      .filter(Boolean),
  };
  for (const [key, id] of Object.entries(NUMBER_FIELDS)) {
    const raw = field(id).value.trim();
    // Passed as typed (even -1 or 2.5): the core says what is wrong with it.
    if (raw !== '') scenario[key] = Number(raw);
  }
  for (const [key, id] of Object.entries(JSON_FIELDS)) {
    const raw = field<HTMLTextAreaElement>(id).value.trim();
    if (raw === '') continue;
    try {
      scenario[key] = JSON.parse(raw);
    } catch (e) {
      issues.push({ path: `scenario.${key}`, message: `not valid JSON: ${message(e)}` });
    }
  }
  return { scenario: scenario as PromptScenario, issues };
}

function simulationDate(): Date | undefined {
  const value = field('sim-date').value;
  // Midday UTC, so `start`/`end` dates (UTC days) read as that very day.
  return value ? new Date(`${value}T12:00:00Z`) : undefined;
}

function showScenarioIssues(issues: FieldIssue[]): void {
  clear(simulateIssues);
  simulateIssues.hidden = issues.length === 0;
  if (issues.length === 0) return;
  simulateIssues.append(
    h('p', { class: 'problem-count' }, `${issues.length} problem${issues.length === 1 ? '' : 's'} in the visitor or the config`),
    issueList('simulate-issue-list', issues, (issue) => {
      const key = /^scenario\.([A-Za-z]+)/.exec(issue.path)?.[1];
      const control = key && SCENARIO_CONTROLS[key] ? document.getElementById(SCENARIO_CONTROLS[key]!) : null;
      if (control) control.focus();
      else {
        const span = locate(editor.value, issue);
        if (span) selectInEditor(span);
      }
    }),
  );
}

async function runSimulation(): Promise<void> {
  const config = validConfig;
  if (!config) return;
  const revision = ++simulateRevision;
  const { scenario, issues } = readScenario();
  let outcome: { issues: FieldIssue[]; result: NextPrompt | null };
  if (issues.length) {
    outcome = { issues, result: null };
  } else {
    try {
      outcome = await simulatePrompts(config.value, scenario, { siteConfig, now: simulationDate() });
    } catch (e) {
      outcome = { issues: [{ path: 'simulator', message: `could not run: ${message(e)}` }], result: null };
    }
  }
  if (revision !== simulateRevision) return;
  showScenarioIssues(outcome.issues);
  clear(simulatePromptHost);
  clear(traceBody);
  const result = outcome.result;
  if (!result) {
    verdict.textContent = 'Fix the problems above to run the simulation.';
    verdict.dataset.show = '';
    return;
  }
  verdict.dataset.show = result.show ?? '';
  verdict.textContent = result.show ? `Would show: ${result.show}` : 'No prompt now';
  if (result.prompt) {
    const view = result.prompt;
    renderPreviewCard(simulatePromptHost, view, {
      answer: (value) => logPreview(`the simulated visitor would store answer ${JSON.stringify(value)} to "${view.id}"`),
      dismiss: () => logPreview(`the simulated visitor would dismiss "${view.id}"`),
    });
  }
  for (const line of result.trace) {
    traceBody.append(
      h(
        'tr',
        { 'data-question': line.question, 'data-eligible': String(line.eligible) },
        h('td', {}, line.question ? h('code', {}, line.question) : h('span', { class: 'muted' }, 'all questions')),
        h('td', { class: line.eligible ? 'eligible' : 'blocked' }, line.eligible ? 'yes' : 'no'),
        h('td', {}, line.reason),
      ),
    );
  }
}

// ---------------------------------------------------------------------------------------
// Wiring
// ---------------------------------------------------------------------------------------

function loadText(text: string): void {
  editor.value = text;
  void checkConfig();
}

editor.addEventListener('input', debounce(() => void checkConfig(), DEBOUNCE_MS));
byId('reset-config').addEventListener('click', () => {
  sessionStorage.removeItem(TRY_PROMPTS_KEY); // the shop goes back to its own config too
  loadText(SHOP_CONFIG_TEXT);
  logPreview("reset the editor to the shop's config");
});
byId('download-config').addEventListener('click', () => {
  const blob = new Blob([editor.value.endsWith('\n') ? editor.value : `${editor.value}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: 'attune-prompts.json', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});
// Hands the last valid config to the shop, in this tab only (sessionStorage), and opens the shop.
byId('try-config').addEventListener('click', () => {
  if (!validConfig) {
    logPreview('fix the problems first: there is no valid config to try');
    return;
  }
  sessionStorage.setItem(TRY_PROMPTS_KEY, validConfig.text);
  location.assign('/');
});
languageSelect.addEventListener('change', () => void renderPreview());

setupSimulateForm();
// A config tried in the shop earlier in this tab comes back for more editing.
editor.value = sessionStorage.getItem(TRY_PROMPTS_KEY) ?? SHOP_CONFIG_TEXT;
void checkConfig().finally(() => {
  // For the end-to-end tests: the first check, preview and simulation are done.
  document.documentElement.dataset.editorReady = 'true';
});
