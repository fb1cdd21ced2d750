// One place where the shop starts the SDK and wires the shared page chrome
// (footer "Privacy settings" link, consent summary, receipt download).
import { Attune, type SiteConfig } from '@attune/sdk';
import configJson from './attune-config.json';
import promptsJson from './attune-prompts.json';
import recommendJson from './attune-recommend.json';
import { byId } from './dom';
import { renderCartCount } from './cart';

export type AttuneInstance = Awaited<ReturnType<typeof Attune.init>>;
export type ConsentView = ReturnType<AttuneInstance['consent']['get']>;
export type PurposeId = 'analytics' | 'personalization' | 'marketing';

declare global {
  interface Window {
    /** The SDK instance, exposed for the end-to-end tests and for poking around in devtools. */
    attune?: AttuneInstance;
  }
}

// JSON imports widen string literals ("urlPath" becomes string), so the file is typed here; the
// SDK validates it fully at runtime and reports every problem with its path.
export const siteConfig = configJson as SiteConfig & typeof configJson;

const PURPOSES: readonly { id: PurposeId; label: string }[] = siteConfig.purposes.map((p) => ({
  id: p.id as PurposeId,
  label: p.label,
}));

export function isGranted(view: ConsentView, purpose: PurposeId): boolean {
  return purposeState(view, purpose)?.status === 'granted';
}

function purposeState(view: ConsentView, purpose: PurposeId) {
  return view.purposes.find((p) => p.id === purpose);
}

/**
 * Start the SDK. `Attune.init` never rejects: on failure it resolves to an inert
 * instance (`ready === false`) that sends nothing, so the shop keeps working.
 */
export async function startAttune(): Promise<AttuneInstance> {
  renderCartCount();
  const attune = await Attune.init({
    siteId: 'demo-shop',
    endpoint: '/v1/batch',
    config: siteConfig,
    // The marketers' questions (edit and simulate them on /prompt-editor.html, whose "Try it in
    // the shop" button puts the edited config in this tab's sessionStorage).
    prompts: triedPrompts() ?? promptsJson,
    // On-device recommendations: the catalogue (generated from src/catalogue.json by the Vite
    // config), the neighbours sidecar (built offline by `attune-tools neighbours` from
    // data/events.csv) and the ranking config (which tracked events are signals). Fetched in the
    // background; the visitor's signals are kept on this device only while personalization is on.
    catalog: '/attune-catalog.json',
    neighbours: '/attune-neighbours.json',
    recommend: recommendJson,
    onWarning: (e) => console.warn('[attune]', e.code, e.message),
  });
  window.attune = attune;
  wireFooter(attune);
  return attune;
}

/** A prompt config the editor page handed over for this tab, if any (the SDK validates it). */
function triedPrompts(): object | undefined {
  try {
    const tried = sessionStorage.getItem(TRY_PROMPTS_KEY);
    return tried ? (JSON.parse(tried) as object) : undefined;
  } catch {
    return undefined;
  }
}

/** Where the editor page leaves a config to try in the shop (this tab only). */
export const TRY_PROMPTS_KEY = 'attune-demo:try-prompts';

/**
 * Let the SDK decide whether a question is due on this page (after the page tracked its events,
 * so triggers see them) and show it in the page's prompt slot.
 */
export function showPrompt(attune: AttuneInstance): void {
  const slot = document.getElementById('prompt-slot');
  if (slot) attune.prompts.mount(slot);
}

/** Tell the end-to-end tests (and anyone watching) that the page finished starting. */
export function markReady(attune: AttuneInstance): void {
  document.documentElement.dataset.attuneOk = String(attune.ready);
  document.documentElement.dataset.attuneReady = 'true';
}

function wireFooter(attune: AttuneInstance): void {
  byId('privacy-settings').addEventListener('click', (event) => {
    event.preventDefault();
    attune.consent.showBanner();
  });

  byId('download-receipt').addEventListener('click', () => {
    const receipt = attune.consent.receipt();
    const blob = new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = 'attune-consent-receipt.json';
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  });

  const summary = byId('consent-summary');
  const render = (view: ConsentView) => {
    summary.textContent =
      'Your choices: ' +
      PURPOSES.map((p) => `${p.label} ${isGranted(view, p.id) ? 'on' : 'off'}`).join(' · ');
  };
  if (attune.ready) {
    render(attune.consent.get());
    attune.consent.onChange(render);
  } else {
    summary.textContent = 'Privacy tools are unavailable right now; nothing is being recorded.';
  }
}

/** page_view for the current URL (analytics). */
export function trackPageView(attune: AttuneInstance): void {
  attune.track('page_view', { path: location.pathname + location.search }, 'analytics');
}
