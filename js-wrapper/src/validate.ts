// Checks a marketer's prompt config with the very reader the SDK runs (for `attune validate` and
// config editors). Loads the wasm; needs no Attune instance.
import type { FieldIssue } from './generated/index.js';
import { loadWasm, type WasmSource } from './wasm.js';

/** One problem in a prompt config: where (`questions[0].options[1].tags`) and what. */
export type PromptConfigIssue = FieldIssue;

export interface ValidatePromptsOptions {
  /** The site's purposes (ids); default: the built-in ones. */
  purposes?: string[];
  wasm?: WasmSource;
}

/** The built-in purposes, declared by every site. */
export const BUILT_IN_PURPOSES: readonly string[] = ['necessary', 'analytics', 'personalization', 'marketing'];

/**
 * Every problem in a prompt config, each with its path; an empty array when it is valid.
 * `config` is the parsed config, or its JSON text (syntax errors then give a line and column);
 * a value with no JSON form (a cycle, a BigInt) rejects with the `TypeError` of `JSON.stringify`.
 *
 * ```ts
 * const issues = await validatePrompts(config, { purposes: ['necessary', 'personalization', 'support_chat'] });
 * for (const { path, message } of issues) console.error(`${path}: ${message}`);
 * ```
 */
export async function validatePrompts(
  config: unknown,
  options: ValidatePromptsOptions = {},
): Promise<PromptConfigIssue[]> {
  const json = typeof config === 'string' ? config : (JSON.stringify(config) ?? 'null');
  const glue = await loadWasm(options.wasm);
  return glue.validatePrompts(json, [...(options.purposes ?? BUILT_IN_PURPOSES)]) as PromptConfigIssue[];
}
