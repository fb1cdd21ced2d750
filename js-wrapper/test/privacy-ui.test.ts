// <attune-privacy-center> against a fake owner built from a realistic PrivacyView: every section
// in words, raw JSON only inside closed <details>, the visitor's controls (consent switches,
// deletes, device export and clearing, the site's copy and erasure with their confirmation
// steps), errors in the status region, focus after destructive actions, untrusted text as text,
// subscriptions, and no side effects at import.
//
// The package has no DOM library, so the test brings a small one of its own (below): elements
// with attributes and text, selectors, events that bubble out of shadow roots, focus, custom
// elements with connected/disconnected callbacks, constructable stylesheets. The real browser
// behaviour is the e2e suite's.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AttuneError } from '../src/errors.js';
import type { ConsentView, Event, PurposeState } from '../src/generated/index.js';
import {
  egressText,
  mountPrivacyCenter,
  PRIVACY_STRINGS,
  PRIVACY_TAG,
  purposeHowText,
  purposeLabel,
  purposeStateText,
  type PrivacyCenterElement,
  type PrivacyCenterOptions,
  type PrivacyOwner,
} from '../src/privacy-ui.js';
import type { ErasureReceipt, ExportDocument, PrivacyApi, PrivacyView } from '../src/privacy-types.js';

// ---------------------------------------------------------------------------------------------
// A small DOM.

let focused: FakeElement | null = null;
let pendingTag = '';
let registry = new Map<string, new () => FakeElement>();

class FakeEvent {
  target: FakeNode | null = null;
  currentTarget: FakeNode | null = null;
  defaultPrevented = false;
  stopped = false;
  readonly bubbles: boolean;
  readonly composed: boolean;
  readonly key: string | undefined;
  constructor(
    readonly type: string,
    init: { bubbles?: boolean; composed?: boolean; key?: string } = {},
  ) {
    this.bubbles = init.bubbles ?? false;
    this.composed = init.composed ?? false;
    this.key = init.key;
  }
  stopPropagation(): void {
    this.stopped = true;
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

type Listener = (event: FakeEvent) => void;

class FakeNode {
  parentNode: FakeNode | null = null;
  childNodes: FakeNode[] = [];
  readonly listeners = new Map<string, Set<Listener>>();

  get textContent(): string {
    return this.childNodes.map((c) => c.textContent).join('');
  }
  set textContent(text: string | null) {
    this.replaceChildren();
    if (text !== null && text !== '') this.append(String(text));
  }
  get children(): FakeElement[] {
    return this.childNodes.filter((c): c is FakeElement => c instanceof FakeElement);
  }
  get isConnected(): boolean {
    for (let n: FakeNode | null = this; n; n = n instanceof FakeShadowRoot ? n.host : n.parentNode) {
      if (n instanceof FakeDocument) return true;
    }
    return false;
  }
  getRootNode(): FakeNode {
    let n: FakeNode = this;
    while (n.parentNode) n = n.parentNode;
    return n;
  }
  append(...nodes: Array<FakeNode | string>): void {
    for (const node of nodes) {
      const child = typeof node === 'string' ? new FakeText(node) : node;
      child.remove();
      child.parentNode = this;
      this.childNodes.push(child);
      if (child.isConnected) walk(child, (n) => (n as { connectedCallback?: () => void }).connectedCallback?.());
    }
  }
  appendChild<T extends FakeNode>(node: T): T {
    this.append(node);
    return node;
  }
  replaceChildren(...nodes: Array<FakeNode | string>): void {
    for (const child of [...this.childNodes]) child.remove();
    this.append(...nodes);
  }
  remove(): void {
    const parent = this.parentNode;
    if (!parent) return;
    const connected = this.isConnected;
    parent.childNodes.splice(parent.childNodes.indexOf(this), 1);
    this.parentNode = null;
    if (connected) walk(this, (n) => (n as { disconnectedCallback?: () => void }).disconnectedCallback?.());
  }
  contains(node: FakeNode | null): boolean {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }
  addEventListener(type: string, listener: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }
  /** Listeners' errors are not swallowed (a browser would report them): a test sees them. */
  dispatchEvent(event: FakeEvent): boolean {
    event.target = this;
    const path: FakeNode[] = [];
    for (let n: FakeNode | null = this; n; ) {
      path.push(n);
      if (!event.bubbles) break;
      n = n instanceof FakeShadowRoot ? (event.composed ? n.host : null) : n.parentNode;
    }
    for (const node of path) {
      event.currentTarget = node;
      for (const listener of [...(node.listeners.get(event.type) ?? [])]) listener.call(node, event);
      if (event.stopped) break;
    }
    return !event.defaultPrevented;
  }
  querySelectorAll(selector: string): FakeElement[] {
    const groups = parseSelector(selector);
    const found: FakeElement[] = [];
    const visit = (node: FakeNode) => {
      for (const child of node.children) {
        if (groups.some((g) => matchComplex(child, g))) found.push(child);
        visit(child);
      }
    };
    visit(this);
    return found;
  }
  querySelector(selector: string): FakeElement | null {
    return this.querySelectorAll(selector)[0] ?? null;
  }
}

class FakeText extends FakeNode {
  constructor(public data: string) {
    super();
  }
  override get textContent(): string {
    return this.data;
  }
  override set textContent(text: string | null) {
    this.data = text ?? '';
  }
}

class FakeElement extends FakeNode {
  readonly localName: string;
  readonly #attrs = new Map<string, string>();
  shadowRoot: FakeShadowRoot | null = null;
  checked = false;
  value = '';

  constructor(tag?: string) {
    super();
    this.localName = (tag ?? pendingTag).toLowerCase();
  }
  get tagName(): string {
    return this.localName.toUpperCase();
  }
  getAttribute(name: string): string | null {
    return this.#attrs.get(name.toLowerCase()) ?? null;
  }
  getAttributeNames(): string[] {
    return [...this.#attrs.keys()];
  }
  setAttribute(name: string, value: string): void {
    this.#attrs.set(name.toLowerCase(), String(value));
  }
  hasAttribute(name: string): boolean {
    return this.#attrs.has(name.toLowerCase());
  }
  removeAttribute(name: string): void {
    this.#attrs.delete(name.toLowerCase());
  }
  toggleAttribute(name: string, force?: boolean): boolean {
    const on = force ?? !this.hasAttribute(name);
    if (on) this.setAttribute(name, '');
    else this.removeAttribute(name);
    return on;
  }
  get id(): string {
    return this.getAttribute('id') ?? '';
  }
  get hidden(): boolean {
    return this.hasAttribute('hidden');
  }
  set hidden(on: boolean) {
    this.toggleAttribute('hidden', on);
  }
  get disabled(): boolean {
    return this.hasAttribute('disabled');
  }
  set disabled(on: boolean) {
    this.toggleAttribute('disabled', on);
  }
  get open(): boolean {
    return this.hasAttribute('open');
  }
  set open(on: boolean) {
    this.toggleAttribute('open', on);
  }
  get classList() {
    const names = () => (this.getAttribute('class') ?? '').split(/\s+/).filter(Boolean);
    const set = (list: string[]) => this.setAttribute('class', list.join(' '));
    return {
      contains: (name: string) => names().includes(name),
      add: (name: string) => set([...new Set([...names(), name])]),
      remove: (name: string) => set(names().filter((n) => n !== name)),
      toggle: (name: string, force?: boolean) => {
        const on = force ?? !names().includes(name);
        set(on ? [...new Set([...names(), name])] : names().filter((n) => n !== name));
        return on;
      },
    };
  }
  get dataset(): Record<string, string | undefined> {
    const attr = (key: string) => `data-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return new Proxy({} as Record<string, string | undefined>, {
      get: (_, key) => (typeof key === 'string' ? (this.getAttribute(attr(key)) ?? undefined) : undefined),
      set: (_, key, value) => {
        this.setAttribute(attr(String(key)), String(value));
        return true;
      },
    });
  }
  attachShadow(init: { mode: 'open' | 'closed' }): FakeShadowRoot {
    const root = new FakeShadowRoot(this);
    if (init.mode === 'open') this.shadowRoot = root;
    return root;
  }
  get #focusable(): boolean {
    if (this.disabled && /^(button|input|select|textarea)$/.test(this.localName)) return false;
    return /^(button|input|select|textarea|summary)$/.test(this.localName) || this.hasAttribute('tabindex') || (this.localName === 'a' && this.hasAttribute('href'));
  }
  focus(): void {
    if (this.#focusable && this.isConnected) focused = this;
  }
  blur(): void {
    if (focused === this) focused = null;
  }
  /** As a browser: nothing on a disabled control; a checkbox toggles, then click, input, change. */
  click(): void {
    if (this.disabled && /^(button|input)$/.test(this.localName)) return;
    const checkbox = this.localName === 'input' && this.getAttribute('type') === 'checkbox';
    if (checkbox) this.checked = !this.checked;
    this.dispatchEvent(new FakeEvent('click', { bubbles: true, composed: true }));
    if (checkbox) {
      this.dispatchEvent(new FakeEvent('input', { bubbles: true, composed: true }));
      this.dispatchEvent(new FakeEvent('change', { bubbles: true }));
    }
  }
  matches(selector: string): boolean {
    return parseSelector(selector).some((g) => matchComplex(this, g));
  }
  closest(selector: string): FakeElement | null {
    for (let n: FakeNode | null = this; n instanceof FakeElement; n = n.parentNode) if (n.matches(selector)) return n;
    return null;
  }
}

class FakeShadowRoot extends FakeNode {
  adoptedStyleSheets: unknown[] = [];
  constructor(readonly host: FakeElement) {
    super();
  }
  /** The focused element, retargeted to this tree; `null` when focus is elsewhere. */
  get activeElement(): FakeElement | null {
    if (!focused?.isConnected) return null;
    for (let n: FakeElement = focused; ; ) {
      const root = n.getRootNode();
      if (root === this) return n;
      if (!(root instanceof FakeShadowRoot)) return null;
      n = root.host;
    }
  }
}

class FakeDocument extends FakeNode {
  readonly documentElement = new FakeElement('html');
  readonly body = new FakeElement('body');
  constructor() {
    super();
    this.append(this.documentElement);
    this.documentElement.append(this.body);
  }
  createElement(tag: string): FakeElement {
    const custom = registry.get(tag.toLowerCase());
    if (!custom) return new FakeElement(tag);
    pendingTag = tag;
    try {
      return new custom();
    } finally {
      pendingTag = '';
    }
  }
  createTextNode(text: string): FakeText {
    return new FakeText(text);
  }
  /** Focus inside a shadow root shows as its host; lost focus as the body. */
  get activeElement(): FakeElement {
    if (!focused?.isConnected) return this.body;
    let n: FakeElement = focused;
    for (let root = n.getRootNode(); root instanceof FakeShadowRoot; root = n.getRootNode()) n = root.host;
    return n;
  }
}

class FakeStyleSheet {
  cssText = '';
  replaceSync(text: string): void {
    this.cssText = text;
  }
}

function walk(node: FakeNode, visit: (node: FakeNode) => void): void {
  visit(node);
  for (const child of [...node.childNodes]) walk(child, visit);
}

// Selectors: compounds (tag, #id, .class, [attr], [attr="value"]) joined by descendant
// combinators, in comma-separated lists. Anything else is an error, not a silent miss.
interface Compound {
  tag?: string;
  id?: string;
  classes: string[];
  attrs: Array<{ name: string; value?: string }>;
}

function splitTop(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let current = '';
  for (const c of text) {
    if (quote) quote = c === quote ? '' : quote;
    else if (c === '"' || c === "'") quote = c;
    else if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === separator && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter(Boolean);
}

function parseCompound(text: string): Compound {
  const compound: Compound = { classes: [], attrs: [] };
  let rest = text;
  const tag = /^([a-zA-Z][\w-]*|\*)/.exec(rest);
  if (tag) {
    if (tag[1] !== '*') compound.tag = tag[1]!.toLowerCase();
    rest = rest.slice(tag[0].length);
  }
  while (rest) {
    const m = /^#([\w-]+)|^\.([\w-]+)|^\[([\w-]+)(?:=(?:"([^"]*)"|'([^']*)'|([\w-]+)))?\]/.exec(rest);
    if (!m) throw new Error(`fake DOM: unsupported selector ${text}`);
    if (m[1]) compound.id = m[1];
    else if (m[2]) compound.classes.push(m[2]);
    else compound.attrs.push({ name: m[3]!.toLowerCase(), value: m[4] ?? m[5] ?? m[6] });
    rest = rest.slice(m[0].length);
  }
  return compound;
}

const parseSelector = (selector: string): Compound[][] => splitTop(selector, ',').map((g) => splitTop(g, ' ').map(parseCompound));

function matchCompound(e: FakeElement, c: Compound): boolean {
  if (c.tag && e.localName !== c.tag) return false;
  if (c.id && e.id !== c.id) return false;
  if (c.classes.some((name) => !e.classList.contains(name))) return false;
  return c.attrs.every((a) => (a.value === undefined ? e.hasAttribute(a.name) : e.getAttribute(a.name) === a.value));
}

function matchComplex(e: FakeElement, compounds: Compound[]): boolean {
  if (!matchCompound(e, compounds.at(-1)!)) return false;
  let n: FakeNode | null = e.parentNode;
  for (let i = compounds.length - 2; i >= 0; i--) {
    while (n instanceof FakeElement && !matchCompound(n, compounds[i]!)) n = n.parentNode;
    if (!(n instanceof FakeElement)) return false;
    n = n.parentNode;
  }
  return true;
}

let doc: FakeDocument;
let define: ReturnType<typeof vi.fn>;

function installDom(): void {
  registry = new Map();
  focused = null;
  doc = new FakeDocument();
  define = vi.fn((name: string, ctor: new () => FakeElement) => {
    if (registry.has(name)) throw new Error(`${name} is already defined`);
    registry.set(name, ctor);
  });
  vi.stubGlobal('document', doc);
  vi.stubGlobal('HTMLElement', FakeElement);
  vi.stubGlobal('CSSStyleSheet', FakeStyleSheet);
  vi.stubGlobal('customElements', { define, get: (name: string) => registry.get(name) });
}

// ---------------------------------------------------------------------------------------------
// The fixture: a shop where the visitor answered two questions, viewed and bought things, and
// two batches left the device.

const T0 = Date.UTC(2025, 2, 4, 10, 0, 0);
const DAY = 86_400_000;
const HASH = (c: string) => c.repeat(64);

function purpose(id: string, label: string, description: string, rest: Partial<PurposeState> = {}): PurposeState {
  return { id, label, description, required: false, status: 'notAsked', source: 'default', at: null, revision: null, ...rest };
}

const EVENTS_SENT: Event[] = [
  { id: 'e'.repeat(32), name: 'page_view', purpose: 'analytics', ts: T0 + 9_000, props: { path: '/p/k1' }, pid: 'p'.repeat(32) },
  { id: 'f'.repeat(32), name: 'page_view', purpose: 'analytics', ts: T0 + 9_500, props: { path: '/p/k2' }, pid: 'p'.repeat(32) },
  { id: '1'.repeat(32), name: 'product_view', purpose: 'analytics', ts: T0 + 9_800, props: { productId: 'k2' }, pid: 'p'.repeat(32) },
];

function fixture(): PrivacyView {
  return {
    siteId: 'shop',
    generatedAt: T0 + 30_000,
    consent: {
      revision: 3,
      needsBanner: false,
      purposes: [
        purpose('necessary', 'Necessary', 'Keeps the shop working: your cart and these choices.', { required: true, status: 'granted', source: 'required' }),
        purpose('analytics', 'Analytics', 'Counts page views so the shop can see what works.', { status: 'granted', source: 'banner', at: T0, revision: 2 }),
        purpose('personalization', 'Personalization', 'Recommends products from what you look at.', {
          status: 'granted',
          source: 'api',
          at: T0 + 1_000,
          revision: 3,
        }),
        purpose('marketing', 'Marketing', 'Shows you our ads on other sites.', { status: 'denied', source: 'gpc' }),
        purpose('surveys', 'Surveys', 'Asks you about your visit now and then.'),
      ],
      signals: { gpc: true, dnt: false },
      record: { entries: 2, head: HASH('b'), verified: true },
    },
    history: [
      {
        seq: 0,
        at: T0,
        source: 'banner',
        revision: 2,
        policyHash: HASH('c'),
        changes: [
          { purpose: 'analytics', decision: 'granted' },
          { purpose: 'marketing', decision: 'denied' },
        ],
        prev: HASH('0'),
        hash: HASH('a'),
      },
      { seq: 1, at: T0 + 1_000, source: 'api', revision: 3, policyHash: HASH('d'), changes: [{ purpose: 'personalization', decision: 'granted' }], prev: HASH('a'), hash: HASH('b') },
    ],
    historyVerified: true,
    answers: [
      {
        question: 'diet',
        text: 'Do you follow a particular diet?',
        answer: 'Vegetarian, Gluten-free',
        value: ['vegetarian', 'gluten-free'],
        purpose: 'personalization',
        why: 'So we can suggest recipes you can eat.',
        usedFor: 'Choosing which recipes to show first.',
        retentionDays: 90,
        at: T0 + 2_000,
        expires: T0 + 2_000 + 90 * DAY,
      },
      {
        question: 'topics',
        text: 'Which topics interest you?',
        answer: 'Camping',
        value: ['camping'],
        purpose: 'personalization',
        why: 'To pick the articles in your newsletter.',
        usedFor: 'The order of the articles.',
        retentionDays: 30,
        at: T0 + 3_000,
        expires: T0 + 3_000 + 30 * DAY,
      },
    ],
    interests: [
      { tag: 'kitchen', strength: 1, level: 'strong', items: ['k1', 'k2'] },
      { tag: 'outdoor', strength: 0.4, level: 'some', items: ['a1'] },
    ],
    recentItems: [
      { item: 'k1', title: 'Cast Iron Skillet', kind: 'purchase', at: T0 + 5_000 },
      { item: 'k2', title: 'Chef Knife', kind: 'view', at: T0 + 4_000 },
      { item: 'a1', kind: 'cart', at: T0 + 3_500 },
    ],
    muted: ['electronics'],
    egressLog: [
      { at: T0 + 10_000, destination: '/v1/batch', transport: 'fetch', status: 200, outcome: 'delivered', bytes: 512, purposes: ['analytics'], events: EVENTS_SENT },
      {
        at: T0 + 20_000,
        destination: '/v1/batch',
        transport: 'beacon',
        status: null,
        outcome: 'handedOff',
        bytes: 180,
        purposes: ['analytics', 'personalization'],
        events: [{ id: '2'.repeat(32), name: 'page_view', purpose: 'analytics', ts: T0 + 19_000, props: { path: '/cart' } }],
      },
    ],
    manifest: {
      format: 'attune-egress-manifest/1',
      siteId: 'shop',
      destination: '/v1/batch',
      purposes: [
        { purpose: 'analytics', label: 'Analytics', retentionDays: 30, pseudonymousIdRotateDays: 30, events: [{ name: 'page_view', props: [{ name: 'path', sentAs: 'as is' }] }] },
        { purpose: 'personalization', label: 'Personalization', retentionDays: 90, pseudonymousIdRotateDays: null, events: [] },
      ],
      rows: [
        { field: 'events[].props.path', purpose: 'analytics', events: ['page_view'], sentAs: 'as is', destination: '/v1/batch', retentionDays: 30 },
        { field: 'events[].pid', purpose: 'analytics', events: [], sentAs: 'a random id, new every 30 days', destination: '/v1/batch', retentionDays: 30 },
      ],
    },
    queued: 2,
    deviceKey: true,
    serverRights: true,
    storage: 'local',
  };
}

const DEVICE_DOC: ExportDocument = { format: 'attune-export/1', source: 'device', siteId: 'shop', generatedAt: T0 + 40_000 };
const SERVER_DOC: ExportDocument = {
  format: 'attune-export/1',
  source: 'collector',
  siteId: 'shop',
  generatedAt: T0 + 50_000,
  events: EVENTS_SENT.slice(0, 2).map((e) => ({ ...e, receivedAt: e.ts + 100 })),
  receipts: [{ hash: HASH('b'), granted: ['necessary', 'analytics'], firstSeen: T0, lastSeen: T0 + 10_000 }],
  pseudonymousIds: [{ purpose: 'analytics', id: 'p'.repeat(32), firstSeen: T0, lastSeen: T0 + 10_000 }],
};
const RECEIPT: ErasureReceipt = {
  format: 'attune-erasure-receipt/1',
  receiptId: 'rcpt-7f3a91',
  siteId: 'shop',
  keyHash: HASH('9'),
  requestedAt: T0 + 60_000,
  erasedAt: T0 + 61_000,
  deleted: { events: 12, receipts: 1, pseudonymousIds: 2 },
  suppressed: { keyHash: true, pseudonymousIds: 2 },
};

/** A stateful stand-in for `Attune`: the API changes its view and tells its listeners, as the real one does. */
function fakeOwner(initial: PrivacyView = fixture()) {
  let state = initial;
  const privacyListeners = new Set<() => void>();
  const consentListeners = new Set<(view: ConsentView) => void>();
  const changed = () => privacyListeners.forEach((l) => l());
  const choose = (ids: string[], status: PurposeState['status'], source: 'banner' | 'api' = 'api') => {
    const before = JSON.stringify(state.consent.purposes);
    state.consent.purposes = state.consent.purposes.map((p) =>
      ids.includes(p.id) && !p.required ? { ...p, status, source, at: T0 + 99_000, revision: state.consent.revision } : p,
    );
    if (before === JSON.stringify(state.consent.purposes)) return false;
    consentListeners.forEach((l) => l(state.consent));
    return true;
  };
  /** As the SDK: interests come from items, so one that only came from forgotten items goes too. */
  const forgetItems = (items: string[]) => {
    state.recentItems = state.recentItems.filter((i) => !items.includes(i.item));
    state.interests = state.interests
      .map((i) => ({ ...i, items: i.items.filter((item) => !items.includes(item)) }))
      .filter((i) => i.items.length > 0);
  };
  const privacy = {
    view: vi.fn(() => structuredClone(state)),
    forgetAnswer: vi.fn((question: string) => {
      const before = state.answers.length;
      state.answers = state.answers.filter((a) => a.question !== question);
      changed();
      return state.answers.length < before;
    }),
    forgetInterest: vi.fn((tag: string) => {
      const interest = state.interests.find((i) => i.tag === tag);
      forgetItems(interest?.items ?? []);
      state.interests = state.interests.filter((i) => i.tag !== tag);
      changed();
      return interest !== undefined;
    }),
    forgetItem: vi.fn((item: string) => {
      const before = state.recentItems.length;
      forgetItems([item]);
      changed();
      return state.recentItems.length < before;
    }),
    unmute: vi.fn((tag: string) => {
      state.muted = state.muted.filter((t) => t !== tag);
      changed();
    }),
    clearDevice: vi.fn(() => {
      state = { ...state, history: [], answers: [], interests: [], recentItems: [], muted: [], egressLog: [], queued: 0, deviceKey: false };
      changed();
    }),
    exportDevice: vi.fn(() => DEVICE_DOC),
    requestServerCopy: vi.fn(async () => SERVER_DOC),
    requestServerErasure: vi.fn(async () => RECEIPT),
    download: vi.fn((_doc: unknown, _filename: string) => undefined),
    onChange: vi.fn((listener: () => void) => {
      privacyListeners.add(listener);
      return () => void privacyListeners.delete(listener);
    }),
  } satisfies PrivacyApi;
  const owner = {
    privacy,
    consent: {
      grant: vi.fn((ids: string[], source?: 'banner' | 'api') => choose(ids, 'granted', source)),
      withdraw: vi.fn((ids: string[], source?: 'banner' | 'api') => choose(ids, 'denied', source)),
      deny: vi.fn((ids: string[], source?: 'banner' | 'api') => choose(ids, 'denied', source)),
      onChange: vi.fn((listener: (view: ConsentView) => void) => {
        consentListeners.add(listener);
        return () => void consentListeners.delete(listener);
      }),
    },
    warn: vi.fn((_error: AttuneError) => undefined),
  } satisfies PrivacyOwner;
  return {
    owner,
    privacy,
    privacyListeners,
    consentListeners,
    /** A change made elsewhere (another tab): the state changes and the listeners are told. */
    elsewhere(change: (view: PrivacyView) => void) {
      change(state);
      changed();
    },
  };
}

type Fake = ReturnType<typeof fakeOwner>;

function mount(fake: Fake = fakeOwner(), options: PrivacyCenterOptions = {}) {
  const host = doc.createElement('div');
  doc.body.append(host);
  const center = mountPrivacyCenter(host as unknown as HTMLElement, fake.owner, options);
  const root = center.shadowRoot as unknown as FakeShadowRoot;
  const $ = (selector: string) => {
    const found = root.querySelector(selector);
    if (!found) throw new Error(`nothing matches ${selector}`);
    return found;
  };
  return {
    ...fake,
    host,
    center,
    root,
    $,
    $$: (selector: string) => root.querySelectorAll(selector),
    text: () => words(root),
    section: (name: string) => words($(`section[data-attune-section="${name}"]`)),
    status: () => $('[data-attune-status]').textContent,
    active: () => root.activeElement,
  };
}

/** Text with spaces between elements, so words of neighbouring cells do not run together. */
const words = (node: FakeNode): string =>
  node instanceof FakeText ? node.data : node.childNodes.map(words).join(' ').replace(/\s+/g, ' ');
const outsideDetails = (node: FakeNode): string =>
  node instanceof FakeText ? node.data : node instanceof FakeElement && node.localName === 'details' ? '' : node.childNodes.map(outsideDetails).join(' ');
/** What a screen reader reads of a node: its text without aria-hidden subtrees. */
const announced = (node: FakeNode): string =>
  node instanceof FakeText ? node.data : node instanceof FakeElement && node.getAttribute('aria-hidden') === 'true' ? '' : node.childNodes.map(announced).join('');
/** An element's accessible name: its aria-labelledby elements' text, else its own. */
const nameOf = (root: FakeShadowRoot, e: FakeElement): string => {
  const ids = e.getAttribute('aria-labelledby');
  if (!ids) return e.textContent;
  return ids
    .split(' ')
    .map((id) => {
      const target = root.querySelector(`#${id}`);
      if (!target) throw new Error(`aria-labelledby names a missing id: ${id}`);
      return target.textContent;
    })
    .join(' ');
};
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
const dated = (prefix: string) => new RegExp(`^${prefix}-shop-\\d{4}-\\d{2}-\\d{2}\\.json$`);
const when = (ms: number) => new Date(ms).toLocaleString();

beforeEach(installDom);
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------

describe('<attune-privacy-center>', () => {
  it('importing it has no side effects: the element is defined on first mount, once', async () => {
    vi.resetModules();
    const fresh = await import('../src/privacy-ui.js');
    expect(define).not.toHaveBeenCalled();
    expect(customElements.get(PRIVACY_TAG)).toBeUndefined();
    const host = doc.createElement('div') as unknown as HTMLElement;
    fresh.mountPrivacyCenter(host, fakeOwner().owner);
    fresh.mountPrivacyCenter(host, fakeOwner().owner);
    expect(define).toHaveBeenCalledTimes(1);
    expect(define).toHaveBeenCalledWith(PRIVACY_TAG, expect.any(Function));
  });

  it('without a document, mounting is a coded error rather than a crash', () => {
    vi.unstubAllGlobals();
    expect(() => mountPrivacyCenter({} as HTMLElement, fakeOwner().owner)).toThrow(expect.objectContaining({ code: 'no_dom' }));
  });

  it('has five sections with headings, and a polite status region', () => {
    const { $$, $, root } = mount();
    expect(root.adoptedStyleSheets).toHaveLength(1);
    const sections = $$('section');
    expect(sections.map((s) => s.getAttribute('data-attune-section'))).toEqual(['choices', 'answers', 'interests', 'egress', 'controls']);
    for (const section of sections) {
      const h2 = section.querySelector('h2')!;
      expect(section.getAttribute('aria-labelledby')).toBe(h2.id);
    }
    expect($$('h2').map((h) => h.textContent)).toEqual([
      'Your choices',
      'What you told us',
      'What we inferred',
      'What left this device',
      'Your data controls',
    ]);
    const status = $('[data-attune-status]');
    expect(status.getAttribute('aria-live')).toBe('polite');
    expect(status.getAttribute('role')).toBe('status');
  });

  it('your choices: each purpose in words, with a labelled switch, and the verified history', () => {
    const { $, section } = mount();
    const text = section('choices');
    expect(text).toContain('Analytics');
    expect(text).toContain('Counts page views so the shop can see what works.');
    expect(text).toContain(`Allowed by you on ${when(T0)}. Policy version 2. The policy has changed since then (it is now version 3).`);
    expect(text).toContain(`Allowed by the site on ${when(T0 + 1_000)}. Policy version 3.`);
    expect(text).toContain('Not allowed by your browser’s Global Privacy Control signal.');
    expect(text).toContain('Not asked yet');
    expect(text).toContain('Always on: the site needs it to work.');

    const analytics = $('[data-attune-purpose="analytics"]');
    expect(analytics.localName).toBe('input');
    expect(analytics.getAttribute('type')).toBe('checkbox');
    expect(analytics.getAttribute('role')).toBe('switch');
    expect(analytics.checked).toBe(true);
    expect($(`label[for="${analytics.id}"]`).textContent).toBe('Analytics');
    expect($('[data-attune-purpose="marketing"]').checked).toBe(false);
    const necessary = $('[data-attune-purpose="necessary"]');
    expect([necessary.checked, necessary.disabled]).toEqual([true, true]);

    expect(text).toContain('Your consent record checks out: its 2 entries have not been changed since you made these choices.');
    expect(outsideDetails($('section[data-attune-section="choices"]'))).not.toMatch(/hash/i); // only in "Details"
    expect(text).toContain(`${when(T0)}: Analytics allowed; Marketing not allowed (by you, policy version 2).`);
    expect(text).toContain(`${when(T0 + 1_000)}: Personalization allowed (by the site, policy version 3).`);
    // Newest first.
    expect(text.indexOf('Personalization allowed')).toBeLessThan(text.indexOf('Analytics allowed;'));
  });

  it('what you told us: question, answer, why, use, purpose and how long it is kept', () => {
    const { section, $$ } = mount();
    const text = section('answers');
    expect(text).toContain('Do you follow a particular diet?');
    expect(text).toContain('Your answer Vegetarian, Gluten-free');
    expect(text).toContain('Why we asked So we can suggest recipes you can eat.');
    expect(text).toContain('What it is used for Choosing which recipes to show first.');
    expect(text).toContain('Purpose Personalization');
    expect(text).toContain(`For 90 days: forgotten on ${new Date(T0 + 2_000 + 90 * DAY).toLocaleDateString()}`);
    const deletes = $$('[data-attune-action="forget-answer"]');
    expect(deletes.map((b) => [b.localName, b.textContent, b.getAttribute('data-attune-question')])).toEqual([
      ['button', 'Delete', 'diet'],
      ['button', 'Delete', 'topics'],
    ]);
  });

  it('what we inferred: interests in words with their items, remembered items, muted tags', () => {
    const { section, $$ } = mount(fakeOwner(), { labels: { a1: 'Trail Backpack', electronics: 'gadgets' } });
    const text = section('interests');
    expect(text).toContain('Interest in kitchen One of your strongest interests');
    expect(text).toContain('Interest in outdoor Some interest');
    expect(text).toContain('Based on: Cast Iron Skillet, Chef Knife. Deleting it forgets these products.');
    expect(text).toContain('Based on: Trail Backpack. Deleting it forgets these products.');
    expect(text).toContain(`Cast Iron Skillet: you bought it on ${when(T0 + 5_000)}.`);
    expect(text).toContain(`Trail Backpack: you added it to your cart on ${when(T0 + 3_500)}.`);
    expect(text).toContain('Topics you hid gadgets');
    expect($$('[data-attune-action="unmute"]').map((b) => b.getAttribute('data-attune-tag'))).toEqual(['electronics']);
    const meters = $$('meter');
    expect(meters.map((m) => m.getAttribute('value'))).toEqual(['1', '0.4']);
    expect($$('[data-attune-action="forget-interest"]').map((b) => b.getAttribute('data-attune-tag'))).toEqual(['kitchen', 'outdoor']);
    expect($$('[data-attune-action="forget-item"]').map((b) => [b.textContent, b.getAttribute('data-attune-item')])).toEqual([
      ['Forget', 'k1'],
      ['Forget', 'k2'],
      ['Forget', 'a1'],
    ]);
  });

  it('a hidden topic can be shown again', () => {
    const fake = fakeOwner();
    const { $, section } = mount(fake);
    $('[data-attune-action="unmute"]')!.click();
    expect(fake.privacy.unmute).toHaveBeenCalledWith('electronics');
    expect(section('interests')).toContain('You have not hidden any topics.');
  });

  it('titles from the site name items, and a failing titles callback is reported, not thrown', () => {
    const fake = fakeOwner();
    const { section } = mount(fake, { titles: (id) => (id === 'k2' ? 'Chef’s Knife, 20 cm' : undefined) });
    expect(section('interests')).toContain('Chef’s Knife, 20 cm: you viewed it');
    const broken = mount(fakeOwner(), {
      titles: () => {
        throw new Error('catalogue not loaded');
      },
    });
    expect(broken.section('interests')).toContain('Cast Iron Skillet: you bought it');
    expect(broken.owner.warn).toHaveBeenCalledWith(expect.objectContaining({ message: 'catalogue not loaded' }));
  });

  it('what left this device: newest first in words, exact events in a closed <details>, the manifest', () => {
    const { $, $$, section } = mount();
    const text = section('egress');
    expect(text).toContain('2 events are waiting to be sent.');
    const entries = $$('section[data-attune-section="egress"] li.entry');
    expect(entries).toHaveLength(2);
    expect(entries[0]!.querySelector('p')!.textContent).toBe(
      `1 event for Analytics, Personalization sent to the site’s server on ${when(T0 + 20_000)}: handed to the browser to send as the page closed.`,
    );
    expect(entries[1]!.querySelector('p')!.textContent).toBe(`3 events for Analytics sent to the site’s server on ${when(T0 + 10_000)}: delivered.`);
    const details = entries[1]!.querySelector('details')!;
    expect(details.open).toBe(false);
    expect(details.querySelector('summary')!.textContent).toBe('Details: exactly what was sent');
    expect(details.querySelector('pre')!.textContent).toBe(JSON.stringify(EVENTS_SENT, null, 2));
    expect(words(details)).toContain('Sent to /v1/batch: 512 bytes, by fetch; server answer: 200.');
    expect(outsideDetails($('section[data-attune-section="egress"]'))).not.toContain('/v1/batch'); // the destination is a detail

    // The table of fields is behind a closed disclosure; the ids, in words, are not.
    const table = $('details[data-attune-details="manifest-table"]');
    expect(table.open).toBe(false);
    expect(table.querySelector('summary')!.textContent).toBe('Show every field that can be sent');
    expect(table.querySelectorAll('tr[data-attune-field][data-attune-purpose]')).toHaveLength(2);
    expect(words(table.querySelector('tr[data-attune-field="events[].props.path"]')!)).toContain('30 days');
    expect(outsideDetails($('section[data-attune-section="egress"]'))).toContain('Analytics: events carry a random id, replaced every 30 days.');
    expect($$('th').map((th) => th.textContent)).toEqual(['Data', 'Purpose', 'In events', 'Sent as', 'Sent to', 'Kept for']);
    const rows = $$('tbody tr').map((tr) => tr.querySelectorAll('td').map((td) => td.textContent));
    expect(rows).toEqual([
      ['events[].props.path', 'Analytics', 'page_view', 'as is', '/v1/batch', '30 days'],
      ['events[].pid', 'Analytics', 'every event', 'a random id, new every 30 days', '/v1/batch', '30 days'],
    ]);
    expect(text).toContain('Analytics: events carry a random id, replaced every 30 days.');
    expect(text).toContain('Personalization: events carry no id.');
    expect($('table caption').textContent).toBe('Everything that can be sent, by purpose');
  });

  it('shows raw JSON only inside closed <details>', () => {
    const { root, $$ } = mount();
    const outside = outsideDetails(root);
    expect(outside).not.toMatch(/[{[]\s*"/);
    expect(outside).not.toContain('e'.repeat(32)); // an event id
    expect(outside).not.toContain(HASH('a')); // a hash of the consent record
    const details = $$('details');
    expect(details.length).toBeGreaterThanOrEqual(3);
    for (const d of details) expect(d.open).toBe(false);
  });

  it('a purpose switch grants or withdraws with source "banner", redraws, and keeps focus on the switch', () => {
    const { $, owner, active, status, section } = mount();
    const analytics = $('[data-attune-purpose="analytics"]');
    analytics.focus();
    analytics.click();
    expect(owner.consent.withdraw).toHaveBeenCalledWith(['analytics'], 'banner');
    expect($('[data-attune-purpose="analytics"]')).not.toBe(analytics); // redrawn
    expect($('[data-attune-purpose="analytics"]').checked).toBe(false);
    expect(active()?.getAttribute('data-attune-purpose')).toBe('analytics');
    expect(status()).toBe('Analytics: not allowed.');
    expect(section('choices')).toContain(`Not allowed by you on ${when(T0 + 99_000)}. Policy version 3.`);

    $('[data-attune-purpose="surveys"]').click();
    expect(owner.consent.grant).toHaveBeenCalledWith(['surveys'], 'banner');
    expect($('[data-attune-purpose="surveys"]').checked).toBe(true);
    expect(status()).toBe('Surveys: allowed.');

    $('[data-attune-purpose="necessary"]').click(); // disabled: nothing happens
    expect(owner.consent.grant).toHaveBeenCalledTimes(1);
    expect(owner.consent.withdraw).toHaveBeenCalledTimes(1);
  });

  it('a switch the SDK refuses snaps back and says so', () => {
    const fake = fakeOwner();
    fake.owner.consent.grant.mockReturnValueOnce(false);
    const { $, status } = mount(fake);
    $('[data-attune-purpose="surveys"]').click();
    expect($('[data-attune-purpose="surveys"]').checked).toBe(false);
    expect(status()).toBe('Your choice for Surveys could not be saved.');
  });

  it('deleting an answer calls the API, redraws without it, and moves focus to the next one, then the heading', () => {
    const { $, $$, privacy, section, active, status } = mount();
    const first = $('[data-attune-question="diet"]');
    first.focus();
    first.click();
    expect(privacy.forgetAnswer).toHaveBeenCalledWith('diet');
    expect(section('answers')).not.toContain('Do you follow a particular diet?');
    expect(status()).toBe('Your answer to “Do you follow a particular diet?” was deleted.');
    expect(active()?.getAttribute('data-attune-question')).toBe('topics');

    $('[data-attune-question="topics"]').click();
    expect($$('[data-attune-action="forget-answer"]')).toHaveLength(0);
    expect(section('answers')).toContain('You have not answered any questions.');
    expect(active()?.id).toBe('attune-privacy-answers-heading');
    expect(doc.activeElement).not.toBe(doc.body);
  });

  it('forgetting an interest or an item calls the API and redraws without it', () => {
    const { $, privacy, section, active, status } = mount();
    $('[data-attune-action="forget-interest"][data-attune-tag="outdoor"]').click();
    expect(privacy.forgetInterest).toHaveBeenCalledWith('outdoor');
    expect(section('interests')).not.toContain('Interest in outdoor');
    expect(section('interests')).not.toContain('a1:');
    expect(status()).toBe('The interest in outdoor was deleted.');
    expect(active()?.getAttribute('data-attune-tag')).toBe('kitchen');

    $('[data-attune-action="forget-item"][data-attune-item="k2"]').click();
    expect(privacy.forgetItem).toHaveBeenCalledWith('k2');
    expect(section('interests')).not.toContain('Chef Knife: you viewed it');
    expect(status()).toBe('Chef Knife was forgotten.');
  });

  it('deleting an interest or forgetting an item says which other interests went with it', () => {
    const view = fixture();
    view.interests.push({ tag: 'cast-iron', strength: 0.2, level: 'slight', items: ['k1'] });
    const fake = fakeOwner(view);
    const { $, $$, section, status } = mount(fake, { labels: { 'cast-iron': 'cast iron', a1: 'Trail Backpack' } });
    expect(section('interests')).toContain('Interest in cast iron Slight interest Based on: Cast Iron Skillet. Deleting it forgets these products.');

    $('[data-attune-action="forget-interest"][data-attune-tag="kitchen"]').click();
    expect(fake.privacy.forgetInterest).toHaveBeenCalledWith('kitchen');
    expect(section('interests')).not.toContain('Interest in cast iron');
    expect(status()).toBe('The interest in kitchen was deleted. Also removed, because they came from the same products: cast iron.');

    $('[data-attune-action="forget-item"][data-attune-item="a1"]').click();
    expect($$('[data-attune-action="forget-interest"]')).toHaveLength(0);
    expect(status()).toBe('Trail Backpack was forgotten. Interests that came from it were removed too: outdoor.');

    // Nothing else went: nothing more is said.
    const plain = mount(fakeOwner());
    plain.$('[data-attune-action="forget-item"][data-attune-item="k2"]').click();
    expect(plain.status()).toBe('Chef Knife was forgotten.');
  });

  it('every control and disclosure has a name of its own: per-entry buttons are labelled by their entry', () => {
    const { root, $$ } = mount(fakeOwner(), { labels: { a1: 'Trail Backpack' } });
    const perEntry = $$('[data-attune-action="forget-answer"], [data-attune-action="forget-interest"], [data-attune-action="forget-item"], [data-attune-action="unmute"]');
    expect(perEntry).toHaveLength(8);
    for (const button of perEntry) {
      const [own, entry] = button.getAttribute('aria-labelledby')!.split(' ');
      expect(own).toBe(button.id); // the button's own word first
      expect(entry).toBeTruthy();
      expect(button.hasAttribute('aria-describedby')).toBe(false); // not read twice
    }
    const name = (selector: string) => nameOf(root, root.querySelector(selector)!);
    expect(name('[data-attune-question="diet"]')).toBe('Delete Do you follow a particular diet?');
    expect(name('[data-attune-action="forget-interest"][data-attune-tag="outdoor"]')).toBe('Delete Interest in outdoor');
    expect(name('[data-attune-action="forget-item"][data-attune-item="a1"]')).toBe(`Forget Trail Backpack: you added it to your cart on ${when(T0 + 3_500)}.`);
    expect(name('[data-attune-action="unmute"]')).toBe('Show again electronics');

    const names = [...$$('button'), ...$$('summary')].map((e) => nameOf(root, e));
    expect(new Set(names).size).toBe(names.length);
    // A disclosure says what it discloses; those of the sent batches also say which batch.
    const summaries = $$('summary').map((e) => e.textContent);
    expect(summaries).toEqual([
      'Details: the consent record',
      'Details: exactly what was sent',
      'Details: exactly what was sent',
      'Show every field that can be sent',
      'Details: the list as the site publishes it',
    ]);
    const sent = $$('summary').filter((e) => e.textContent === 'Details: exactly what was sent');
    expect(nameOf(root, sent[0]!)).toMatch(/^Details: exactly what was sent 1 event for Analytics, Personalization sent to the site’s server on /);
  });

  it('a confirmation step is named "Are you sure?", and its warning is only the confirm button’s description', () => {
    const { $, root } = mount();
    $('[data-attune-action="server-erase"]').click();
    const panel = $('.confirm');
    expect(panel.getAttribute('role')).toBe('group');
    expect(nameOf(root, panel)).toBe('Are you sure?');
    expect(panel.querySelector('h4')!.id).toBe(panel.getAttribute('aria-labelledby'));
    const yes = $('[data-attune-action="confirm-erase"]');
    const described = yes.getAttribute('aria-describedby')!.split(' ').map((id) => $(`#${id}`).textContent);
    expect(described).toEqual([PRIVACY_STRINGS.confirmEraseText]);
  });

  it('after an erasure the site’s copy is gone from the page; after clearing the device, the receipt too', async () => {
    const { $, $$, section, status } = mount();
    $('[data-attune-action="server-copy"]').click();
    await flush();
    expect($$('[data-attune-result="server-copy"]')).toHaveLength(1);

    $('[data-attune-action="server-erase"]').click();
    $('[data-attune-action="confirm-erase"]').click();
    await flush();
    expect($$('[data-attune-result="server-copy"]')).toHaveLength(0);
    expect(section('controls')).not.toContain('The site holds');
    expect($$('[data-attune-result="erasure"]')).toHaveLength(1);

    $('[data-attune-action="clear-device"]').click();
    $('[data-attune-action="confirm-clear"]').click();
    expect(status()).toBe('Everything on this device was cleared.');
    expect($$('[data-attune-result]')).toHaveLength(0);
    expect(section('controls')).not.toContain('rcpt-7f3a91');
    expect(section('controls')).toContain('This browser has no key that proves which data on the site’s server is yours');
  });

  it('clearing the device also drops a copy of the site’s data shown on the page', async () => {
    const { $, $$ } = mount();
    $('[data-attune-action="server-copy"]').click();
    await flush();
    expect($$('[data-attune-result="server-copy"]')).toHaveLength(1);
    $('[data-attune-action="clear-device"]').click();
    $('[data-attune-action="confirm-clear"]').click();
    expect($$('[data-attune-result]')).toHaveLength(0);
  });

  it('"Download my data" saves the device export with a dated name', () => {
    const { $, privacy, status } = mount();
    $('[data-attune-action="download"]').click();
    expect(privacy.exportDevice).toHaveBeenCalledTimes(1);
    expect(privacy.download).toHaveBeenCalledWith(DEVICE_DOC, expect.stringMatching(dated('attune-data')));
    expect(status()).toMatch(/^Your data was saved as attune-data-shop-/);
  });

  it('clearing the device needs a confirmation that warns about the site’s copy; cancel and Escape back out', () => {
    const { $, $$, privacy, active, section, status } = mount();
    $('[data-attune-action="clear-device"]').click();
    expect(privacy.clearDevice).not.toHaveBeenCalled();
    expect(section('controls')).toContain(
      'Once this device is cleared, the site’s copy of your data can no longer be requested or deleted from here. If you want a copy, or want it deleted, ask the site first',
    );
    expect(active()?.getAttribute('data-attune-action')).toBe('confirm-clear');

    $('[data-attune-action="cancel-clear"]').click();
    expect($$('[data-attune-action="confirm-clear"]')).toHaveLength(0);
    expect(active()?.getAttribute('data-attune-action')).toBe('clear-device');

    $('[data-attune-action="clear-device"]').click();
    $('.confirm').dispatchEvent(new FakeEvent('keydown', { bubbles: true, key: 'Escape' }));
    expect($$('[data-attune-action="confirm-clear"]')).toHaveLength(0);
    expect(privacy.clearDevice).not.toHaveBeenCalled();

    $('[data-attune-action="clear-device"]').click();
    $('[data-attune-action="confirm-clear"]').click();
    expect(privacy.clearDevice).toHaveBeenCalledTimes(1);
    expect(status()).toBe('Everything on this device was cleared.');
    expect(active()?.id).toBe('attune-privacy-controls-heading');
    expect(section('answers')).toContain('You have not answered any questions.');
    expect($$('[data-attune-action="confirm-clear"]')).toHaveLength(0);
  });

  it('clearing does not take focus back from the consent banner, and focus returned to the element lands on the controls', () => {
    const fake = fakeOwner();
    const bannerButton = doc.createElement('button');
    doc.body.append(bannerButton);
    const clear = fake.privacy.clearDevice.getMockImplementation()!;
    fake.privacy.clearDevice.mockImplementation(() => {
      clear();
      bannerButton.focus(); // the SDK reopens the banner, which takes focus
    });
    const { $, center, active } = mount(fake);
    $('[data-attune-action="clear-device"]').click();
    $('[data-attune-action="confirm-clear"]').click();
    expect(doc.activeElement).toBe(bannerButton);
    expect(active()).toBeNull();
    center.focus(); // what the banner does when it closes
    expect(active()?.id).toBe('attune-privacy-controls-heading');
  });

  it('erasing the site’s copy needs a confirmation, then shows the receipt, which can be downloaded', async () => {
    const { $, privacy, active, section, status } = mount();
    $('[data-attune-action="server-erase"]').click();
    expect(privacy.requestServerErasure).not.toHaveBeenCalled();
    expect(section('controls')).toContain('events, consent records and random visitor ids. This cannot be undone.');
    expect(active()?.getAttribute('data-attune-action')).toBe('confirm-erase');

    $('[data-attune-action="confirm-erase"]').click();
    expect(privacy.requestServerErasure).toHaveBeenCalledTimes(1);
    expect(status()).toBe('Asking the site to delete your data…');
    await flush();
    const text = section('controls');
    expect(text).toContain('The site deleted your data');
    expect(text).toContain(
      `Receipt rcpt-7f3a91, on ${when(T0 + 61_000)}: 12 events, 1 consent record and 2 random visitor ids deleted. Your choices above are unchanged: while a purpose that sends data is allowed, new visits are recorded under a new random id.`,
    );
    // Announced without the id (it is in the receipt panel); shown after it, hidden from screen readers.
    expect(announced($('[data-attune-status]'))).toBe('The site deleted your data. A receipt is below. ');
    expect(status()).toBe('The site deleted your data. A receipt is below. (Receipt rcpt-7f3a91.)');
    expect(active()?.id).toBe('attune-privacy-receipt-heading');

    $('[data-attune-action="download-receipt"]').click();
    expect(privacy.download).toHaveBeenCalledWith(RECEIPT, expect.stringMatching(dated('attune-erasure-receipt')));
  });

  it('"Ask the site for a copy" downloads the returned document and sums it up', async () => {
    const { $, privacy, section, status } = mount();
    $('[data-attune-action="server-copy"]').click();
    expect(status()).toBe('Asking the site for its copy of your data…');
    await flush();
    expect(privacy.requestServerCopy).toHaveBeenCalledTimes(1);
    expect(privacy.download).toHaveBeenCalledWith(SERVER_DOC, expect.stringMatching(dated('attune-server-data')));
    expect(section('controls')).toContain('The site holds 2 events, 1 consent record and 1 random visitor id for this device.');
    expect(status()).toMatch(/^The site’s copy of your data was saved as attune-server-data-shop-/);
    $('[data-attune-action="download-server-copy"]').click();
    expect(privacy.download).toHaveBeenCalledTimes(2);
  });

  it('a request under way is not sent twice', async () => {
    const fake = fakeOwner();
    let answer: (doc: ExportDocument) => void = () => undefined;
    fake.privacy.requestServerCopy.mockImplementationOnce(() => new Promise<ExportDocument>((resolve) => (answer = resolve)));
    const { $, status } = mount(fake);
    $('[data-attune-action="server-copy"]').click();
    expect($('[data-attune-action="server-copy"]').getAttribute('aria-disabled')).toBe('true');
    $('[data-attune-action="server-copy"]').click();
    expect(status()).toBe('Please wait: the site has not answered yet.');
    expect(fake.privacy.requestServerCopy).toHaveBeenCalledTimes(1);
    answer(SERVER_DOC);
    await flush();
    expect($('[data-attune-action="server-copy"]').hasAttribute('aria-disabled')).toBe(false);
  });

  it('a rejected request shows its message in the status region and throws nothing', async () => {
    const fake = fakeOwner();
    const down = new AttuneError('The site’s server did not answer (503).', 'network');
    fake.privacy.requestServerCopy.mockRejectedValueOnce(down);
    fake.privacy.requestServerErasure.mockRejectedValueOnce(new AttuneError('This device is not known to the site.', 'unknown_device'));
    const { $, status, owner, active } = mount(fake);

    $('[data-attune-action="server-copy"]').click();
    await flush();
    expect(status()).toBe('That did not work: The site’s server did not answer (503).');
    expect($('[data-attune-status]').classList.contains('error')).toBe(true);
    expect(owner.warn).toHaveBeenCalledWith(down);
    expect(fake.privacy.download).not.toHaveBeenCalled();

    $('[data-attune-action="server-erase"]').click();
    $('[data-attune-action="confirm-erase"]').click();
    await flush();
    expect(status()).toBe('That did not work: This device is not known to the site.');
    expect(active()?.getAttribute('data-attune-action')).toBe('server-erase');

    fake.privacy.forgetAnswer.mockImplementationOnce(() => {
      throw new Error('storage is full');
    });
    $('[data-attune-action="forget-answer"]').click();
    expect(status()).toBe('That did not work: storage is full');
  });

  it('server requests are aria-disabled, focusable, and say why when clicked, without a device key or server rights', () => {
    const fake = fakeOwner({ ...fixture(), deviceKey: false });
    const { $, $$, section, privacy, status, active } = mount(fake);
    const noKey =
      'This browser has no key that proves which data on the site’s server is yours (nothing was sent with an id yet, or this device was cleared). To reach data sent earlier, contact the site.';
    for (const action of ['server-copy', 'server-erase']) {
      const button = $(`[data-attune-action="${action}"]`);
      expect(button.disabled).toBe(false); // still in the tab order
      expect(button.getAttribute('aria-disabled')).toBe('true');
      expect(button.getAttribute('aria-describedby')).toBe('attune-privacy-server-note');
    }
    expect(section('controls')).toContain(noKey);
    const copy = $('[data-attune-action="server-copy"]');
    copy.focus();
    copy.click();
    expect(privacy.requestServerCopy).not.toHaveBeenCalled();
    expect(status()).toBe(noKey);
    expect(active()?.getAttribute('data-attune-action')).toBe('server-copy');
    $('[data-attune-action="server-erase"]').click();
    expect($$('[data-attune-action="confirm-erase"]')).toHaveLength(0); // no confirmation step either
    expect(privacy.requestServerErasure).not.toHaveBeenCalled();
    expect(status()).toBe(noKey);
    // Without the key there is nothing on the server to lose by clearing.
    $('[data-attune-action="clear-device"]').click();
    expect(section('controls')).not.toContain('can no longer be requested');

    const closed = mount(fakeOwner({ ...fixture(), serverRights: false }));
    expect(closed.$('[data-attune-action="server-erase"]').getAttribute('aria-disabled')).toBe('true');
    expect(closed.section('controls')).toContain('This site does not take these requests from here.');
    closed.$('[data-attune-action="server-erase"]').click();
    expect(closed.status()).toMatch(/^This site does not take these requests from here\./);
    expect(closed.privacy.requestServerErasure).not.toHaveBeenCalled();
  });

  it('an unverified consent history shows a clear warning', () => {
    const { section, $ } = mount(fakeOwner({ ...fixture(), historyVerified: false }));
    expect(section('choices')).toContain('Warning: your consent record does not check out.');
    expect(section('choices')).not.toContain('checks out:');
    expect($('[data-attune-verified]').getAttribute('data-attune-verified')).toBe('false');
  });

  it('text from the site or the visitor is shown as text, never as markup', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const view = fixture();
    view.answers[0]!.text = `Diet? ${evil}`;
    view.answers[0]!.why = evil;
    view.answers[0]!.answer = evil;
    view.consent.purposes[1]!.description = evil;
    view.interests[0]!.tag = evil;
    view.recentItems[0]!.title = evil;
    view.egressLog[0]!.destination = evil;
    const { root, $$, text } = mount(fakeOwner(view), { labels: { electronics: evil }, strings: { intro: evil } });
    expect($$('img')).toHaveLength(0);
    expect(text()).toContain(`Diet? ${evil}`);
    expect(text()).toContain(`Interest in ${evil}`);
    const all = root.querySelectorAll('*');
    for (const e of all) expect(e.getAttributeNames().filter((n) => n.startsWith('on'))).toEqual([]);
    expect(all.filter((e) => e.localName === 'script')).toEqual([]);
  });

  it('redraws on changes made elsewhere, keeping open <details> open; stops listening once removed', () => {
    const fake = fakeOwner();
    const { center, root, $, $$, privacyListeners, consentListeners, section } = mount(fake);
    expect(privacyListeners.size).toBe(1);
    expect(consentListeners.size).toBe(1);
    const details = $$('details').find((d) => d.getAttribute('data-attune-details')!.startsWith('sent-'))!;
    const key = details.getAttribute('data-attune-details');
    details.open = true;

    fake.elsewhere((view) => {
      view.queued = 5;
      view.answers.pop();
    });
    expect(section('egress')).toContain('5 events are waiting to be sent.');
    expect(section('answers')).not.toContain('Which topics interest you?');
    expect($(`details[data-attune-details="${key}"]`).open).toBe(true);

    // Focus on a "Details" disclosure stays on that one, not the first of them.
    const summary = $(`summary[data-attune-details="${key}"]`);
    summary.focus();
    fake.elsewhere((view) => void (view.queued = 6));
    expect(root.activeElement).not.toBe(summary);
    expect(root.activeElement?.getAttribute('data-attune-details')).toBe(key);

    fake.owner.consent.deny(['analytics']);
    expect($('[data-attune-purpose="analytics"]').checked).toBe(false);

    center.remove();
    expect(privacyListeners.size).toBe(0);
    expect(consentListeners.size).toBe(0);
    const reads = fake.privacy.view.mock.calls.length;
    fake.elsewhere((view) => void (view.queued = 9));
    expect(fake.privacy.view.mock.calls.length).toBe(reads);

    doc.body.append(center as unknown as FakeElement); // back on the page: listens and reads again
    expect(privacyListeners.size).toBe(1);
    expect(section('egress')).toContain('9 events are waiting to be sent.');
  });

  it('a view that cannot be read is reported and shown in words, never thrown', () => {
    const fake = fakeOwner();
    fake.privacy.view.mockImplementation(() => {
      throw new AttuneError('The SDK is not ready.', 'not_ready');
    });
    const { text, owner } = mount(fake);
    expect(text()).toContain('Your privacy information cannot be shown right now.');
    expect(owner.warn).toHaveBeenCalledWith(expect.objectContaining({ code: 'not_ready' }));
  });

  it('takes translated strings, and says when nothing is kept on the device', () => {
    const { $$, text } = mount(fakeOwner({ ...fixture(), storage: 'memory' }), {
      strings: { choicesHeading: 'Vos choix', granted: 'Autorisé', sourceBanner: 'dans le bandeau', given: '{status} {source} le {date}.', delete: 'Supprimer' },
    });
    expect($$('h2')[0]!.textContent).toBe('Vos choix');
    expect(text()).toContain(`Analytics Autorisé Counts page views so the shop can see what works. Autorisé dans le bandeau le ${when(T0)}.`);
    expect(text()).toContain('Nothing is kept on this device');
    expect($$('[data-attune-action="forget-answer"]')[0]!.textContent).toBe('Supprimer');
  });

  it('refresh() reads again; mounting into a detached host still draws', () => {
    const fake = fakeOwner();
    const host = doc.createElement('div') as unknown as HTMLElement;
    const center: PrivacyCenterElement = mountPrivacyCenter(host, fake.owner);
    const root = center.shadowRoot as unknown as FakeShadowRoot;
    expect(words(root)).toContain('Do you follow a particular diet?');
    fake.elsewhere((view) => void (view.answers = []));
    expect(words(root)).toContain('Do you follow a particular diet?'); // not connected: not listening
    center.refresh();
    expect(words(root)).toContain('You have not answered any questions.');
  });
});

describe('privacy words', () => {
  const view = fixture();
  it('names purposes and their state', () => {
    expect(purposeLabel(view, 'marketing')).toBe('Marketing');
    expect(purposeLabel(view, 'gone', { gone: 'Old purpose' })).toBe('Old purpose');
    expect(purposeLabel(view, 'gone')).toBe('gone');
    expect(view.consent.purposes.map((p) => purposeStateText(p))).toEqual(['Always on', 'Allowed', 'Allowed', 'Not allowed', 'Not asked yet']);
    expect(purposeHowText(view.consent.purposes[3]!, 3)).toBe('Not allowed by your browser’s Global Privacy Control signal.');
    expect(purposeHowText({ ...view.consent.purposes[3]!, source: 'dnt' }, 3)).toBe('Not allowed by your browser’s Do Not Track setting.');
  });

  it('sums up a payload, and reads an outcome it does not know as itself', () => {
    const payload = view.egressLog[0]!;
    expect(egressText(payload, view)).toBe(`3 events for Analytics sent to the site’s server on ${when(T0 + 10_000)}: delivered.`);
    expect(egressText(payload, view, { ...PRIVACY_STRINGS, egressEntry: '{events} → {destination}' })).toBe('3 events → /v1/batch');
    expect(egressText({ ...payload, outcome: 'teleported' as never }, view)).toMatch(/: teleported\.$/);
    expect(Object.values(PRIVACY_STRINGS).every((s) => typeof s === 'string' && s.length > 0)).toBe(true);
  });
});
