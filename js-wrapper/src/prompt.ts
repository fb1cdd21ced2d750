// <attune-prompt>: the progressive-profiling question card. Built with createElement/textContent
// only (no HTML parsing anywhere), in an open shadow root with an adopted stylesheet.
//
// Why role="region" and not a dialog: the card never blocks the page (no backdrop, no focus
// trap), and placed inside page content it is simply part of the page. A non-modal dialog makes
// screen readers expect dialog behaviour and can hide where it went once focus leaves it; a
// labelled region is a landmark the visitor can come back to from the landmarks list. It is
// announced by moving focus into it: the first control sits in a <fieldset> whose <legend> is the
// question (or, for text answers, an <input> labelled by it), so the question is read first.
//
// Hooks for sites and tests: the host carries data-attune-question="<id>"; buttons carry
// data-attune-action="answer" | "skip" | "why" | "close"; choice inputs carry
// data-attune-option="<option id>" (scale radios: the number; yes/no: "yes" / "no").
import { AttuneError } from './errors.js';
import type { PromptView } from './generated/index.js';
import { promptCss } from './prompt-styles.js';
import { el, styleSheet } from './dom.js';

export const PROMPT_TAG = 'attune-prompt';

export type { PromptView };

/** `single`: option id; `multiple`: option ids; `scale`: number; `yesNo`: boolean; `text`: string. */
export type AnswerValue = string | string[] | number | boolean;

export interface PromptHandlers {
  /** Records the answer. May reject or throw: the card then shows the error and stays open. */
  answer(value: AnswerValue): Promise<void> | void;
  /** Skip, Escape or the close button. */
  dismiss(): void;
}

/**
 * The card's own words, in English. Translate by passing `strings` to `renderPrompt`.
 * `{n}` is replaced by a number.
 *
 * ```ts
 * renderPrompt(slot, view, handlers, { strings: { skip: 'Passer', save: 'Enregistrer' } });
 * ```
 */
export const PROMPT_STRINGS = {
  whyAsk: 'Why do we ask?',
  skip: 'Skip',
  save: 'Save',
  close: 'Close',
  yes: 'Yes',
  no: 'No',
  usedFor: 'Used for',
  purpose: 'Purpose',
  retention: 'We keep your answer for {n} days',
  retentionOne: 'We keep your answer for 1 day',
  scaleLow: 'lowest',
  scaleHigh: 'highest',
  charsLeft: '{n} characters left',
  error: 'Your answer could not be saved. Please try again.',
};

export type PromptStrings = typeof PROMPT_STRINGS;

export interface PromptOptions {
  /** Replaces some or all of `PROMPT_STRINGS`. */
  strings?: Partial<PromptStrings>;
}

interface PromptElement extends HTMLElement {
  show(view: PromptView, handlers: PromptHandlers, strings: PromptStrings, returnFocus: HTMLElement | null): void;
}

const KINDS: readonly PromptView['kind'][] = ['single', 'multiple', 'scale', 'yesNo', 'text'];
/** More steps than this and a scale is a slider rather than a row of radios. */
const MAX_SCALE_RADIOS = 11;
const QUESTION_ID = 'attune-prompt-question';


const fill = (template: string, n: number) => template.split('{n}').join(String(n));

/** The focused element, looking inside open shadow roots (document.activeElement stops at hosts). */
function deepActiveElement(): HTMLElement | null {
  let active: Element | null = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active instanceof HTMLElement && active !== document.body ? active : null;
}

/**
 * Builds the answer controls of one kind; `read()` returns the answer, or undefined while there
 * is no valid one.
 */
interface Controls {
  nodes: Node[];
  read(): AnswerValue | undefined;
}

function choiceControls(view: PromptView, strings: PromptStrings): Controls {
  const multiple = view.kind === 'multiple';
  const choices: { id: string; label: string; value: AnswerValue }[] =
    view.kind === 'yesNo'
      ? [
          { id: 'yes', label: strings.yes, value: true },
          { id: 'no', label: strings.no, value: false },
        ]
      : view.options.map((o) => ({ id: o.id, label: o.label, value: o.id }));
  const list = el('div', { class: 'choices' });
  const inputs = choices.map((choice, i) => {
    const input = el('input', {
      type: multiple ? 'checkbox' : 'radio',
      name: 'attune-answer',
      id: `attune-option-${i}`,
      'data-attune-option': choice.id,
    });
    const label = el('label', { for: input.id });
    label.append(input, el('span', {}, choice.label));
    list.append(label);
    return input;
  });
  return {
    nodes: [list],
    read() {
      const picked = choices.filter((_, i) => inputs[i]!.checked);
      if (multiple) return picked.length ? picked.map((c) => c.id) : undefined;
      return picked[0]?.value;
    },
  };
}

function scaleControls(view: PromptView, strings: PromptStrings): Controls {
  const min = Math.ceil(view.min ?? 1);
  const max = Math.max(min + 1, Math.floor(view.max ?? 5));
  if (max - min + 1 <= MAX_SCALE_RADIOS) {
    const row = el('div', { class: 'choices scale' });
    const inputs: HTMLInputElement[] = [];
    for (let n = min; n <= max; n++) {
      const input = el('input', { type: 'radio', name: 'attune-answer', id: `attune-option-${n}`, value: String(n), 'data-attune-option': String(n) });
      const label = el('label', { for: input.id });
      label.append(input, el('span', {}, String(n)));
      // The ends say which way the scale goes; as part of the label, they are read with the number.
      if (n === min) label.append(el('span', { class: 'end' }, strings.scaleLow));
      if (n === max) label.append(el('span', { class: 'end' }, strings.scaleHigh));
      row.append(label);
      inputs.push(input);
    }
    return {
      nodes: [row],
      read: () => {
        const picked = inputs.find((i) => i.checked);
        return picked ? Number(picked.value) : undefined;
      },
    };
  }

  // A long scale: a slider with its value shown. A slider always has a value, so it only counts
  // as an answer once the visitor moved it (or pressed a key on it).
  const wrap = el('div', { class: 'range' });
  const start = Math.round((min + max) / 2);
  const input = el('input', {
    type: 'range',
    id: 'attune-answer',
    min: String(min),
    max: String(max),
    step: '1',
    value: String(start),
    'aria-labelledby': QUESTION_ID,
    'data-attune-option': 'range',
  });
  // The slider announces its own value; the ends (read as its description) give the direction.
  const output = el('output', { for: input.id, 'aria-hidden': 'true' }, String(start));
  const ends = el('div', { class: 'ends', id: 'attune-scale-ends' });
  input.setAttribute('aria-describedby', ends.id);
  ends.append(el('span', { class: 'end' }, `${min} ${strings.scaleLow}`), el('span', { class: 'end' }, `${max} ${strings.scaleHigh}`));
  let touched = false;
  input.addEventListener('input', () => {
    touched = true;
    output.textContent = input.value;
  });
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' && event.key !== 'Tab') touched = true;
  });
  wrap.append(input, output, ends);
  return { nodes: [wrap], read: () => (touched ? Number(input.value) : undefined) };
}

function textControls(view: PromptView, strings: PromptStrings): Controls {
  const input = el('input', { type: 'text', id: 'attune-answer', autocomplete: 'off', 'data-attune-option': 'text' });
  const nodes: Node[] = [input];
  const max = view.maxLength;
  if (max !== null && max > 0) {
    input.maxLength = max;
    const counter = el('p', { class: 'counter', id: 'attune-counter' });
    const update = () => {
      counter.textContent = fill(strings.charsLeft, Math.max(0, max - input.value.length));
    };
    update();
    input.addEventListener('input', update);
    input.setAttribute('aria-describedby', counter.id);
    nodes.push(counter);
  }
  return {
    nodes,
    read: () => {
      const value = input.value.trim();
      return value && (max === null || value.length <= max) ? value : undefined;
    },
  };
}

// The class is created on first use, not at import: HTMLElement does not exist under Node/SSR.
function definePrompt(): void {
  if (customElements.get(PROMPT_TAG)) return;

  class AttunePrompt extends HTMLElement implements PromptElement {
    #shadow: ShadowRoot;
    #view: PromptView | undefined;
    #handlers: PromptHandlers | undefined;
    #strings: PromptStrings = PROMPT_STRINGS;
    #returnFocus: HTMLElement | null = null;
    #busy = false;
    #closed = false;

    constructor() {
      super();
      this.#shadow = this.attachShadow({ mode: 'open' });
      this.#shadow.adoptedStyleSheets = [styleSheet(promptCss)];
      this.#shadow.addEventListener('keydown', (event) => {
        const key = event as KeyboardEvent;
        if (key.key === 'Escape' && !key.isComposing && !key.defaultPrevented) {
          key.preventDefault();
          this.#dismiss();
        }
      });
    }

    show(view: PromptView, handlers: PromptHandlers, strings: PromptStrings, returnFocus: HTMLElement | null): void {
      this.#view = view;
      this.#handlers = handlers;
      this.#strings = strings;
      this.#returnFocus = returnFocus;
      this.#busy = false;
      this.#closed = false;
      this.dataset.attuneQuestion = view.id;
      this.#render(view, strings);
      this.hidden = false;
      this.#shadow.querySelector<HTMLElement>('input, button:not(:disabled)')?.focus();
    }

    #render(view: PromptView, strings: PromptStrings): void {
      const section = el('section', { role: 'region', 'aria-labelledby': QUESTION_ID, lang: view.language });
      const form = el('form', { novalidate: '' });

      let controls: Controls;
      if (view.kind === 'text') {
        controls = textControls(view, strings);
        form.append(el('label', { id: QUESTION_ID, class: 'question', for: 'attune-answer' }, view.text), ...controls.nodes);
      } else {
        controls = view.kind === 'scale' ? scaleControls(view, strings) : choiceControls(view, strings);
        const fieldset = el('fieldset');
        fieldset.append(el('legend', { id: QUESTION_ID }, view.text), ...controls.nodes);
        form.append(fieldset);
      }

      // Empty until an answer fails; role=alert announces the text when it is set.
      const error = el('p', { class: 'error', role: 'alert' });

      const why = el('div', { class: 'why', id: 'attune-why', hidden: '' });
      const facts = el('dl');
      facts.append(el('dt', {}, strings.usedFor), el('dd', {}, view.usedFor), el('dt', {}, strings.purpose), el('dd', {}, view.purposeLabel));
      why.append(
        el('p', {}, view.why),
        facts,
        el('p', { class: 'retention' }, view.retentionDays === 1 ? strings.retentionOne : fill(strings.retention, view.retentionDays)),
      );
      const whyButton = el(
        'button',
        { type: 'button', class: 'link', 'data-attune-action': 'why', 'aria-expanded': 'false', 'aria-controls': why.id },
        strings.whyAsk,
      );
      whyButton.addEventListener('click', () => {
        const open = why.hidden;
        why.hidden = !open;
        whyButton.setAttribute('aria-expanded', String(open));
      });

      const actions = el('div', { class: 'actions' });
      const skip = el('button', { type: 'button', 'data-attune-action': 'skip' }, strings.skip);
      skip.addEventListener('click', () => this.#dismiss());
      const save = el('button', { type: 'submit', class: 'primary', 'data-attune-action': 'answer' }, strings.save);
      save.disabled = true;
      actions.append(skip, save);

      const sync = () => {
        save.disabled = controls.read() === undefined;
      };
      form.addEventListener('input', sync);
      form.addEventListener('change', sync);
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        const value = controls.read();
        if (value !== undefined) void this.#answer(value, save, error);
      });

      form.append(error, whyButton, why, actions);

      // Last in the tree (so the answer comes first in the tab order), shown in the corner.
      const close = el('button', { type: 'button', class: 'close', 'data-attune-action': 'close', 'aria-label': strings.close }, '×');
      close.addEventListener('click', () => this.#dismiss());

      section.append(form, close);
      this.#shadow.replaceChildren(section);
    }

    async #answer(value: AnswerValue, save: HTMLButtonElement, error: HTMLElement): Promise<void> {
      const view = this.#view;
      const handlers = this.#handlers;
      if (!view || !handlers || this.#busy || this.#closed) return;
      // aria-disabled rather than disabled: a disabled button would drop the focus it holds.
      this.#busy = true;
      save.setAttribute('aria-disabled', 'true');
      error.textContent = '';
      try {
        await handlers.answer(value);
      } catch (e) {
        error.textContent = (e instanceof Error && e.message) || this.#strings.error;
        return;
      } finally {
        this.#busy = false;
        save.removeAttribute('aria-disabled');
      }
      this.#finish('attune-prompt-answered', { id: view.id, value });
    }

    #dismiss(): void {
      const view = this.#view;
      const handlers = this.#handlers;
      if (!view || !handlers || this.#busy || this.#closed) return;
      try {
        handlers.dismiss();
      } finally {
        // A dismissal always closes the card, even if the handler throws.
        this.#finish('attune-prompt-dismissed', { id: view.id });
      }
    }

    #finish(type: string, detail: { id: string; value?: AnswerValue }): void {
      this.#closed = true;
      const target = this.#returnFocus;
      this.#returnFocus = null;
      // Back where the visitor was, before the event, so a listener showing the next question
      // sees (and later returns to) that element. Not if focus is elsewhere on the page already;
      // but on <body> it counts as lost (Safari does not focus a clicked button).
      const active = document.activeElement;
      const lost = active === null || active === document.body || this.matches(':focus-within');
      if (lost && target?.isConnected) target.focus();
      // Dispatched while still connected, so it bubbles to the document.
      this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
      this.remove();
    }
  }

  customElements.define(PROMPT_TAG, AttunePrompt);
}

/**
 * Shows a question: defines `<attune-prompt>` if needed, appends one to `host` (on `document.body`
 * it floats in a corner; anywhere else it sits inline) and moves focus into it. Returns the
 * element, which removes itself once the visitor answered or dismissed.
 *
 * ```ts
 * const view = attune.prompts.next()?.prompt;
 * if (view && attune.prompts.shown(view.id)) {
 *   renderPrompt(document.querySelector('#ask')!, view, {
 *     answer: (value) => {
 *       if (!attune.prompts.answer(view.id, value)) throw new Error('Could not save your answer.');
 *     },
 *     dismiss: () => attune.prompts.dismiss(view.id),
 *   });
 * }
 * ```
 *
 * (`attune.prompts.mount(element)` does all of this for you.)
 */
export function renderPrompt(host: Element, view: PromptView, handlers: PromptHandlers, options: PromptOptions = {}): HTMLElement {
  if (typeof customElements === 'undefined') {
    throw new AttuneError('renderPrompt needs a browser document (customElements is missing)', 'no_dom');
  }
  if (!KINDS.includes(view.kind)) {
    throw new AttuneError(`unknown question kind "${String(view.kind)}"`, 'invalid_prompt', 'kind');
  }
  definePrompt();
  const returnFocus = deepActiveElement();
  const prompt = document.createElement(PROMPT_TAG) as PromptElement;
  prompt.dataset.attunePlacement = host === document.body ? 'floating' : 'inline';
  host.append(prompt);
  const strings = { ...PROMPT_STRINGS };
  for (const [key, text] of Object.entries(options.strings ?? {})) {
    if (key in strings && typeof text === 'string') strings[key as keyof PromptStrings] = text;
  }
  prompt.show(view, handlers, strings, returnFocus);
  return prompt;
}
