// `attune.prompts`: progressive profiling. The core decides whether a question shows now, which
// one and why; this file passes the page's context in and renders the decision.
import type { AttuneSdk } from '../wasm/attune_wasm.js';
import type { Answer, NextPrompt } from './generated/index.js';
import type { Attune } from './attune.js';
import { AttuneError } from './errors.js';
import { PROMPT_STRINGS, renderPrompt, type AnswerValue, type PromptOptions } from './prompt.js';

export interface PromptContext {
  /** The page's path, for `trigger.url`. Default: `location.pathname`. */
  path?: string;
  /** The visitor's interest weights by catalogue tag, to choose among equal priorities. */
  interests?: Record<string, number>;
  /** The visitor's languages, most wanted first. Default: `navigator.languages`. */
  languages?: readonly string[];
}

export interface MountedPrompt {
  /** Stops deciding and removes a card still shown (without counting a dismissal). */
  unmount(): void;
}

function pagePath(): string {
  return typeof location === 'undefined' ? '/' : location.pathname;
}

function visitorLanguages(): string[] {
  return typeof navigator === 'undefined' ? [] : [...(navigator.languages ?? [navigator.language])];
}

export class Prompts {
  readonly #owner: Attune;
  readonly #configured: boolean;

  /** @internal */
  constructor(owner: Attune, configured: boolean) {
    this.#owner = owner;
    this.#configured = configured;
  }

  #call<T>(f: (sdk: AttuneSdk) => T): T | null {
    return this.#configured ? this.#owner.call(f) : null;
  }

  /**
   * Which question to show now, if any (`prompt`, in the visitor's language), with the
   * scheduler's `trace`: why this one and why every other is not shown. `null` when no prompt
   * config is loaded. Asking does not count as showing: call `shown(id)` when you render it.
   */
  next(context: PromptContext = {}): NextPrompt | null {
    return this.#call(
      (sdk) =>
        sdk.nextPrompt(
          context.path ?? pagePath(),
          context.interests ?? {},
          [...(context.languages ?? visitorLanguages())],
        ) as NextPrompt,
    );
  }

  /** Records that question `id` is on screen (fatigue counts it; measured as `prompt_shown`). */
  shown(id: string): boolean {
    return this.#call((sdk) => sdk.promptShown(id)) !== null;
  }

  /**
   * Stores the visitor's answer (kept on this device only, under the question's purpose and for
   * its retention). Returns false, reporting why to `onWarning`, if it was refused.
   */
  answer(id: string, value: AnswerValue): boolean {
    return this.#call((sdk) => sdk.answerPrompt(id, value)) !== null;
  }

  /** The visitor skipped question `id`: it backs off, and after `maxDismissals` never returns. */
  dismiss(id: string): boolean {
    return this.#call((sdk) => sdk.dismissPrompt(id)) !== null;
  }

  /** Counts a page view for the triggers. `Attune.init` counts the page it starts on; call this on SPA navigations. */
  pageView(): void {
    this.#call((sdk) => sdk.pageView());
  }

  /** The visitor's stored answers, with their purpose and expiry. */
  answers(): Answer[] {
    return this.#call((sdk) => sdk.answers() as Answer[]) ?? [];
  }

  /**
   * Lets the SDK decide and render: shows `<attune-prompt>` in `element` when a question is due
   * now, and decides again when consent changes (a prompt may become allowed; a card whose
   * purpose was withdrawn is taken away). Returns null outside a browser or without a prompt
   * config.
   */
  mount(element: Element, context: PromptContext = {}, options: PromptOptions = {}): MountedPrompt | null {
    if (!this.#configured || typeof document === 'undefined' || !this.#owner.ready) return null;
    let card: HTMLElement | null = null;
    let purpose = '';
    let mounted = true;
    const failed = options.strings?.error ?? PROMPT_STRINGS.error;
    // `elsewhere`: consent changed in another tab. The visitor is looking there, and that tab
    // may be showing a prompt this one cannot see yet: take a withdrawn card away, show nothing
    // new until this page is looked at again.
    const decide = (elsewhere = false) => {
      if (!mounted) return;
      if (card?.isConnected) {
        const granted = this.#owner.consent.get().purposes.some((p) => p.id === purpose && p.status === 'granted');
        if (granted) return;
        card.remove(); // not a dismissal: the visitor withdrew the purpose, not the question
      }
      if (elsewhere || document.visibilityState === 'hidden') return;
      const view = this.next(context)?.prompt;
      if (!view || !this.shown(view.id)) return;
      const id = view.id;
      purpose = view.purpose;
      card = renderPrompt(
        element,
        view,
        {
          answer: (value: AnswerValue) => {
            // The reason goes to onWarning; the visitor sees the site's words, not the SDK's.
            if (!this.#strict((sdk) => sdk.answerPrompt(id, value))) throw new AttuneError(failed, 'answer_failed');
          },
          dismiss: () => {
            this.dismiss(id);
          },
        },
        options,
      );
    };
    decide();
    // After the consent change has settled (the banner closes first, so focus returns to the page).
    const stopConsent = this.#owner.consent.onChange(() => {
      const elsewhere = this.#owner.consent.changedElsewhere;
      setTimeout(() => decide(elsewhere), 0);
    });
    const onVisible = () => decide();
    document.addEventListener('visibilitychange', onVisible);
    return {
      unmount: () => {
        mounted = false;
        stopConsent();
        document.removeEventListener('visibilitychange', onVisible);
        card?.remove();
      },
    };
  }

  /** Like `#call`, errors reported to `onWarning`; false if the call was refused. */
  #strict(f: (sdk: AttuneSdk) => void): boolean {
    let failed = false;
    this.#owner.call((sdk) => {
      try {
        f(sdk);
      } catch (e) {
        failed = true;
        throw e;
      }
    });
    return !failed && this.#owner.ready;
  }
}
