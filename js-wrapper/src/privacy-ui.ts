// <attune-privacy-center>: everything the SDK holds about the visitor, in plain words, with
// their controls: consent, answers, inferred interests, what left the device, export and
// deletion. createElement/textContent only, in an open shadow root; raw JSON only inside closed
// <details>. Hooks for sites and tests: docs/privacy.md (data-attune-action, data-attune-purpose,
// data-attune-status).
import type { ConsentView, LogEntry, PurposeState, SentPayload } from './generated/index.js';
import { AttuneError, toAttuneError } from './errors.js';
import { el, styleSheet } from './dom.js';
import { privacyCss } from './privacy-styles.js';
import type { ErasureReceipt, ExportDocument, PrivacyAnswer, PrivacyApi, PrivacyInterest, PrivacyItem, PrivacyView } from './privacy-types.js';

export const PRIVACY_TAG = 'attune-privacy-center';

/**
 * The privacy centre's words, in English. `{…}` are filled in: `{purpose}` a purpose's label,
 * `{date}` a date in the visitor's locale, `{n}` a number, … Translate by passing `strings` to
 * `mountPrivacyCenter`; keys ending in `One`/`Many` are the singular and plural forms.
 */
export const PRIVACY_STRINGS = {
  intro: 'What this site has stored about you in this browser, what it has sent to its server, and what you can do about it.',
  memoryOnly: 'Nothing is kept on this device: everything here is forgotten when you leave the page.',
  unavailable: 'Your privacy information cannot be shown right now.',
  detailsHistory: 'Details: the consent record',
  detailsHistoryNote: 'Each entry is sealed with a hash that also covers the entry before it, so a change to any entry would show.',
  detailsSent: 'Details: exactly what was sent',
  detailsManifest: 'Details: the list as the site publishes it',
  detailsServerCopy: 'Details: the site’s copy as it was received',
  detailsReceipt: 'Details: the receipt as it was received',
  delete: 'Delete',
  forget: 'Forget',
  cancel: 'Cancel',

  choicesHeading: 'Your choices',
  choicesIntro: 'What you allow this site to do with your data. You can change any of these at any time.',
  granted: 'Allowed',
  denied: 'Not allowed',
  notAsked: 'Not asked yet',
  alwaysOn: 'Always on',
  requiredNote: 'Always on: the site needs it to work.',
  notAskedNote: 'You have not made a choice yet.',
  given: '{status} {source} on {date}.',
  givenNoDate: '{status} {source}.',
  givenRevision: 'Policy version {revision}.',
  revisionChanged: 'The policy has changed since then (it is now version {current}).',
  sourceRequired: 'because the site needs it',
  sourceBanner: 'by you',
  sourceApi: 'by the site',
  sourceGpc: 'by your browser’s Global Privacy Control signal',
  sourceDnt: 'by your browser’s Do Not Track setting',
  sourceDefault: 'by the site’s default',
  historyHeading: 'Your consent history',
  historyEmpty: 'You have not made any choices yet.',
  historyEntry: '{date}: {changes} ({source}, policy version {revision}).',
  decisionGranted: '{purpose} allowed',
  decisionDenied: '{purpose} not allowed',
  decisionWithdrawn: '{purpose} withdrawn',
  verifiedOne: 'Your consent record checks out: it has not been changed since you made this choice.',
  verifiedMany: 'Your consent record checks out: its {n} entries have not been changed since you made these choices.',
  unverified:
    'Warning: your consent record does not check out. It has been changed or damaged on this device, so it cannot be relied on to show the choices you made.',

  answersHeading: 'What you told us',
  answersIntro: 'Your answers to the site’s questions. Each is used only for its purpose, and forgotten on its date.',
  answersEmpty: 'You have not answered any questions.',
  yourAnswer: 'Your answer',
  whyAsked: 'Why we asked',
  usedFor: 'What it is used for',
  purpose: 'Purpose',
  answeredOn: 'Answered',
  kept: 'Kept',
  keptOne: 'For 1 day: forgotten on {date}',
  keptMany: 'For {n} days: forgotten on {date}',

  interestsHeading: 'What we inferred',
  interestsIntro: 'Guesses made on this device from what you looked at, used to choose what to recommend to you.',
  interestsEmpty: 'Nothing has been inferred from your activity.',
  interest: 'Interest in {tag}',
  levelStrong: 'One of your strongest interests',
  levelSome: 'Some interest',
  levelSlight: 'Slight interest',
  basedOn: 'Based on: {items}. Deleting it forgets these products.',
  itemsHeading: 'Items used for your recommendations',
  itemsEmpty: 'No items are remembered.',
  itemEntry: '{item}: {did} on {date}.',
  didView: 'you viewed it',
  didClick: 'you clicked it',
  didCart: 'you added it to your cart',
  didPurchase: 'you bought it',
  didDwell: 'you spent time on it',
  didSkip: 'you skipped it',
  didNotInterested: 'you said you were not interested',
  mutedHeading: 'Topics you hid',
  mutedEmpty: 'You have not hidden any topics.',
  unmute: 'Show again',
  unmuted: '“{tag}” can be recommended again.',

  egressHeading: 'What left this device',
  egressIntro: 'Every batch of data this device sent, newest first. “Details” shows it exactly as it was sent.',
  egressEmpty: 'Nothing has been sent from this device.',
  egressEntry: '{events} for {purposes} sent to the site’s server on {date}: {outcome}.',
  egressMeta: 'Sent to {destination}: {bytes} bytes, by {transport}; server answer: {status}.',
  noStatus: 'none',
  eventsOne: '1 event',
  eventsMany: '{n} events',
  outcomeDelivered: 'delivered',
  outcomeWillRetry: 'not delivered yet, it will be tried again',
  outcomeSplit: 'too large, sent again in smaller batches',
  outcomeRefused: 'refused by the site',
  outcomeHandedOff: 'handed to the browser to send as the page closed',
  outcomeAborted: 'given up',
  queuedNone: 'Nothing is waiting to be sent.',
  queuedOne: '1 event is waiting to be sent.',
  queuedMany: '{n} events are waiting to be sent.',
  manifestHeading: 'What can ever leave this device',
  manifestIntro: 'The site declares in advance every piece of data that can be sent, and where it goes. Nothing else can leave.',
  manifestEmpty: 'Nothing is set up to leave this device.',
  manifestTable: 'Show every field that can be sent',
  manifestCaption: 'Everything that can be sent, by purpose',
  colField: 'Data',
  colPurpose: 'Purpose',
  colEvents: 'In events',
  colSentAs: 'Sent as',
  colDestination: 'Sent to',
  colKept: 'Kept for',
  allEvents: 'every event',
  daysOne: '1 day',
  daysMany: '{n} days',
  idRotates: '{purpose}: events carry a random id, replaced every {days}.',
  noId: '{purpose}: events carry no id.',

  controlsHeading: 'Your data controls',
  deviceHeading: 'On this device',
  download: 'Download my data',
  downloadNote: 'A file with everything stored about you on this device.',
  downloaded: 'Your data was saved as {file}.',
  serverHeading: 'On the site’s server',
  serverNote: 'The site’s server keeps what was sent from this device. You can ask for a copy, or ask for it to be deleted.',
  noServerRights: 'This site does not take these requests from here. To get a copy or have your data deleted, contact the site.',
  noDeviceKey:
    'This browser has no key that proves which data on the site’s server is yours (nothing was sent with an id yet, or this device was cleared). To reach data sent earlier, contact the site.',
  serverCopy: 'Ask the site for a copy of my data',
  serverCopyWorking: 'Asking the site for its copy of your data…',
  serverCopyDone: 'The site’s copy of your data was saved as {file}.',
  serverCopySummary: 'The site holds {events}, {receipts} and {ids} for this device.',
  serverCopyAgain: 'Download the site’s copy again',
  receiptsOne: '1 consent record',
  receiptsMany: '{n} consent records',
  idsOne: '1 random visitor id',
  idsMany: '{n} random visitor ids',
  serverErase: 'Ask the site to delete my data',
  confirmEraseText:
    'The site will delete everything it holds for this device: events, consent records and random visitor ids. This cannot be undone. If you want a copy, ask for it first.',
  confirmErase: 'Yes, delete the site’s data',
  serverEraseWorking: 'Asking the site to delete your data…',
  erasedHeading: 'The site deleted your data',
  erasedText:
    'Receipt {id}, on {date}: {events}, {receipts} and {ids} deleted. Your choices above are unchanged: while a purpose that sends data is allowed, new visits are recorded under a new random id.',
  eraseDone: 'The site deleted your data. A receipt is below.',
  /** Shown after `eraseDone` in the status line but hidden from screen readers (the receipt panel has the id too). */
  eraseDoneId: '(Receipt {id}.)',
  downloadReceipt: 'Download receipt',
  receiptSaved: 'The receipt was saved as {file}.',
  clearHeading: 'Start over',
  clearDevice: 'Clear everything on this device',
  confirmHeading: 'Are you sure?',
  clearNote: 'Deletes your choices, answers, interests and the record of what was sent from this browser. You will be asked for consent again.',
  confirmClearText: 'Everything this site stored in this browser will be deleted, and you will be asked for consent again.',
  confirmClearServer:
    'Once this device is cleared, the site’s copy of your data can no longer be requested or deleted from here. If you want a copy, or want it deleted, ask the site first with the buttons above.',
  confirmClear: 'Yes, clear this device',
  cleared: 'Everything on this device was cleared.',

  consentAllowed: '{purpose}: allowed.',
  consentNotAllowed: '{purpose}: not allowed.',
  consentUnchanged: 'Your choice for {purpose} could not be saved.',
  answerDeleted: 'Your answer to “{question}” was deleted.',
  interestDeleted: 'The interest in {tag} was deleted.',
  interestAlsoRemoved: 'Also removed, because they came from the same products: {tags}.',
  itemForgotten: '{item} was forgotten.',
  itemAlsoRemoved: 'Interests that came from it were removed too: {tags}.',
  alreadyGone: 'That was already gone.',
  busy: 'Please wait: the site has not answered yet.',
  failed: 'That did not work: {message}',
};

export type PrivacyStrings = typeof PRIVACY_STRINGS;

/** What the privacy centre needs of its owner; the `Attune` instance satisfies it. */
export interface PrivacyOwner {
  privacy: PrivacyApi;
  consent: {
    grant(ids: string[], source?: 'banner' | 'api'): boolean;
    withdraw(ids: string[], source?: 'banner' | 'api'): boolean;
    deny(ids: string[], source?: 'banner' | 'api'): boolean;
    onChange(listener: (view: ConsentView) => void): () => void;
  };
  /** Where problems go (the site's `onWarning`): the centre never throws into the page. */
  warn(error: AttuneError): void;
}

export interface PrivacyCenterOptions {
  /** Replaces some or all of `PRIVACY_STRINGS`. */
  strings?: Partial<PrivacyStrings>;
  /** Plain names for tags and item ids, e.g. `{ 'cast-iron': 'cast iron', k1: 'Cast Iron Skillet' }`. */
  labels?: Record<string, string>;
  /** An item's title (e.g. from the site's catalogue); `undefined` falls back to `labels`, then the id. */
  titles?: (itemId: string) => string | undefined;
  /** Locale(s) for dates; default: the browser's. */
  locale?: string | string[];
}

/** `<attune-privacy-center>` as `mountPrivacyCenter` returns it. */
export interface PrivacyCenterElement extends HTMLElement {
  /** Change them and call `refresh()`. */
  options: PrivacyCenterOptions;
  /** Reads everything again and redraws (it also does after every change it is told about). */
  refresh(): void;
}

type Strings = PrivacyStrings;
type Vars = Record<string, string | number>;

const fill = (text: string | undefined, vars: Vars = {}): string =>
  (text ?? '').replace(/\{(\w+)\}/g, (whole, key: string) => (Object.hasOwn(vars, key) ? String(vars[key]) : whole));

/** The singular or plural form, filled with `{n}`. */
const count = (n: number, one: string | undefined, many: string | undefined): string => fill(n === 1 ? one : many, { n });

/** The string of `s` for an enum value (`'source'` + `'gpc'` → `s.sourceGpc`); `undefined` for a value this version does not know. */
function pick(s: Strings, prefix: string, value: string): string | undefined {
  const key = prefix ? prefix + value.charAt(0).toUpperCase() + value.slice(1) : value;
  return Object.hasOwn(s, key) ? s[key as keyof Strings] : undefined;
}

const date = (ms: number, locale?: string | string[]) => (Number.isFinite(ms) ? new Date(ms).toLocaleString(locale) : '');
const day = (ms: number, locale?: string | string[]) => (Number.isFinite(ms) ? new Date(ms).toLocaleDateString(locale) : '');
const own = (labels: Record<string, string> | undefined, key: string) => (labels && Object.hasOwn(labels, key) ? labels[key] : undefined);

/** A purpose's label: from the consent view, else the egress manifest, else `labels`, else its id. */
export function purposeLabel(view: Pick<PrivacyView, 'consent' | 'manifest'>, id: string, labels?: Record<string, string>): string {
  return (
    view.consent.purposes.find((p) => p.id === id)?.label ??
    view.manifest.purposes.find((p) => p.purpose === id)?.label ??
    own(labels, id) ??
    id
  );
}

/** A purpose's state in words: "Allowed", "Not allowed", "Not asked yet" ("Always on" for `necessary`). */
export function purposeStateText(purpose: PurposeState, strings: Strings = PRIVACY_STRINGS): string {
  if (purpose.required) return strings.alwaysOn;
  return pick(strings, '', purpose.status) ?? purpose.status;
}

/** How and when a purpose got its state: "Allowed by you on 3/4/2025, 10:02:11. Policy version 2." */
export function purposeHowText(purpose: PurposeState, currentRevision: number, strings: Strings = PRIVACY_STRINGS, locale?: string | string[]): string {
  if (purpose.required) return strings.requiredNote;
  if (purpose.status === 'notAsked') return strings.notAskedNote;
  const vars = { status: purposeStateText(purpose, strings), source: pick(strings, 'source', purpose.source) ?? purpose.source };
  const parts = [purpose.at !== null ? fill(strings.given, { ...vars, date: date(purpose.at, locale) }) : fill(strings.givenNoDate, vars)];
  if (purpose.revision !== null) {
    parts.push(fill(strings.givenRevision, { revision: purpose.revision }));
    if (purpose.revision < currentRevision) parts.push(fill(strings.revisionChanged, { current: currentRevision }));
  }
  return parts.join(' ');
}

/** One consent-history entry in words: "3/4/2025, 10:02:11: Analytics allowed; Ads not allowed (by you, policy version 2)." */
export function historyText(entry: LogEntry, view: Pick<PrivacyView, 'consent' | 'manifest'>, strings: Strings = PRIVACY_STRINGS, locale?: string | string[]): string {
  const changes = entry.changes
    .map((c) => fill(pick(strings, 'decision', c.decision) ?? `{purpose}: ${c.decision}`, { purpose: purposeLabel(view, c.purpose) }))
    .join('; ');
  const source = pick(strings, 'source', entry.source) ?? entry.source;
  return fill(strings.historyEntry, { date: date(entry.at, locale), changes, source, revision: entry.revision });
}

/** One payload that left, in words: "3 events for Analytics sent to the site’s server on 3/4/2025, 10:02:11: delivered." */
export function egressText(payload: SentPayload, view: Pick<PrivacyView, 'consent' | 'manifest'>, strings: Strings = PRIVACY_STRINGS, locale?: string | string[]): string {
  return fill(strings.egressEntry, {
    events: count(payload.events.length, strings.eventsOne, strings.eventsMany),
    purposes: payload.purposes.map((p) => purposeLabel(view, p)).join(', '),
    destination: payload.destination,
    date: date(payload.at, locale),
    outcome: pick(strings, 'outcome', payload.outcome) ?? payload.outcome,
  });
}

const fileName = (prefix: string, siteId: string) =>
  `${prefix}-${siteId.replace(/[^A-Za-z0-9._-]+/g, '-')}-${new Date().toISOString().slice(0, 10)}.json`;

/**
 * What makes an element "the same control" across redraws (focus goes back to it): its hooks, or
 * its id when it has none (per-entry ids are positions, which change when an entry goes).
 */
const KEY_ATTRS = ['data-attune-action', 'data-attune-purpose', 'data-attune-question', 'data-attune-tag', 'data-attune-item', 'data-attune-details'];
const keyOf = (e: Element) => {
  const hooks = KEY_ATTRS.map((a) => e.getAttribute(a) ?? '');
  return [e.localName, hooks.some(Boolean) ? '' : (e.getAttribute('id') ?? ''), ...hooks].join('\u0000');
};
const FOCUSABLE = 'button, input, summary, [tabindex]';

const SECTIONS = ['choices', 'answers', 'interests', 'egress', 'controls'] as const;
type SectionName = (typeof SECTIONS)[number];
const headingId = (name: SectionName) => `attune-privacy-${name}-heading`;

// Defined on first mount: HTMLElement does not exist under Node/SSR, and importing has no effect.
function define(): void {
  if (customElements.get(PRIVACY_TAG)) return;

  class AttunePrivacyCenter extends HTMLElement implements PrivacyCenterElement {
    options: PrivacyCenterOptions = {};
    /** @internal */
    owner: PrivacyOwner | undefined;
    readonly #shadow: ShadowRoot;
    readonly #content = el('div', { class: 'center' });
    readonly #status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'data-attune-status': '' });
    #stop: (() => void) | undefined;
    /** A destructive control waiting for its confirmation. */
    #confirm: 'clear' | 'erase' | undefined;
    /** A request to the site's server under way. */
    #pending: 'copy' | 'erase' | undefined;
    #copy: { doc: ExportDocument; file: string } | undefined;
    #receipt: ErasureReceipt | undefined;
    /** The view last drawn (what a deletion compares against to say what else went). */
    #view: PrivacyView | undefined;

    constructor() {
      super();
      this.#shadow = this.attachShadow({ mode: 'open' });
      this.#shadow.adoptedStyleSheets = [styleSheet(privacyCss)];
      this.#shadow.append(this.#content, this.#status);
    }

    connectedCallback(): void {
      const owner = this.owner;
      if (this.#stop || !owner) return;
      const offs: Array<() => void> = [];
      try {
        offs.push(owner.privacy.onChange(() => this.refresh()));
        offs.push(owner.consent.onChange(() => this.refresh()));
      } catch (e) {
        this.#warn(e);
      }
      this.#stop = () => offs.forEach((off) => off());
      this.refresh();
    }

    disconnectedCallback(): void {
      try {
        this.#stop?.();
      } catch (e) {
        this.#warn(e);
      }
      this.#stop = undefined;
    }

    get #strings(): Strings {
      return { ...PRIVACY_STRINGS, ...this.options.strings };
    }

    refresh(): void {
      const owner = this.owner;
      if (!owner) return;
      let view: PrivacyView | undefined;
      try {
        view = owner.privacy.view();
      } catch (e) {
        this.#warn(e);
      }
      this.#view = view;
      try {
        this.#render(view);
      } catch (e) {
        // Drawing never throws into the page (a bad `strings` override, an unexpected view).
        this.#warn(e);
        try {
          this.#content.replaceChildren(el('p', { class: 'error' }, this.#strings.unavailable ?? PRIVACY_STRINGS.unavailable));
        } catch {
          // nothing more can be done
        }
      }
    }

    #warn(e: unknown): AttuneError {
      const error = toAttuneError(e);
      try {
        this.owner?.warn(error);
      } catch {
        // a throwing onWarning must not break the centre either
      }
      return error;
    }

    /** Announces `text` in the status region; `unannounced` is shown after it but hidden from screen readers. */
    #say(text: string, error = false, unannounced?: string): void {
      this.#status.textContent = text;
      if (unannounced) this.#status.append(' ', el('span', { 'aria-hidden': 'true' }, unannounced));
      this.#status.classList.toggle('error', error);
    }

    #fail(e: unknown): void {
      this.#say(fill(this.#strings.failed, { message: this.#warn(e).message }), true);
    }

    /** Runs a control; whatever it throws is shown and reported, never thrown. */
    #guard(act: () => void): void {
      try {
        act();
      } catch (e) {
        this.#fail(e);
      }
    }

    #render(view: PrivacyView | undefined): void {
      // What the visitor had focused and opened survives the redraw.
      const active = this.#shadow.activeElement;
      const focusKey = active ? keyOf(active) : undefined;
      const focusSection = active?.closest('section')?.getAttribute('data-attune-section');
      const open = new Set([...this.#content.querySelectorAll('details[open]')].map((d) => d.getAttribute('data-attune-details')));

      const s = this.#strings;
      const content = el('div', { class: 'center' });
      if (!view) {
        content.append(el('p', { class: 'error' }, s.unavailable));
      } else {
        content.append(el('p', { class: 'intro' }, s.intro));
        if (view.storage === 'memory') content.append(el('p', { class: 'note' }, s.memoryOnly));
        content.append(this.#choices(view, s), this.#answers(view, s), this.#interests(view, s), this.#egress(view, s), this.#controls(view, s));
      }
      for (const details of content.querySelectorAll('details')) {
        if (open.has(details.getAttribute('data-attune-details'))) details.open = true;
      }
      this.#content.replaceChildren(...content.childNodes);

      if (focusKey !== undefined) {
        const same = [...this.#shadow.querySelectorAll<HTMLElement>(FOCUSABLE)].find((e) => keyOf(e) === focusKey);
        const fallback = focusSection ? this.#heading(focusSection as SectionName) : undefined;
        (same ?? fallback)?.focus();
      }
    }

    #heading(name: SectionName): HTMLElement | null {
      return this.#shadow.querySelector<HTMLElement>(`#${headingId(name)}`);
    }

    #section(name: SectionName, heading: string, intro?: string): HTMLElement {
      const section = el('section', { 'aria-labelledby': headingId(name), 'data-attune-section': name });
      section.append(el('h2', { id: headingId(name), tabindex: '-1' }, heading));
      if (intro) section.append(el('p', { class: 'intro' }, intro));
      return section;
    }

    #button(text: string, attrs: Record<string, string>, act: () => void): HTMLButtonElement {
      const button = el('button', { type: 'button', ...attrs }, text);
      button.addEventListener('click', () => this.#guard(act));
      return button;
    }

    /** A per-entry button, named by its own text and its entry's ("Delete" + "Interest in kitchen"): names are unique. */
    #entryButton(text: string, id: string, entryId: string, attrs: Record<string, string>, act: () => void): HTMLButtonElement {
      return this.#button(text, { id, 'aria-labelledby': `${id} ${entryId}`, ...attrs }, act);
    }

    /** A closed disclosure; with `entryId`, its summary is named by its own text and its entry's. */
    #disclosure(key: string, summaryText: string, entryId: string | undefined, ...children: HTMLElement[]): HTMLDetailsElement {
      const details = el('details', { 'data-attune-details': key });
      // The summary carries the key too: focus on it survives a redraw.
      const summaryId = entryId ? `${entryId}-details` : undefined;
      const naming: Record<string, string> = summaryId ? { id: summaryId, 'aria-labelledby': `${summaryId} ${entryId}` } : {};
      details.append(el('summary', { 'data-attune-details': key, ...naming }, summaryText), ...children);
      return details;
    }

    /** Raw JSON, only ever inside a closed disclosure, after `extra` (words about it). */
    #details(key: string, summaryText: string, json: unknown, entryId?: string, extra?: HTMLElement): HTMLDetailsElement {
      const children = extra ? [extra] : [];
      return this.#disclosure(key, summaryText, entryId, ...children, el('pre', {}, JSON.stringify(json, null, 2)));
    }

    #list(entries: HTMLElement[], empty: string, plain = false): HTMLElement {
      if (entries.length === 0) return el('p', { class: 'empty' }, empty);
      // role="list": styled without bullets, a list still reads as one (Safari drops it otherwise).
      const list = el('ul', plain ? { class: 'plain' } : { role: 'list' });
      list.append(...entries);
      return list;
    }

    // 1. Consent: every purpose with its switch, then the hash-chained history.
    #choices(view: PrivacyView, s: Strings): HTMLElement {
      const section = this.#section('choices', s.choicesHeading, s.choicesIntro);
      const owner = this.owner!;
      const purposes = view.consent.purposes.map((p, n) => {
        const id = `attune-privacy-purpose-${n}`;
        const li = el('li', { class: 'entry' });
        const input = el('input', {
          type: 'checkbox',
          role: 'switch',
          id,
          'data-attune-purpose': p.id,
          'aria-describedby': `${id}-state ${id}-desc ${id}-how`,
        });
        input.checked = p.required || p.status === 'granted';
        input.disabled = p.required;
        input.addEventListener('change', () =>
          this.#guard(() => {
            const on = input.checked;
            const changed = on ? owner.consent.grant([p.id], 'banner') : owner.consent.withdraw([p.id], 'banner');
            this.refresh();
            this.#say(fill(changed ? (on ? s.consentAllowed : s.consentNotAllowed) : s.consentUnchanged, { purpose: p.label }), !changed);
          }),
        );
        const row = el('div', { class: 'row' });
        row.append(
          input,
          el('label', { for: id }, p.label),
          el('span', { class: 'state', id: `${id}-state`, 'data-state': p.required ? 'granted' : p.status }, purposeStateText(p, s)),
        );
        li.append(row, el('p', { class: 'desc', id: `${id}-desc` }, p.description));
        li.append(el('p', { class: 'meta', id: `${id}-how` }, purposeHowText(p, view.consent.revision, s, this.options.locale)));
        return li;
      });
      section.append(this.#list(purposes, ''));

      section.append(el('h3', {}, s.historyHeading));
      const entries = view.history.length;
      if (!view.historyVerified) section.append(el('p', { class: 'warning', 'data-attune-verified': 'false' }, s.unverified));
      else if (entries > 0) section.append(el('p', { class: 'ok', 'data-attune-verified': 'true' }, count(entries, s.verifiedOne, s.verifiedMany)));
      const history = [...view.history].reverse().map((entry) => el('li', {}, historyText(entry, view, s, this.options.locale)));
      section.append(this.#list(history, s.historyEmpty, true));
      if (entries > 0) {
        const note = el('p', { class: 'meta' }, s.detailsHistoryNote);
        section.append(this.#details('history', s.detailsHistory, { record: view.consent.record, history: view.history }, undefined, note));
      }
      return section;
    }

    // 2. Answers to the site's questions.
    #answers(view: PrivacyView, s: Strings): HTMLElement {
      const section = this.#section('answers', s.answersHeading, s.answersIntro);
      const privacy = this.owner!.privacy;
      const locale = this.options.locale;
      const answers = view.answers.map((a: PrivacyAnswer, n) => {
        const id = `attune-privacy-answer-${n}`;
        const li = el('li', { class: 'entry' });
        li.append(el('h3', { id }, a.text));
        const facts = el('dl');
        const fact = (term: string, value: string) => {
          if (value) facts.append(el('dt', {}, term), el('dd', {}, value));
        };
        fact(s.yourAnswer, a.answer);
        fact(s.whyAsked, a.why);
        fact(s.usedFor, a.usedFor);
        fact(s.purpose, purposeLabel(view, a.purpose));
        fact(s.answeredOn, date(a.at, locale));
        fact(s.kept, fill(a.retentionDays === 1 ? s.keptOne : s.keptMany, { n: a.retentionDays, date: day(a.expires, locale) }));
        li.append(facts);
        const actions = el('div', { class: 'actions' });
        actions.append(
          this.#entryButton(s.delete, `${id}-delete`, id, { 'data-attune-action': 'forget-answer', 'data-attune-question': a.question }, () =>
            this.#removed('answers', 'forget-answer', n, privacy.forgetAnswer(a.question), fill(s.answerDeleted, { question: a.text })),
          ),
        );
        li.append(actions);
        return li;
      });
      section.append(this.#list(answers, s.answersEmpty));
      return section;
    }

    #tag(tag: string): string {
      return own(this.options.labels, tag) ?? tag;
    }

    #title(item: string, known?: string): string {
      let title: string | undefined;
      try {
        title = this.options.titles?.(item);
      } catch (e) {
        this.#warn(e);
      }
      return (typeof title === 'string' && title) || known || own(this.options.labels, item) || item;
    }

    // 3. Interests inferred on the device, the items behind them, and muted tags.
    #interests(view: PrivacyView, s: Strings): HTMLElement {
      const section = this.#section('interests', s.interestsHeading, s.interestsIntro);
      const privacy = this.owner!.privacy;
      const titles = new Map(view.recentItems.map((i) => [i.item, i.title]));
      const interests = view.interests.map((interest: PrivacyInterest, n) => {
        const id = `attune-privacy-interest-${n}`;
        const li = el('li', { class: 'entry' });
        const tag = this.#tag(interest.tag);
        li.append(el('p', { class: 'name', id }, fill(s.interest, { tag })));
        const strength = Math.min(1, Math.max(0, Number(interest.strength) || 0));
        const row = el('div', { class: 'row' });
        // The level is in words beside it: the meter is only a picture of it.
        row.append(el('meter', { min: '0', max: '1', value: String(strength), 'aria-hidden': 'true' }));
        row.append(el('span', { class: 'level', 'data-level': interest.level }, pick(s, 'level', interest.level) ?? interest.level));
        li.append(row);
        if (interest.items.length > 0) {
          li.append(el('p', { class: 'meta' }, fill(s.basedOn, { items: interest.items.map((i) => this.#title(i, titles.get(i))).join(', ') })));
        }
        const actions = el('div', { class: 'actions' });
        actions.append(
          // Forgetting the products an interest comes from can take other interests with them: say which.
          this.#entryButton(s.delete, `${id}-delete`, id, { 'data-attune-action': 'forget-interest', 'data-attune-tag': interest.tag }, () =>
            this.#removed('interests', 'forget-interest', n, privacy.forgetInterest(interest.tag), () =>
              this.#alsoRemoved(fill(s.interestDeleted, { tag }), view, interest.tag, s.interestAlsoRemoved),
            ),
          ),
        );
        li.append(actions);
        return li;
      });
      section.append(this.#list(interests, s.interestsEmpty));

      section.append(el('h3', {}, s.itemsHeading));
      const items = view.recentItems.map((item: PrivacyItem, n) => {
        const id = `attune-privacy-item-${n}`;
        const title = this.#title(item.item, item.title);
        const li = el('li', { class: 'entry row' });
        const did = pick(s, 'did', item.kind) ?? item.kind;
        li.append(el('span', { id }, fill(s.itemEntry, { item: title, did, date: date(item.at, this.options.locale) })));
        li.append(
          this.#entryButton(s.forget, `${id}-forget`, id, { 'data-attune-action': 'forget-item', 'data-attune-item': item.item }, () =>
            this.#removed('interests', 'forget-item', n, privacy.forgetItem(item.item), () =>
              this.#alsoRemoved(fill(s.itemForgotten, { item: title }), view, undefined, s.itemAlsoRemoved),
            ),
          ),
        );
        return li;
      });
      section.append(this.#list(items, s.itemsEmpty));

      section.append(el('h3', {}, s.mutedHeading));
      const muted = view.muted.map((tag, n) => {
        const id = `attune-privacy-muted-${n}`;
        const li = el('li', { class: 'entry row', 'data-attune-tag': tag });
        li.append(el('span', { id }, this.#tag(tag)));
        li.append(
          this.#entryButton(s.unmute, `${id}-unmute`, id, { 'data-attune-action': 'unmute', 'data-attune-tag': tag }, () => {
            privacy.unmute(tag);
            this.#removed('interests', 'unmute', n, true, fill(s.unmuted, { tag: this.#tag(tag) }));
          }),
        );
        return li;
      });
      section.append(this.#list(muted, s.mutedEmpty));
      return section;
    }

    /** After a delete: redraw, focus the next entry's control (or the heading), and say so (`done` is read after the redraw). */
    #removed(name: SectionName, action: string, n: number, removed: boolean, done: string | (() => string)): void {
      this.refresh();
      const controls = this.#shadow.querySelectorAll<HTMLElement>(`[data-attune-action="${action}"]`);
      this.#place(controls[Math.min(n, controls.length - 1)] ?? this.#heading(name));
      this.#say(removed ? (typeof done === 'string' ? done : done()) : this.#strings.alreadyGone);
    }

    /** `text`, then `also` naming the interests of `before` (but `except`) that the redrawn view no longer has, if any. */
    #alsoRemoved(text: string, before: PrivacyView, except: string | undefined, also: string): string {
      const now = this.#view;
      if (!now) return text;
      const left = new Set(now.interests.map((i) => i.tag));
      const gone = before.interests.filter((i) => i.tag !== except && !left.has(i.tag)).map((i) => this.#tag(i.tag));
      return gone.length > 0 ? `${text} ${fill(also, { tags: gone.join(', ') })}` : text;
    }

    // 4. What left the device, newest first, and everything that ever can.
    #egress(view: PrivacyView, s: Strings): HTMLElement {
      const section = this.#section('egress', s.egressHeading, s.egressIntro);
      const locale = this.options.locale;
      section.append(el('p', { class: 'note', 'data-attune-queued': String(view.queued) }, view.queued > 0 ? count(view.queued, s.queuedOne, s.queuedMany) : s.queuedNone));
      const log = view.egressLog.map((payload, n) => {
        const id = `attune-privacy-sent-${n}`;
        const li = el('li', { class: 'entry', 'data-attune-outcome': payload.outcome });
        li.append(el('p', { id }, egressText(payload, view, s, locale)));
        const meta = el(
          'p',
          { class: 'meta' },
          fill(s.egressMeta, { destination: payload.destination, bytes: payload.bytes, transport: payload.transport, status: payload.status ?? s.noStatus }),
        );
        li.append(this.#details(`sent-${payload.at}-${payload.events[0]?.id ?? n}`, s.detailsSent, payload.events, id, meta));
        return li;
      });
      section.append(this.#list(log.reverse(), s.egressEmpty));

      const manifest = view.manifest;
      section.append(el('h3', {}, s.manifestHeading), el('p', { class: 'intro' }, s.manifestIntro));
      if (manifest.rows.length === 0) {
        section.append(el('p', { class: 'empty' }, s.manifestEmpty));
        return section;
      }
      const table = el('table');
      table.append(el('caption', {}, s.manifestCaption));
      const head = el('tr');
      for (const col of [s.colField, s.colPurpose, s.colEvents, s.colSentAs, s.colDestination, s.colKept]) head.append(el('th', { scope: 'col' }, col));
      const thead = el('thead');
      thead.append(head);
      const tbody = el('tbody');
      for (const row of manifest.rows) {
        const tr = el('tr', { 'data-attune-field': row.field, 'data-attune-purpose': row.purpose });
        const field = el('td');
        field.append(el('code', {}, row.field));
        tr.append(
          field,
          el('td', {}, purposeLabel(view, row.purpose)),
          el('td', {}, row.events.length > 0 ? row.events.join(', ') : s.allEvents),
          el('td', {}, row.sentAs),
          el('td', {}, row.destination),
          el('td', {}, count(row.retentionDays, s.daysOne, s.daysMany)),
        );
        tbody.append(tr);
      }
      table.append(thead, tbody);
      const wrap = el('div', { class: 'table-wrap' });
      wrap.append(table);
      // In plain words first; the table (field names, event names) is there for who wants it.
      const ids = manifest.purposes.map((p) =>
        el(
          'li',
          {},
          p.pseudonymousIdRotateDays === null
            ? fill(s.noId, { purpose: p.label })
            : fill(s.idRotates, { purpose: p.label, days: count(p.pseudonymousIdRotateDays, s.daysOne, s.daysMany) }),
        ),
      );
      if (ids.length > 0) section.append(this.#list(ids, '', true));
      section.append(this.#disclosure('manifest-table', s.manifestTable, undefined, wrap));
      section.append(this.#details('manifest', s.detailsManifest, manifest));
      return section;
    }

    // 5. Export and deletion, here and on the site's server.
    #controls(view: PrivacyView, s: Strings): HTMLElement {
      const section = this.#section('controls', s.controlsHeading);
      const privacy = this.owner!.privacy;
      const control = (...nodes: HTMLElement[]) => {
        const div = el('div', { class: 'control' });
        div.append(...nodes);
        return div;
      };

      section.append(el('h3', {}, s.deviceHeading));
      section.append(
        control(
          this.#button(s.download, { 'data-attune-action': 'download', 'aria-describedby': 'attune-privacy-download-note' }, () => {
            const file = fileName('attune-data', view.siteId);
            privacy.download(privacy.exportDevice(), file);
            this.#say(fill(s.downloaded, { file }));
          }),
          el('p', { class: 'note', id: 'attune-privacy-download-note' }, s.downloadNote),
        ),
      );

      section.append(el('h3', {}, s.serverHeading));
      const unavailable = !view.serverRights ? s.noServerRights : !view.deviceKey ? s.noDeviceKey : undefined;
      section.append(el('p', { class: 'note', id: 'attune-privacy-server-note', 'data-attune-server': unavailable ? 'unavailable' : 'available' }, unavailable ?? s.serverNote));
      // Unavailable buttons stay in the tab order (aria-disabled, not disabled): a click says why.
      const serverButton = (action: 'server-copy' | 'server-erase', text: string, act: () => void) => {
        const button = this.#button(text, { 'data-attune-action': action, 'aria-describedby': 'attune-privacy-server-note' }, () => {
          if (unavailable !== undefined) this.#say(unavailable);
          else if (this.#pending) this.#say(s.busy);
          else act();
        });
        if (unavailable !== undefined || this.#pending === (action === 'server-copy' ? 'copy' : 'erase')) button.setAttribute('aria-disabled', 'true');
        return button;
      };

      const copy = control(serverButton('server-copy', s.serverCopy, () => void this.#serverCopy(view.siteId)));
      if (this.#copy) copy.append(this.#copyResult(this.#copy, s));
      section.append(copy);

      const erase = control(
        serverButton('server-erase', s.serverErase, () => {
          this.#confirm = 'erase';
          this.refresh();
          this.#place(this.#shadow.querySelector<HTMLElement>('[data-attune-action="confirm-erase"]'));
        }),
      );
      if (this.#confirm === 'erase' && !unavailable) {
        erase.append(
          this.#confirmPanel('erase', [s.confirmEraseText], s.confirmErase, 'server-erase', () => void this.#serverErase()),
        );
      }
      if (this.#receipt) erase.append(this.#receiptResult(this.#receipt, view.siteId, s));
      section.append(erase);

      section.append(el('h3', {}, s.clearHeading));
      const clear = control(
        this.#button(s.clearDevice, { 'data-attune-action': 'clear-device', class: 'danger', 'aria-describedby': 'attune-privacy-clear-note' }, () => {
          this.#confirm = 'clear';
          this.refresh();
          this.#place(this.#shadow.querySelector<HTMLElement>('[data-attune-action="confirm-clear"]'));
        }),
        el('p', { class: 'note', id: 'attune-privacy-clear-note' }, s.clearNote),
      );
      if (this.#confirm === 'clear') {
        const texts = view.serverRights && view.deviceKey ? [s.confirmClearText, s.confirmClearServer] : [s.confirmClearText];
        clear.append(
          this.#confirmPanel('clear', texts, s.confirmClear, 'clear-device', () => {
            privacy.clearDevice();
            // What the site's server said belongs to a device that no longer exists here.
            this.#copy = undefined;
            this.#receipt = undefined;
            this.refresh();
            // Not if focus went elsewhere meanwhile (the consent banner, asking again).
            this.#place(this.#heading('controls'));
            this.#say(s.cleared);
          }),
        );
      }
      section.append(clear);
      return section;
    }

    /**
     * The second step of a destructive control: "Are you sure?" (the group's name), its warning (the
     * "Yes, …" button's description, so it is read once), "Yes, …" and "Cancel" (or Escape).
     */
    #confirmPanel(kind: 'clear' | 'erase', texts: string[], yes: string, back: string, act: () => void): HTMLElement {
      const s = this.#strings;
      const headingId = `attune-privacy-confirm-${kind}-heading`;
      const ids = texts.map((_, n) => `attune-privacy-confirm-${kind}-${n}`);
      const panel = el('div', { class: 'confirm', role: 'group', 'aria-labelledby': headingId });
      panel.append(el('h4', { id: headingId }, s.confirmHeading));
      texts.forEach((text, n) => panel.append(el('p', { class: 'warning', id: ids[n]! }, text)));
      const cancel = () => {
        this.#confirm = undefined;
        this.refresh();
        this.#place(this.#shadow.querySelector<HTMLElement>(`[data-attune-action="${back}"]`));
      };
      const actions = el('div', { class: 'actions' });
      actions.append(
        this.#button(yes, { 'data-attune-action': `confirm-${kind}`, class: 'danger primary', 'aria-describedby': ids.join(' ') }, () => {
          this.#confirm = undefined;
          act();
        }),
        this.#button(s.cancel, { 'data-attune-action': `cancel-${kind}` }, cancel),
      );
      panel.append(actions);
      panel.addEventListener('keydown', (event) => {
        if ((event as KeyboardEvent).key === 'Escape') this.#guard(cancel);
      });
      return panel;
    }

    /** Where `focus()` on the element itself goes: the control an action last placed focus on. */
    #returnKey: string | undefined;

    /**
     * Puts focus on `target` after an action, unless it has moved out of the centre meanwhile
     * (to the consent banner, say) or, with `from`, to another of its controls.
     */
    #place(target: HTMLElement | null, from?: string): void {
      if (!target) return;
      this.#returnKey = keyOf(target);
      const active = this.#shadow.activeElement;
      const page = typeof document === 'undefined' ? null : document.activeElement;
      const idle = !active && (page === null || page === document.body || page === this);
      if (idle || (active && (from === undefined || keyOf(active) === from))) target.focus();
    }

    /** Focus given to the element (e.g. returned by the consent banner) goes to the last control used, else the first heading. */
    override focus(options?: FocusOptions): void {
      const key = this.#returnKey;
      const last = key === undefined ? undefined : [...this.#shadow.querySelectorAll<HTMLElement>(FOCUSABLE)].find((e) => keyOf(e) === key);
      (last ?? this.#shadow.querySelector<HTMLElement>('h2'))?.focus(options);
    }

    async #serverCopy(siteId: string): Promise<void> {
      const s = this.#strings;
      const privacy = this.owner!.privacy;
      this.#pending = 'copy';
      this.refresh();
      this.#say(s.serverCopyWorking);
      try {
        const doc = await privacy.requestServerCopy();
        const file = fileName('attune-server-data', siteId);
        this.#copy = { doc, file };
        this.#pending = undefined;
        this.refresh();
        privacy.download(doc, file);
        this.#say(fill(s.serverCopyDone, { file }));
      } catch (e) {
        this.#pending = undefined;
        this.refresh();
        this.#fail(e);
      }
    }

    #copyResult(copy: { doc: ExportDocument; file: string }, s: Strings): HTMLElement {
      const doc = copy.doc;
      const result = el('div', { class: 'result', 'data-attune-result': 'server-copy' });
      result.append(
        el(
          'p',
          {},
          fill(s.serverCopySummary, {
            events: count(doc.events?.length ?? 0, s.eventsOne, s.eventsMany),
            receipts: count(doc.receipts?.length ?? 0, s.receiptsOne, s.receiptsMany),
            ids: count(doc.pseudonymousIds?.length ?? 0, s.idsOne, s.idsMany),
          }),
        ),
      );
      const actions = el('div', { class: 'actions' });
      actions.append(
        this.#button(s.serverCopyAgain, { 'data-attune-action': 'download-server-copy' }, () => {
          this.owner!.privacy.download(copy.doc, copy.file);
          this.#say(fill(s.serverCopyDone, { file: copy.file }));
        }),
      );
      result.append(actions, this.#details('server-copy', s.detailsServerCopy, doc));
      return result;
    }

    async #serverErase(): Promise<void> {
      const s = this.#strings;
      const privacy = this.owner!.privacy;
      this.#pending = 'erase';
      this.refresh();
      const button = this.#shadow.querySelector<HTMLElement>('[data-attune-action="server-erase"]');
      this.#place(button); // the confirm button is gone: focus goes to the control that asked
      const key = button ? keyOf(button) : undefined;
      this.#say(s.serverEraseWorking);
      try {
        const receipt = await privacy.requestServerErasure();
        this.#receipt = receipt;
        this.#copy = undefined; // it described data that is gone
        this.#pending = undefined;
        this.refresh();
        this.#place(this.#shadow.querySelector<HTMLElement>('#attune-privacy-receipt-heading'), key);
        // The id is in the receipt panel; reading out 32 hex digits helps no one.
        this.#say(fill(s.eraseDone, { id: receipt.receiptId }), false, fill(s.eraseDoneId, { id: receipt.receiptId }));
      } catch (e) {
        this.#pending = undefined;
        this.refresh();
        this.#fail(e);
      }
    }

    #receiptResult(receipt: ErasureReceipt, siteId: string, s: Strings): HTMLElement {
      const result = el('div', { class: 'result', 'data-attune-result': 'erasure' });
      const deleted = receipt.deleted ?? { events: 0, receipts: 0, pseudonymousIds: 0 };
      result.append(
        el('h3', { id: 'attune-privacy-receipt-heading', tabindex: '-1' }, s.erasedHeading),
        el(
          'p',
          {},
          fill(s.erasedText, {
            id: receipt.receiptId,
            date: date(receipt.erasedAt, this.options.locale),
            events: count(deleted.events, s.eventsOne, s.eventsMany),
            receipts: count(deleted.receipts, s.receiptsOne, s.receiptsMany),
            ids: count(deleted.pseudonymousIds, s.idsOne, s.idsMany),
          }),
        ),
      );
      const actions = el('div', { class: 'actions' });
      actions.append(
        this.#button(s.downloadReceipt, { 'data-attune-action': 'download-receipt' }, () => {
          const file = fileName('attune-erasure-receipt', receipt.siteId || siteId);
          this.owner!.privacy.download(receipt, file);
          this.#say(fill(s.receiptSaved, { file }));
        }),
      );
      result.append(actions, this.#details('receipt', s.detailsReceipt, receipt));
      return result;
    }
  }

  customElements.define(PRIVACY_TAG, AttunePrivacyCenter);
}

/**
 * Appends an `<attune-privacy-center>` to `target`: what the SDK holds about the visitor, in plain
 * words, with their controls. It redraws whenever consent or anything it shows changes, and stops
 * listening when removed from the page. Problems go to `owner.warn`; only a call without a browser
 * document throws (`no_dom`).
 *
 * ```ts
 * mountPrivacyCenter(document.querySelector('#privacy')!, attune, { labels: { k1: 'Cast Iron Skillet' } });
 * ```
 */
export function mountPrivacyCenter(target: HTMLElement, owner: PrivacyOwner, options: PrivacyCenterOptions = {}): PrivacyCenterElement {
  if (typeof customElements === 'undefined' || typeof document === 'undefined') {
    throw new AttuneError('mountPrivacyCenter needs a browser document', 'no_dom');
  }
  define();
  const center = document.createElement(PRIVACY_TAG) as PrivacyCenterElement & { owner: PrivacyOwner };
  center.owner = owner;
  center.options = options;
  target.append(center); // connected: subscribes and draws
  if (!center.isConnected) center.refresh();
  return center;
}
