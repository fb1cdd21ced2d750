// Google Consent Mode v2 bridge. The mapping from purposes to consent types is a rule of the core
// (attune-core consent::gcm); this file only calls gtag, in the order Google requires:
// 'default' once, before anything else, then 'update' on every change.
import type { Attune } from './attune.js';

export type Gtag = (command: 'consent', action: 'default' | 'update', state: Record<string, unknown>) => void;

function pageGtag(): Gtag {
  const w = globalThis as unknown as { gtag?: Gtag; dataLayer?: unknown[] };
  if (typeof w.gtag === 'function') return w.gtag;
  // The snippet Google documents: gtag() pushes its `arguments` object onto dataLayer.
  w.dataLayer ??= [];
  const dataLayer = w.dataLayer;
  return function gtag() {
    // eslint-disable-next-line prefer-rest-params
    dataLayer.push(arguments);
  } as Gtag;
}

export function bridgeGoogleConsentMode(attune: Attune, gtag: Gtag = pageGtag()): () => void {
  if (!attune.ready) return () => {};
  gtag('consent', 'default', { ...attune.googleConsentMode(), wait_for_update: 500 });
  return attune.consent.onChange(() => gtag('consent', 'update', attune.googleConsentMode()));
}
