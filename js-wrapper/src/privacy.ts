// `attune.privacy`: the visitor sees, exports and deletes everything — on this device and, proven
// with the device key, on the site's collector. The core decides and builds every request; this
// file holds the WebCrypto calls (the key pair, kept non-extractable in IndexedDB, and the
// signature) and the download.
import type { AttuneSdk } from '../wasm/attune_wasm.js';
import type { Attune } from './attune.js';
import { AttuneError, toAttuneError } from './errors.js';
import type { EgressManifest } from './generated/index.js';
import type { ErasureReceipt, ExportDocument, PrivacyApi, PrivacyView } from './privacy-types.js';
import { KEY_DATABASE, keyStore, type KeyStore, type StoredKey } from './keystore.js';

const EMPTY_MANIFEST: EgressManifest = { destination: '', siteId: '', rows: [], purposes: [] } as unknown as EgressManifest;

function languages(): string[] {
  return typeof navigator === 'undefined' ? [] : [...(navigator.languages ?? [navigator.language])];
}

function base64url(bytes: ArrayBuffer): string {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** How the export describes the private half it cannot read. */
const PRIVATE_HALF =
  'CryptoKey (ECDSA P-256), non-extractable: it signs requests on this device and cannot be read, exported or copied, not even by this page';

export class Privacy implements PrivacyApi {
  readonly #owner: Attune;
  readonly #listeners = new Set<() => void>();
  #making: Promise<void> | undefined;
  #store: KeyStore | undefined;
  /** What the key store holds (public halves), read at start and after each change, for the export. */
  #stored: StoredKey[] = [];
  /** Whether `clearDevice` reopens the consent banner (the page shows it). */
  banner = false;

  /** @internal */
  constructor(owner: Attune) {
    this.#owner = owner;
  }

  view(): PrivacyView {
    const owner = this.#owner;
    const data = owner.call((sdk) => sdk.privacyData(languages()) as Omit<PrivacyView, 'consent' | 'egressLog' | 'manifest'>);
    const memory = owner.call((sdk) => sdk.memoryOnly()) ?? true;
    return {
      siteId: data?.siteId ?? '',
      generatedAt: data?.generatedAt ?? Date.now(),
      history: data?.history ?? [],
      historyVerified: data?.historyVerified ?? false,
      answers: data?.answers ?? [],
      interests: data?.interests ?? [],
      recentItems: data?.recentItems ?? [],
      muted: data?.muted ?? [],
      queued: data?.queued ?? 0,
      deviceKey: data?.deviceKey ?? false,
      consent: owner.consent.get(),
      egressLog: owner.egressLog(),
      manifest: owner.egressManifest() ?? EMPTY_MANIFEST,
      serverRights: owner.ready && typeof crypto !== 'undefined' && crypto.subtle !== undefined,
      storage: memory ? 'memory' : 'local',
    };
  }

  forgetAnswer(question: string): boolean {
    return this.#changed(this.#owner.call((sdk) => sdk.forgetAnswer(question)) === true);
  }

  forgetInterest(tag: string): boolean {
    const gone = this.#owner.call((sdk) => sdk.forgetInterest(tag)) === true;
    if (gone) this.#owner.recommendations.notify();
    return this.#changed(gone);
  }

  forgetItem(item: string): boolean {
    const before = this.#owner.recommendations.signals().history.some((s) => s.item === item);
    this.#owner.recommendations.forget(item);
    return this.#changed(before);
  }

  unmute(tag: string): void {
    this.#owner.recommendations.unmute(tag);
    this.#changed(true);
  }

  clearDevice(): void {
    if (this.#owner.call((sdk) => sdk.clearDevice()) === null) return;
    this.#stored = [];
    // After a key being made is stored, so it cannot outlive the clearing.
    this.keyMade()
      .then(() => this.#keys().clear())
      .catch((e: unknown) => this.#owner.warn(toAttuneError(e, 'storage_unavailable')));
    this.#owner.consent.notify();
    this.#owner.recommendations.notify();
    this.#changed(true);
    if (this.banner) this.#owner.consent.showBanner();
  }

  exportDevice(): ExportDocument {
    const doc = this.#owner.call((sdk) => sdk.exportDevice(languages()) as ExportDocument);
    if (!doc) return { format: 'attune-export/1', source: 'device', siteId: '', generatedAt: Date.now() };
    if (this.#stored.length > 0 && this.#keys().persistent) {
      const keys = this.#stored.map((k) => ({ ...k, privateKey: PRIVATE_HALF }));
      doc.indexedDB = { [KEY_DATABASE]: { keys } };
    }
    return doc;
  }

  requestServerCopy(): Promise<ExportDocument> {
    return this.#rights('export') as Promise<ExportDocument>;
  }

  async requestServerErasure(): Promise<ErasureReceipt> {
    const retired = this.#owner.call((sdk) => sdk.devicePublicKey()) ?? undefined;
    const receipt = (await this.#rights('erase')) as ErasureReceipt;
    this.#changed(true);
    // The retired key's private half goes; a purpose that sends data may still be granted: new
    // data gets a new identity.
    try {
      if (retired) await this.#keys().remove(retired);
      await this.ensureDeviceKey();
      this.#stored = await this.#keys().list();
    } catch (e) {
      this.#owner.warn(toAttuneError(e, 'storage_unavailable'));
    }
    return receipt;
  }

  async #rights(action: 'export' | 'erase'): Promise<unknown> {
    if (!this.#owner.ready) throw this.#owner.error ?? new AttuneError('the SDK is not running', 'not_ready');
    await this.#making;
    const sign = async (message: string, publicKey: string): Promise<string> => {
      const key = await this.#keys().get(publicKey);
      if (!key) {
        // Its key store was cleared, the rest kept: this key proves nothing any more.
        this.#owner.call((sdk) => sdk.retireDeviceKey(publicKey));
        void this.ensureDeviceKey();
        throw new AttuneError("this browser lost the key that proved which data on the site's server is yours", 'no_device_key');
      }
      const data = new TextEncoder().encode(message);
      return base64url(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, data));
    };
    const pending = this.#owner.call((sdk: AttuneSdk) => sdk.rights(action, sign));
    if (!pending) throw new AttuneError('the request could not be made', 'not_ready');
    try {
      return await pending;
    } catch (e) {
      throw toAttuneError(e, 'rights_failed');
    }
  }

  download(doc: unknown, filename: string): void {
    if (typeof document === 'undefined') return;
    const blob = new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = filename;
    link.rel = 'noopener';
    link.style.display = 'none';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * @internal Makes the device key when the core asks for one (a purpose that sends data was
   * granted): an ECDSA P-256 pair from WebCrypto. Never rejects; failures go to `onWarning`.
   */
  ensureDeviceKey(): Promise<void> {
    if (this.#making) return this.#making;
    // Without WebCrypto (an insecure origin) there is no key, and events leave without ids.
    if (typeof crypto === 'undefined' || crypto.subtle === undefined) return Promise.resolve();
    if (this.#owner.call((sdk) => sdk.needsDeviceKey()) !== true) return Promise.resolve();
    const store = this.#keys();
    // A private half kept in memory while the public half is stored for good would be lost at the
    // next page: then no key at all (events leave without ids).
    if (!store.persistent && this.#owner.call((sdk) => sdk.memoryOnly()) !== true) return Promise.resolve();
    this.#making = (async () => {
      try {
        // The private half is made non-extractable: it can sign, nothing can read it.
        const pair = (await crypto.subtle.generateKey(ECDSA, false, ['sign', 'verify'])) as CryptoKeyPair;
        const publicKey = base64url(await crypto.subtle.exportKey('raw', pair.publicKey));
        // One transaction decides across tabs: a key another tab stored first is the device's.
        const current = await store.claim({ publicKey, created: Date.now(), privateKey: pair.privateKey });
        const stored = this.#owner.call((sdk) => sdk.setDeviceKey(current.publicKey));
        this.#stored = await store.list();
        // The centre's server buttons depend on it.
        if (stored === true) this.notify();
      } catch (e) {
        this.#owner.warn(toAttuneError(e, 'device_key_failed'));
      } finally {
        this.#making = undefined;
      }
    })();
    return this.#making;
  }

  /**
   * @internal At start: a key whose private half is gone (the key store was cleared, the rest
   * kept) proves nothing: it is retired and a new one made. Private halves of keys older than the
   * device's (retired elsewhere) are dropped.
   */
  async start(): Promise<void> {
    try {
      await this.keyMade();
      const store = this.#keys();
      const current = this.#owner.call((sdk) => sdk.devicePublicKey()) ?? undefined;
      const memoryOnly = this.#owner.call((sdk) => sdk.memoryOnly()) === true;
      if (current && !memoryOnly && (!store.persistent || !(await store.get(current)))) {
        this.#owner.call((sdk) => sdk.retireDeviceKey(current));
        await this.ensureDeviceKey();
      }
      await this.#prune();
    } catch (e) {
      this.#owner.warn(toAttuneError(e, 'storage_unavailable'));
    }
  }

  /** Drops the private halves of keys older than the device's current one. */
  async #prune(): Promise<void> {
    const store = this.#keys();
    const held = await store.list();
    const current = held.find((k) => k.publicKey === this.#owner.call((sdk) => sdk.devicePublicKey()));
    for (const key of held) {
      if (current && key.created < current.created) await store.remove(key.publicKey);
    }
    this.#stored = await store.list();
  }

  #keys(): KeyStore {
    this.#store ??= keyStore(this.#owner.call((sdk) => sdk.memoryOnly()) ?? true);
    return this.#store;
  }

  /** @internal Resolves once a device key being made is stored (so a send right after a grant carries it). */
  keyMade(): Promise<void> {
    return this.#making ?? Promise.resolve();
  }

  /** @internal Tells the listeners something they show changed. */
  notify(): void {
    // What the key store holds, for the export (another tab may have made or removed a key).
    this.#keys()
      .list()
      .then((held) => (this.#stored = held))
      .catch(() => undefined);
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch (e) {
        this.#owner.warn(toAttuneError(e, 'listener_failed'));
      }
    }
  }

  #changed(changed: boolean): boolean {
    if (changed) this.notify();
    return changed;
  }
}
