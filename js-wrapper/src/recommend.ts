// `attune.recommendations`: loads the catalogue, sidecar and ranking config; rankings and the
// visitor's controls. Every rule (what counts, what is stored, under which consent) is the core's.
import type { AttuneSdk } from '../wasm/attune_wasm.js';
import type { Attune } from './attune.js';
import { AttuneError, toAttuneError } from './errors.js';
import { mountRecommendations, type RecommendationsElement, type RecommendationsOptions } from './recommend-ui.js';

/** Where a rail is shown: `home` (personal), `similar` (like the context item), `cart` (goes with the context items). */
export type RecommendationSlot = 'home' | 'similar' | 'cart';

/** What the visitor did with an item. `dwell` carries a ratio from 0 to 1. */
export type SignalKind = 'view' | 'click' | 'cart' | 'purchase' | 'dwell' | 'skip' | 'notInterested';

/** One part of a result's score and what caused it (see docs/recommendations.md). */
export interface Reason {
  kind: 'history' | 'context' | 'stated' | 'interest' | 'popular' | 'promoted';
  /** The item behind it (`history`, `context`, an item rule), and its title. */
  item?: string;
  title?: string;
  /** What the visitor did with `item` (`history`). */
  signal?: SignalKind;
  /** The tag behind it (`interest`, `stated`, `popular`, a tag rule). */
  tag?: string;
  /** This reason's part of the score. */
  weight: number;
}

export interface Recommendation {
  id: string;
  title: string;
  url: string;
  image?: string;
  score: number;
  /** The largest positive parts of the score (at most three), largest first. */
  because: Reason[];
  /** The site pinned it to its place (a rule). */
  pinned?: true;
}

export interface RecommendOptions {
  /** Default `home`. */
  slot?: RecommendationSlot;
  /** How many items, 1 to 100. Default 10. */
  k?: number;
  /** The item on screen (`similar`, required) or the cart's items (`cart`). */
  context?: string | string[];
  /** Never these items. */
  exclude?: string | string[];
  /** `anyOf`: only items with one of these tags; `noneOf`: never items with one of these. */
  tags?: { anyOf?: string | string[]; noneOf?: string | string[] };
  /** Items the visitor already interacted with may come back. Default: false on `home`, true elsewhere. */
  includeSeen?: boolean;
  /** Items marked `available: false` may be shown. Default false. */
  includeUnavailable?: boolean;
}

/** The visitor's stored signals (`attune:recs`, kept only while personalization is granted). */
export interface RecommendationSignals {
  history: { item: string; kind: SignalKind; at: number; ratio?: number }[];
  muted: string[];
  /** Each tag's last mute or unmute (`[tag, at, muted]`), for merging tabs. */
  mutes: [string, number, boolean][];
  /** Items the visitor asked to forget, and when. */
  forgotten: [string, number][];
  resetAt: number;
}

/** Where the catalogue or sidecar comes from: a URL on the site, bytes, or the document itself. */
export type RecommendSource = string | URL | ArrayBuffer | ArrayBufferView | object;

export interface RecommendSetup {
  catalog?: RecommendSource;
  neighbours?: RecommendSource;
  recommend?: object;
}

async function read(source: RecommendSource, field: string): Promise<Uint8Array | string> {
  if (typeof source === 'string' || source instanceof URL) {
    let response: Response;
    try {
      // A plain GET of a public file: no cookies, no referrer (the page's URL says what the
      // visitor is doing), and not forever.
      response = await fetch(source, {
        credentials: 'omit',
        referrerPolicy: 'no-referrer',
        signal: AbortSignal.timeout(LOAD_TIMEOUT_MS),
      });
    } catch (e) {
      throw new AttuneError(`could not fetch ${String(source)}: ${toAttuneError(e).message}`, `invalid_${field}`, field);
    }
    if (!response.ok) throw new AttuneError(`GET ${String(source)} answered HTTP ${response.status}`, `invalid_${field}`, field);
    return new Uint8Array(await response.arrayBuffer());
  }
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  try {
    return JSON.stringify(source);
  } catch (e) {
    throw new AttuneError(`cannot be turned into JSON: ${toAttuneError(e).message}`, `invalid_${field}`, field);
  }
}

/** The core's `invalid_input` named after the document it is about (`invalid_catalog`…). */
function recoded<T>(code: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof AttuneError && e.code === 'invalid_input') e.code = code;
    throw e;
  }
}

/** After this, a catalogue or sidecar that has not arrived counts as failed (fail closed). */
const LOAD_TIMEOUT_MS = 30_000;

const EMPTY: RecommendationSignals = { history: [], muted: [], mutes: [], forgotten: [], resetAt: 0 };

/** `attune.recommendations`: the visitor's signals and controls (kept only under `personalization`), and `mount`. */
export class Recommendations {
  readonly #owner: Attune;
  #loading: Promise<void> = Promise.resolve();
  /** A catalogue was given (so "no catalogue" means it failed to load). */
  #configured = false;
  readonly #listeners = new Set<() => void>();

  /** @internal */
  constructor(owner: Attune) {
    this.#owner = owner;
  }

  /** @internal The ranking config now (tracked events may be signals), the catalogue in the background. */
  start({ catalog, neighbours, recommend }: RecommendSetup): void {
    if (recommend !== undefined) {
      try {
        const json = JSON.stringify(recommend);
        this.#owner.call((sdk) => sdk.setRecommendConfig(json));
      } catch (e) {
        this.#owner.warn(new AttuneError(`cannot be turned into JSON: ${toAttuneError(e).message}`, 'invalid_config', 'recommend'));
      }
    }
    if (catalog === undefined) return;
    this.#configured = true;
    this.#loading = this.#load(catalog, neighbours);
  }

  async #load(catalog: RecommendSource, neighbours: RecommendSource | undefined): Promise<void> {
    // A later task: never in the way of init or the banner.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const owner = this.#owner;
    // Both requests start together; the optional sidecar failing never costs the catalogue.
    const pending = neighbours === undefined ? undefined : read(neighbours, 'neighbours');
    pending?.catch(() => undefined);
    try {
      const items = await read(catalog, 'catalog');
      const bytes = typeof items === 'string' ? new TextEncoder().encode(items) : items;
      if (owner.call((sdk) => recoded('invalid_catalog', () => sdk.setCatalog(bytes))) === null) return;
      // Interests and item titles in the privacy centre come from the catalogue.
      owner.privacy.notify();
    } catch (e) {
      owner.warn(toAttuneError(e, 'invalid_catalog'));
      return;
    }
    if (!pending) return;
    try {
      const links = await pending;
      const json = typeof links === 'string' ? links : new TextDecoder().decode(links);
      owner.call((sdk) => recoded('invalid_neighbours', () => sdk.setNeighbours(json)));
    } catch (e) {
      owner.warn(toAttuneError(e, 'invalid_neighbours'));
    }
  }

  /** @internal Calls `listener` after a control or signal changed what is stored; returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @internal Tells the listeners stored signals changed elsewhere (the privacy centre). */
  notify(): void {
    this.#changed(undefined);
  }

  #changed<T>(result: T): T {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (e) {
        this.#owner.warn(toAttuneError(e));
      }
    }
    return result;
  }

  /** See `Attune.recommend`. */
  async recommend(options: RecommendOptions = {}): Promise<Recommendation[]> {
    let json: string;
    try {
      json = JSON.stringify(options);
    } catch (e) {
      throw new AttuneError(`options cannot be turned into JSON: ${toAttuneError(e).message}`, 'invalid_input', 'options');
    }
    await this.#loading;
    let error = undefined as AttuneError | undefined;
    const out = this.#owner.call((sdk) => {
      try {
        return sdk.recommend(json) as Recommendation[];
      } catch (e) {
        // A refusal is the caller's; anything else is a crash, for `call` to contain.
        if (!(e instanceof AttuneError)) throw e;
        error = e;
        return null;
      }
    });
    if (error && !(error.code === 'no_catalog' && this.#configured)) throw error;
    return out ?? [];
  }

  /** Records what the visitor did with an item; false if not (no personalization, or bad input: see `onWarning`). */
  signal(kind: SignalKind, item: string, options: { ratio?: number } = {}): boolean {
    return this.#changed(this.#owner.call((sdk) => sdk.recordSignal(item, kind, options.ratio)) === true);
  }

  /** Forgets every signal about `item`. */
  forget(item: string): void {
    this.#changed(this.#owner.call((sdk) => sdk.forgetItem(item)));
  }

  /** Never recommends items with `tag`; false (nothing stored) without personalization. */
  mute(tag: string): boolean {
    return this.#changed(this.#owner.call((sdk) => sdk.muteTag(tag)) === true);
  }

  unmute(tag: string): void {
    this.#changed(this.#owner.call((sdk) => sdk.unmuteTag(tag)));
  }

  /** Forgets every signal up to now (muted tags stay muted). */
  reset(): void {
    this.#changed(this.#owner.call((sdk) => sdk.resetInterests()));
  }

  /** What is stored, for a privacy page. */
  signals(): RecommendationSignals {
    return this.#owner.call((sdk: AttuneSdk) => sdk.recommendationSignals() as RecommendationSignals | null) ?? structuredClone(EMPTY);
  }

  /** `mountRecommendations(element, attune, options)`; null outside a browser. */
  mount(element: Element, options: RecommendationsOptions = {}): RecommendationsElement | null {
    return typeof document === 'undefined' ? null : mountRecommendations(element, this.#owner, options);
  }
}
