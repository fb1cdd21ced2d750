// "Simulate a visitor" for config editors: the very scheduler the browser runs, fed a described
// visitor instead of a real one. Loads the wasm; needs no Attune instance and stores nothing.
import type { FieldIssue, NextPrompt, PromptView, SiteConfig } from './generated/index.js';
import { loadWasm, type WasmSource } from './wasm.js';

/** A described visitor; every field is optional (see docs/profiling.md, "Simulating a visitor"). */
export interface PromptScenario {
  /** Purposes the visitor granted. */
  granted?: string[];
  path?: string;
  /** Page views in this session. */
  pageViews?: number;
  secondsOnSite?: number;
  /** Session number (1 = first visit). */
  session?: number;
  events?: { name: string; props?: Record<string, unknown>; count?: number }[];
  /** Earlier answers: question id → answer. */
  answers?: Record<string, string | string[] | number | boolean>;
  /** Earlier dismissals: `times` dismissals, the last `hoursAgo` hours ago. */
  dismissed?: { question: string; times?: number; hoursAgo?: number }[];
  shownThisSession?: number;
  minutesSinceLastPrompt?: number;
  interests?: Record<string, number>;
  languages?: string[];
}

export interface Simulation {
  /** Problems in the prompt config (`questions[0].text`…), the site config (`site.…`) or the scenario (`scenario.…`). */
  issues: FieldIssue[];
  /** The scheduler's decision and trace, when there are no issues. */
  result: NextPrompt | null;
}

export async function simulatePrompts(
  prompts: unknown,
  scenario: PromptScenario,
  options: { siteConfig?: SiteConfig; now?: Date; wasm?: WasmSource } = {},
): Promise<Simulation> {
  const glue = await loadWasm(options.wasm);
  const now = (options.now ?? new Date()).getTime();
  return glue.simulatePrompts(
    JSON.stringify(prompts),
    JSON.stringify(options.siteConfig ?? {}),
    JSON.stringify(scenario),
    now,
  ) as Simulation;
}

/**
 * Every question as visitors whose language is `language` see it (texts missing in it fall back
 * to the config's `defaultLanguage`), or the config's issues.
 */
export async function previewPrompts(
  prompts: unknown,
  language: string,
  options: { siteConfig?: SiteConfig; wasm?: WasmSource } = {},
): Promise<{ issues: FieldIssue[]; result: PromptView[] | null }> {
  const glue = await loadWasm(options.wasm);
  return glue.previewPrompts(JSON.stringify(prompts), JSON.stringify(options.siteConfig ?? {}), language) as {
    issues: FieldIssue[];
    result: PromptView[] | null;
  };
}
