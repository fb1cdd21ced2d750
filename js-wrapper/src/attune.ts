import type { AttuneSdk } from '../wasm/attune_wasm.js';
import { AttuneError, toAttuneError } from './errors.js';
import type {
  BannerText,
  ConsentReceipt,
  ConsentView,
  EgressManifest,
  GcmValue,
  SentPayload,
  SiteConfig,
} from './generated/index.js';
import { loadWasm, type WasmSource } from './wasm.js';
import { showConsentBanner } from './banner.js';
import { bridgeGoogleConsentMode, type Gtag } from './gcm.js';
import { Prompts } from './prompts.js';
import { Privacy } from './privacy.js';
import {
  Recommendations,
  type Recommendation,
  type RecommendOptions,
  type RecommendSource,
} from './recommend.js';

export interface AttuneOptions {
  /** Public routing id of the site, sent with every batch (1–64 of `A-Z a-z 0-9 _ -`). */
  siteId: string;
  /** The site's own collector: a path like `/v1/batch` or an `http(s)://` URL. */
  endpoint: string;
  /** Policy, purposes, banner text and egress tuning. Unknown keys are errors. */
  config?: SiteConfig;
  /** Where to load the wasm from. Default: `attune_wasm_bg.wasm` shipped beside the package. */
  wasm?: WasmSource;
  /** `'local'` (default): localStorage, falling back to memory when unavailable. `'memory'`: never persist. */
  storage?: 'local' | 'memory';
  /**
   * The marketer's prompt config (progressive profiling; see docs/profiling.md and
   * `@attune/sdk/prompts.schema.json`). A config with problems is reported to `onWarning`
   * (`invalid_config` with every issue) and no prompt is shown; consent and tracking still work.
   */
  prompts?: object;
  /**
   * The site's catalogue for on-device recommendations (docs/recommendations.md): a URL on the
   * site (JSON, or the binary form when the bytes start with `ATCAT\0`), the bytes, or the
   * document as an object. Loaded in the background; problems go to `onWarning`
   * (`invalid_catalog`), and recommendations are then empty.
   */
  catalog?: RecommendSource;
  /** The optional neighbours sidecar (a URL or the document), read against the catalogue. */
  neighbours?: RecommendSource;
  /** The ranking config: weights, signal half-lives, `events` that are signals, rules. Problems go to `onWarning`. */
  recommend?: object;
  /** UI components; `banner` defaults to true in a browser: shown when consent is needed. */
  ui?: { banner?: boolean };
  /** Corrupt or tampered state, storage fallback, refused events… The SDK keeps working (or stays silent). */
  onWarning?: (warning: AttuneError) => void;
}

export type ConsentSource = 'banner' | 'api';

const EMPTY_VIEW: ConsentView = {
  revision: 0,
  needsBanner: false,
  purposes: [],
  signals: { gpc: false, dnt: false },
  record: { entries: 0, head: '', verified: false },
};

/** `attune.consent`: read and change the visitor's consent. */
export class Consent {
  readonly #owner: Attune;
  readonly #listeners = new Set<(view: ConsentView) => void>();

  constructor(owner: Attune) {
    this.#owner = owner;
  }

  /** Every purpose's state, the signals seen and the record's integrity. */
  get(): ConsentView {
    return this.#owner.call((sdk) => sdk.consent() as ConsentView) ?? structuredClone(EMPTY_VIEW);
  }

  /** Grants purposes. `necessary` is always granted. */
  grant(purposes: string[], source: ConsentSource = 'api'): boolean {
    return this.#change((sdk) => sdk.grant(purposes, source));
  }

  /** Denies purposes; their waiting events are dropped. */
  deny(purposes: string[], source: ConsentSource = 'api'): boolean {
    return this.#change((sdk) => sdk.deny(purposes, source));
  }

  /** Takes back earlier grants; their waiting events are dropped everywhere they wait. */
  withdraw(purposes: string[], source: ConsentSource = 'api'): boolean {
    return this.#change((sdk) => sdk.withdraw(purposes, source));
  }

  /** Records a full set of choices as one entry (what the banner's "Save" does). */
  choose(granted: string[], denied: string[], source: ConsentSource = 'api'): boolean {
    return this.#change((sdk) => sdk.choose(granted, denied, source));
  }

  /** Grants every purpose except those a browser signal (GPC, DNT) denies. */
  acceptAll(source: ConsentSource = 'api'): boolean {
    return this.#change((sdk) => sdk.acceptAll(source));
  }

  /** Denies every purpose but `necessary`. */
  rejectAll(source: ConsentSource = 'api'): boolean {
    return this.#change((sdk) => sdk.rejectAll(source));
  }

  /** Calls `listener` with the new state after every change. Returns an unsubscribe function. */
  onChange(listener: (view: ConsentView) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The hash-chained consent record as a JSON document the visitor can keep. */
  receipt(): ConsentReceipt | null {
    return this.#owner.call((sdk) => sdk.receipt() as ConsentReceipt);
  }

  /** Opens the consent banner, e.g. from a "Privacy settings" link. Focus moves into it. */
  showBanner(): void {
    if (this.#owner.ready && typeof document !== 'undefined') showConsentBanner(this.#owner, { reopened: true });
  }

  #change(change: (sdk: AttuneSdk) => boolean): boolean {
    const changed = this.#owner.call(change) ?? false;
    if (changed) this.notify();
    return changed;
  }

  /** @internal Whether the change listeners are being told about is another tab's. */
  changedElsewhere = false;

  /** @internal Tells every listener about the current state (after a change here or in another tab). */
  notify(elsewhere = false): void {
    this.changedElsewhere = elsewhere;
    // A grant of a purpose that sends data makes the device key (once).
    void this.#owner.privacy.ensureDeviceKey();
    this.#owner.privacy.notify();
    const view = this.get();
    for (const listener of [...this.#listeners]) {
      try {
        listener(view);
      } catch (e) {
        this.#owner.warn(toAttuneError(e, 'listener_failed'));
      }
    }
  }
}

/**
 * One page's Attune.
 *
 * ```ts
 * import { Attune } from '@attune/sdk';
 * const attune = await Attune.init({ siteId: 'shop', endpoint: '/v1/batch', config });
 * attune.track('page_view', { path: location.pathname }, 'analytics');
 * ```
 */
export class Attune {
  /** Why the SDK could not start, or stopped (a crash inside the wasm). */
  error: AttuneError | undefined;
  readonly consent: Consent;
  /** Progressive profiling: the questions to show, answers, and `mount` to let the SDK render them. */
  readonly prompts: Prompts;
  /** On-device recommendations: the visitor's signals and controls, and `mount` to render a rail. */
  readonly recommendations: Recommendations;
  /** The privacy centre's data and rights: see, export and delete, here and on the server. */
  readonly privacy: Privacy;
  readonly #sdk: AttuneSdk | undefined;
  readonly #onWarning: ((warning: AttuneError) => void) | undefined;

  private constructor(
    sdk: AttuneSdk | undefined,
    error: AttuneError | undefined,
    onWarning?: (w: AttuneError) => void,
    prompts?: object,
  ) {
    this.#sdk = sdk;
    this.error = error;
    this.#onWarning = onWarning;
    this.consent = new Consent(this);
    this.recommendations = new Recommendations(this);
    this.privacy = new Privacy(this);
    this.prompts = new Prompts(this, prompts !== undefined && this.#loadPrompts(prompts));
  }

  /** Loads the prompt config and counts this page view; a bad config is reported, never thrown. */
  #loadPrompts(prompts: object): boolean {
    let json: string;
    try {
      json = JSON.stringify(prompts);
    } catch (e) {
      this.warn(new AttuneError(`prompts cannot be turned into JSON: ${toAttuneError(e).message}`, 'invalid_config', 'prompts'));
      return false;
    }
    return (
      this.call((s) => {
        s.setPrompts(json);
        s.pageView();
        return true;
      }) === true
    );
  }

  /**
   * Starts the SDK. Never rejects: on failure (no browser, wasm not loadable, invalid config) it
   * resolves to an instance with `ready === false` that sends nothing, and reports the error.
   */
  static async init(options: AttuneOptions): Promise<Attune> {
    const onWarning = options.onWarning;
    try {
      if (typeof globalThis.crypto?.getRandomValues !== 'function') {
        throw new AttuneError('Attune needs crypto.getRandomValues (a browser or Node ≥ 18)', 'no_crypto');
      }
      const glue = await loadWasm(options.wasm);
      let attune: Attune | undefined;
      const sdk = new glue.AttuneSdk(
        options.siteId,
        options.endpoint,
        JSON.stringify(options.config ?? {}),
        options.storage ?? 'local',
        (warning: AttuneError) => Attune.#report(onWarning, warning, 'warn'),
        // Consent changed in another tab of this site.
        () => attune?.consent.notify(true),
      );
      attune = new Attune(sdk, undefined, onWarning, options.prompts);
      attune.recommendations.start(options);
      const wantsBanner = options.ui?.banner ?? true;
      attune.privacy.banner = wantsBanner;
      void attune.privacy.ensureDeviceKey();
      void attune.privacy.start();
      if (wantsBanner && typeof document !== 'undefined' && attune.consent.get().needsBanner) {
        showConsentBanner(attune, { reopened: false });
      }
      return attune;
    } catch (e) {
      const error = toAttuneError(e, 'init_failed');
      Attune.#report(onWarning, error, 'error');
      return new Attune(undefined, error, onWarning);
    }
  }

  /** False when the SDK could not start or has stopped (see `error`): it then stores and sends nothing. */
  get ready(): boolean {
    return this.#sdk !== undefined && this.error === undefined;
  }

  static #report(onWarning: ((w: AttuneError) => void) | undefined, warning: AttuneError, level: 'warn' | 'error') {
    if (onWarning) {
      try {
        onWarning(warning);
        return;
      } catch {
        // a throwing hook must not break the host page; fall through to the console
      }
    }
    console[level]('[attune]', warning);
  }

  /**
   * Captures an event for `purpose`. Only events declared in `config.collect[purpose].events`
   * leave, with only their declared props, coarsened (a URL becomes its path, a price a range);
   * undeclared props are stripped and reported once to `onWarning`. Returns the event's id, or
   * `null` if it was refused (the reason goes to `onWarning`). Events of an undecided purpose
   * wait in memory for the visitor's answer.
   */
  track(name: string, props: Record<string, unknown> | undefined, purpose: string): string | null {
    return this.call((sdk) => sdk.track(name, props, purpose));
  }

  /**
   * Ranks the catalogue on this device (personal only under `personalization`), each result
   * `because` of what. `[]` if the SDK or catalogue failed; rejects an `AttuneError` for bad options.
   * ```ts
   * const similar = await attune.recommend({ slot: 'similar', context: 'p01', k: 4 });
   * ```
   */
  recommend(options?: RecommendOptions): Promise<Recommendation[]> {
    return this.recommendations.recommend(options);
  }

  /**
   * Every field that can leave the device, by purpose, with its destination and retention:
   * derived from `config.collect`, so it is exactly what the SDK enforces.
   */
  egressManifest(): EgressManifest | null {
    return this.call((sdk) => sdk.egressManifest() as EgressManifest);
  }

  /** The manifest as a Markdown table, for a privacy page. */
  egressManifestTable(): string | null {
    return this.call((sdk) => sdk.egressManifestTable());
  }

  /** The last payloads that actually left this device (what, when, where, which purpose), oldest first. */
  egressLog(): SentPayload[] {
    return this.call((sdk) => sdk.egressLog() as SentPayload[]) ?? [];
  }

  /** Sends whatever may leave now; resolves when the collector has answered. */
  async flush(): Promise<void> {
    // A grant just made may be making the device key: ids leave only beside it (a few seconds at
    // most: a key store that never answers does not hold the events back).
    await Promise.race([this.privacy.keyMade(), new Promise((resolve) => setTimeout(resolve, 3000))]);
    const pending = this.call((sdk) => sdk.flush());
    if (!pending) return;
    try {
      await pending;
    } catch (e) {
      this.warn(toAttuneError(e));
    }
  }

  /**
   * Mirrors consent into Google Consent Mode v2: `gtag('consent', 'default', …)` now, then
   * `'update'` on every change. Without `gtag`, uses `window.gtag` or pushes to `dataLayer`.
   * Returns a function that stops the updates.
   */
  bridgeGoogleConsentMode(gtag?: Gtag): () => void {
    return bridgeGoogleConsentMode(this, gtag);
  }

  /** Consent Mode v2 state derived from the current consent. */
  googleConsentMode(): Record<string, GcmValue> {
    return this.call((sdk) => sdk.googleConsentMode() as Record<string, GcmValue>) ?? {};
  }

  /** The banner's text, from the config with defaults filled in. */
  bannerText(): Required<BannerText> | null {
    return this.call((sdk) => sdk.bannerText() as Required<BannerText>);
  }

  /** Stops timers and page-exit handlers; the instance sends nothing afterwards. */
  destroy(): void {
    this.call((sdk) => sdk.destroy());
  }

  /** @internal Runs `f` on the wasm instance; errors go to `onWarning`, never to the caller. */
  call<T>(f: (sdk: AttuneSdk) => T): T | null {
    if (!this.#sdk || this.error) return null;
    try {
      return f(this.#sdk);
    } catch (e) {
      if (e instanceof AttuneError) {
        this.warn(e);
      } else {
        // Not an error the SDK raised: the wasm trapped (a panic). Its state can no longer be
        // trusted, so from now on every call is a no-op and nothing is sent.
        this.error = toAttuneError(e, 'crashed');
        this.warn(this.error);
        try {
          this.#sdk.destroy();
        } catch {
          // the instance is already unusable
        }
      }
      return null;
    }
  }

  /** @internal */
  warn(warning: AttuneError): void {
    Attune.#report(this.#onWarning, warning, 'warn');
  }
}
