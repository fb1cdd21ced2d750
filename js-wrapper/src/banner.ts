// <attune-consent-banner>: the default consent UI. A non-modal region at the bottom of the page,
// built with createElement/textContent only (no HTML parsing anywhere), in an open shadow root.
//
// Hooks for sites and tests: buttons carry data-attune-action="accept-all" | "reject-all" | "save"
// (and "close" when reopened from settings); each purpose toggle is
// <input type="checkbox" data-attune-purpose="<id>">.
import type { Attune } from './attune.js';
import type { PurposeState } from './generated/index.js';
import { bannerCss } from './styles.js';
import { el, styleSheet } from './dom.js';

export const BANNER_TAG = 'attune-consent-banner';

interface BannerElement extends HTMLElement {
  open(attune: Attune, reopened: boolean): void;
}


const SIGNAL_NOTE: Partial<Record<PurposeState['source'], string>> = {
  gpc: 'Off because your browser sends a Global Privacy Control signal. Tick it only if you want it anyway.',
  dnt: 'Off because your browser asks sites not to track you. Tick it only if you want it anyway.',
};

// The class is created on first use, not at import: HTMLElement does not exist under Node/SSR.
function defineBanner(): void {
  if (customElements.get(BANNER_TAG)) return;

  class AttuneConsentBanner extends HTMLElement implements BannerElement {
    #attune: Attune | undefined;
    #returnFocus: Element | null = null;
    #shadow: ShadowRoot;

    constructor() {
      super();
      this.#shadow = this.attachShadow({ mode: 'open' });
      this.#shadow.adoptedStyleSheets = [styleSheet(bannerCss)];
      this.#shadow.addEventListener('keydown', (event) => {
        if ((event as KeyboardEvent).key === 'Escape' && this.dataset.reopened === 'true') this.#close();
      });
    }

    open(attune: Attune, reopened: boolean): void {
      this.#attune = attune;
      this.dataset.reopened = String(reopened);
      this.#render();
      this.hidden = false;
      if (reopened) {
        // Opened on request ("Privacy settings"): move focus in, and back on close.
        this.#returnFocus = document.activeElement;
        this.#shadow.querySelector<HTMLElement>('input:not(:disabled), button')?.focus();
      }
    }

    #render(): void {
      const attune = this.#attune;
      const text = attune?.bannerText();
      if (!attune || !text) return;
      const view = attune.consent.get();

      const section = el('section', { role: 'region', 'aria-labelledby': 'attune-title', 'aria-describedby': 'attune-body' });
      section.append(el('h2', { id: 'attune-title' }, text.title), el('p', { id: 'attune-body' }, text.body));

      const list = el('ul', { 'aria-label': 'Purposes' });
      for (const purpose of view.purposes) {
        const id = `attune-purpose-${purpose.id}`;
        const input = el('input', { type: 'checkbox', id, 'data-attune-purpose': purpose.id });
        input.checked = purpose.status === 'granted';
        input.disabled = purpose.required;
        const label = el('label', { for: id });
        label.append(input, el('span', { class: 'name' }, purpose.required ? `${purpose.label} (always on)` : purpose.label));
        label.append(el('span', { class: 'desc' }, purpose.description));
        const note = SIGNAL_NOTE[purpose.source];
        if (note) label.append(el('span', { class: 'note' }, note));
        const item = el('li');
        item.append(label);
        list.append(item);
      }
      section.append(list);

      const actions = el('div', { class: 'actions' });
      const button = (action: string, label: string, primary: boolean, onClick: () => void) => {
        const b = el('button', { type: 'button', 'data-attune-action': action, class: primary ? 'primary' : '' }, label);
        b.addEventListener('click', onClick);
        actions.append(b);
      };
      if (this.dataset.reopened === 'true') button('close', text.close, false, () => this.#close());
      button('save', text.save, false, () => {
        const toggles = [...this.#shadow.querySelectorAll<HTMLInputElement>('input[data-attune-purpose]:not(:disabled)')];
        const ids = (checked: boolean) => toggles.filter((t) => t.checked === checked).map((t) => t.dataset.attunePurpose!);
        attune.consent.choose(ids(true), ids(false), 'banner');
        this.#close();
      });
      // Refusing is exactly as easy and as prominent as accepting.
      button('reject-all', text.rejectAll, true, () => {
        attune.consent.rejectAll('banner');
        this.#close();
      });
      button('accept-all', text.acceptAll, true, () => {
        attune.consent.acceptAll('banner');
        this.#close();
      });
      section.append(actions);
      this.#shadow.replaceChildren(section);
    }

    #close(): void {
      this.hidden = true;
      const target = this.#returnFocus;
      this.#returnFocus = null;
      if (target instanceof HTMLElement && target.isConnected) target.focus();
    }
  }

  customElements.define(BANNER_TAG, AttuneConsentBanner);
}

/** Shows the banner (creating it once per page). */
export function showConsentBanner(attune: Attune, { reopened }: { reopened: boolean }): void {
  if (typeof customElements === 'undefined') return;
  if (!document.body) {
    document.addEventListener('DOMContentLoaded', () => showConsentBanner(attune, { reopened }), { once: true });
    return;
  }
  defineBanner();
  let banner = document.querySelector(BANNER_TAG) as BannerElement | null;
  if (!banner) {
    banner = document.createElement(BANNER_TAG) as BannerElement;
    document.body.append(banner);
  }
  banner.open(attune, reopened);
}
