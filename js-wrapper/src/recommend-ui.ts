// <attune-recommendations>: a rail whose items each have a "Why?" panel with the visitor's
// controls. createElement/textContent only, in a shadow root. Hooks: docs/recommendations.md.
import type { Attune } from './attune.js';
import { AttuneError, toAttuneError } from './errors.js';
import type { Reason, Recommendation, RecommendOptions, RecommendationSlot } from './recommend.js';
import { recsCss } from './recommend-styles.js';
import { el, styleSheet } from './dom.js';

export const RECS_TAG = 'attune-recommendations';

/**
 * The rail's words, in English: headings, reasons and controls. `{item}` is an item's title,
 * `{tag}` a tag (or its label from `labels`). Translate by passing `strings` to `mount`.
 */
export const RECS_STRINGS = {
  forYou: 'Recommended for you',
  popular: 'Popular right now',
  similar: 'You might also like',
  cart: 'Goes well with your cart',
  why: 'Why?',
  viewed: 'Because you viewed {item}',
  clicked: 'Because you clicked {item}',
  added: 'Because you added {item} to your cart',
  bought: 'Because you bought {item}',
  dwelled: 'Because you spent time on {item}',
  similarTo: 'Similar to {item}',
  goesWith: 'Goes with {item}',
  stated: 'You told us you like {tag}',
  interest: 'You often look at {tag}',
  popularIn: 'Popular in {tag}',
  promoted: 'Featured by the shop',
  notInterested: 'Not interested',
  mute: 'Don’t show {tag}',
  forget: 'Forget {item}',
  updated: 'Recommendations updated.',
  empty: 'Nothing more to suggest here right now.',
};

export type RecsStrings = typeof RECS_STRINGS;

export interface RecommendationsOptions extends RecommendOptions {
  /** Replaces some or all of `RECS_STRINGS`; an empty heading string hides the heading. */
  strings?: Partial<RecsStrings>;
  /** Names to show for tags, e.g. `{ 'cast-iron': 'cast iron' }`. Default: the tag itself. */
  labels?: Record<string, string>;
}

/** `detail` of the `attune-recommendation-click` event. */
export interface RecommendationClick {
  id: string;
  slot: RecommendationSlot;
  /** 0-based position in the rail. */
  position: number;
  recommendation: Recommendation;
}

/** `<attune-recommendations>` as `mount` returns it. */
export interface RecommendationsElement extends HTMLElement {
  /** What to ask for; change it and call `refresh()`. */
  options: RecommendationsOptions;
  /** Asks again and renders the result (hidden when there is nothing to show). */
  refresh(): Promise<void>;
}

const DID: Record<string, keyof RecsStrings> = { view: 'viewed', click: 'clicked', cart: 'added', purchase: 'bought', dwell: 'dwelled' };

const fill = (text: string | undefined, item: string, tag: string) =>
  (text ?? '').split('{item}').join(item).split('{tag}').join(tag);
const label = (labels: Record<string, string>, tag: string) => (Object.hasOwn(labels, tag) ? labels[tag]! : tag);
const list = (v: string | string[] | undefined) => (v === undefined ? [] : ([] as string[]).concat(v));

/**
 * One reason in words, as the rail shows it: "Because you viewed Cast Iron Skillet", "Popular in
 * kitchen", "You told us you like outdoor"…
 */
export function reasonText(
  reason: Reason,
  slot: RecommendationSlot = 'home',
  strings: RecsStrings = RECS_STRINGS,
  labels: Record<string, string> = {},
): string {
  const key: keyof RecsStrings =
    reason.kind === 'history'
      ? DID[reason.signal ?? 'view'] ?? 'viewed'
      : reason.kind === 'context'
        ? slot === 'cart' ? 'goesWith' : 'similarTo'
        : reason.kind === 'popular'
          ? reason.tag ? 'popularIn' : 'popular'
          : reason.kind;
  // A reason kind this version does not know (a newer core) reads as nothing rather than failing.
  return fill(Object.hasOwn(strings, key) ? strings[key] : '', reason.title ?? reason.item ?? '', label(labels, reason.tag ?? ''));
}

/** http(s) only: a catalogue cannot smuggle in `javascript:`. */
function safeUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return /^https?:$/.test(new URL(url, location.href).protocol) ? url : undefined;
  } catch {
    return undefined;
  }
}

// Defined on first use: HTMLElement does not exist under Node/SSR.
function define(): void {
  if (customElements.get(RECS_TAG)) return;

  class AttuneRecommendations extends HTMLElement implements RecommendationsElement {
    options: RecommendationsOptions = {};
    /** @internal */
    attune: Attune | undefined;
    readonly #shadow: ShadowRoot;
    readonly #rail = el('div');
    readonly #status = el('p', { class: 'status', role: 'status' });
    /** Dismissed and muted here: works without personalization (which stores them). */
    readonly #hidden: string[] = [];
    readonly #muted: string[] = [];
    #run = 0;
    #stop: (() => void) | undefined;

    constructor() {
      super();
      this.#shadow = this.attachShadow({ mode: 'open' });
      this.#shadow.adoptedStyleSheets = [styleSheet(recsCss)];
      this.#shadow.append(this.#rail, this.#status);
    }

    connectedCallback(): void {
      if (this.#stop || !this.attune) return;
      const offConsent = this.attune.consent.onChange(() => void this.refresh());
      // A control used in another rail (or tab) changes this one's next answer too.
      const offSignals = this.attune.recommendations.onChange(() => {
        if (!this.#busy) void this.refresh();
      });
      this.#stop = () => {
        offConsent();
        offSignals();
      };
    }

    disconnectedCallback(): void {
      this.#stop?.();
      this.#stop = undefined;
    }

    /** A control of this rail is being applied (it refreshes and places focus itself). */
    #busy = false;

    get #strings(): RecsStrings {
      return { ...RECS_STRINGS, ...this.options.strings };
    }

    async refresh(): Promise<void> {
      const attune = this.attune;
      if (!attune) return;
      const run = ++this.#run;
      const { strings: _strings, labels: _labels, ...request } = this.options;
      let items: Recommendation[] = [];
      try {
        items = await attune.recommend({
          ...request,
          exclude: [...list(request.exclude), ...this.#hidden],
          tags: { ...request.tags, noneOf: [...list(request.tags?.noneOf), ...this.#muted] },
        });
      } catch (e) {
        attune.warn(toAttuneError(e));
      }
      if (run !== this.#run) return;
      try {
        this.#render(items);
      } catch (e) {
        // Drawing never throws into the page (a bad `strings` override, an unexpected reason).
        attune.warn(toAttuneError(e));
      }
    }

    #render(items: Recommendation[]): void {
      const strings = this.#strings;
      const slot = this.options.slot ?? 'home';
      const personal = items.some((r) => r.because.some((b) => /^(history|interest|stated)$/.test(b.kind)));
      const heading = slot === 'home' ? (personal ? strings.forYou : strings.popular) : strings[slot];
      // Empty at first: hidden. Emptied by the visitor's own control: says so, and stays
      // where their focus is.
      this.hidden = items.length === 0 && !this.#busy;
      this.dataset.attunePersonal = String(personal);
      const section = el('section', heading ? { 'aria-labelledby': 'attune-recs-heading' } : {});
      if (heading) section.append(el('h2', { id: 'attune-recs-heading', tabindex: '-1' }, heading));
      const rail = el('ul', { role: 'list' });
      items.forEach((rec, n) => rail.append(this.#item(rec, n, slot, strings)));
      section.append(items.length > 0 ? rail : el('p', { class: 'empty', tabindex: '-1' }, strings.empty));
      this.#rail.replaceChildren(section);
    }

    #item(rec: Recommendation, n: number, slot: RecommendationSlot, strings: RecsStrings): HTMLLIElement {
      const li = el('li', { 'data-attune-item': rec.id });
      const href = safeUrl(rec.url);
      // Without a safe URL, the title is plain text (a link without href cannot take focus).
      const link = el(href ? 'a' : 'span', href ? { href, 'data-attune-action': 'open' } : { class: 'link-less' });
      const image = safeUrl(rec.image);
      // The image host learns which items were shown, not from which page or to whom.
      if (image) link.append(el('img', { src: image, alt: '', loading: 'lazy', referrerpolicy: 'no-referrer' }));
      link.append(el('span', { class: 'title', id: `attune-recs-title-${n}` }, rec.title));
      link.addEventListener('click', () => {
        const detail: RecommendationClick = { id: rec.id, slot, position: n, recommendation: rec };
        this.dispatchEvent(new CustomEvent('attune-recommendation-click', { detail, bubbles: true, composed: true }));
      });

      const panel = el('div', { class: 'why', id: `attune-why-${n}`, hidden: '' });
      const reasons = el('ul');
      const labels = this.options.labels ?? {};
      if (rec.pinned) reasons.append(el('li', {}, strings.promoted));
      for (const reason of rec.because) reasons.append(el('li', {}, reasonText(reason, slot, strings, labels)));
      const controls = el('div', { class: 'controls' });
      const recs = this.attune!.recommendations;
      const control = (text: string, attrs: Record<string, string>, act: () => void) => {
        const button = el('button', { type: 'button', ...attrs }, text);
        button.addEventListener('click', () => void this.#after(act, n));
        controls.append(button);
      };
      control(strings.notInterested, { 'data-attune-action': 'not-interested' }, () => {
        recs.signal('notInterested', rec.id);
        this.#hidden.push(rec.id);
      });
      const seen = new Set<string>();
      for (const reason of rec.because) {
        const { tag, item } = reason;
        if (tag && !seen.has(`t${tag}`)) {
          seen.add(`t${tag}`);
          control(fill(strings.mute, '', label(labels, tag)), { 'data-attune-action': 'mute', 'data-attune-tag': tag }, () => {
            recs.mute(tag);
            this.#muted.push(tag);
          });
        }
        if (reason.kind === 'history' && item && !seen.has(`i${item}`)) {
          seen.add(`i${item}`);
          control(fill(strings.forget, reason.title ?? item, ''), { 'data-attune-action': 'forget', 'data-attune-item': item }, () =>
            recs.forget(item),
          );
        }
      }
      panel.append(reasons, controls);
      panel.addEventListener('keydown', (event) => {
        if (event.key === 'Escape') {
          toggle(false);
          why.focus();
        }
      });

      const why = el(
        'button',
        {
          type: 'button',
          class: 'link',
          'aria-expanded': 'false',
          'aria-controls': panel.id,
          'aria-describedby': `attune-recs-title-${n}`,
          'data-attune-action': 'why',
        },
        strings.why,
      );
      const toggle = (open: boolean) => {
        panel.hidden = !open;
        why.setAttribute('aria-expanded', String(open));
      };
      why.addEventListener('click', () => toggle(panel.hidden));
      li.append(link, why, panel);
      return li;
    }

    /** Runs a control, asks again; focus goes to the item now at `n`. */
    async #after(act: () => void, n: number): Promise<void> {
      this.#busy = true;
      try {
        act();
        this.#status.textContent = '';
        const run = this.#run + 1;
        await this.refresh();
        if (run !== this.#run) return; // a newer refresh owns the rail (and the focus)
        const items = this.#rail.querySelectorAll('li[data-attune-item]');
        const item = items[Math.min(n, items.length - 1)];
        const target = item?.querySelector<HTMLElement>('a[href]') ?? item?.querySelector<HTMLElement>('[data-attune-action="why"]');
        (target ?? this.#rail.querySelector<HTMLElement>('.empty, h2'))?.focus();
        this.#status.textContent = this.#strings.updated;
      } finally {
        this.#busy = false;
      }
    }
  }

  customElements.define(RECS_TAG, AttuneRecommendations);
}

/**
 * Appends an `<attune-recommendations>` rail to `host`; it asks again when consent changes or
 * a control is used. Item clicks dispatch `attune-recommendation-click` (`RecommendationClick`).
 *
 * ```ts
 * const rail = mountRecommendations(document.querySelector('#for-you')!, attune, { slot: 'home', k: 4 });
 * rail.addEventListener('attune-recommendation-click', (e) =>
 *   attune.track('recommendation_click', { productId: e.detail.id }, 'personalization'));
 * ```
 */
export function mountRecommendations(host: Element, attune: Attune, options: RecommendationsOptions = {}): RecommendationsElement {
  if (typeof customElements === 'undefined') throw new AttuneError('mountRecommendations needs a browser document', 'no_dom');
  define();
  const rail = document.createElement(RECS_TAG) as RecommendationsElement & { attune: Attune };
  rail.attune = attune;
  rail.options = options;
  rail.hidden = true;
  host.append(rail);
  void rail.refresh();
  return rail;
}
