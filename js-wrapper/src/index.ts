// @attune/sdk — importing this module has no side effects and is safe under Node/SSR: nothing
// touches `window`, `document` or the wasm until `Attune.init` is called.
export { Attune, Consent } from './attune.js';
export type { AttuneOptions, ConsentSource } from './attune.js';
export { AttuneError } from './errors.js';
export { Prompts } from './prompts.js';
export type { MountedPrompt, PromptContext } from './prompts.js';
export { PROMPT_STRINGS, PROMPT_TAG, renderPrompt } from './prompt.js';
export type { AnswerValue, PromptHandlers, PromptOptions, PromptStrings } from './prompt.js';
export { Recommendations } from './recommend.js';
export type {
  Reason,
  Recommendation,
  RecommendationSignals,
  RecommendationSlot,
  RecommendOptions,
  RecommendSource,
  SignalKind,
} from './recommend.js';
export { mountRecommendations, reasonText, RECS_STRINGS, RECS_TAG } from './recommend-ui.js';
export type { RecommendationClick, RecommendationsElement, RecommendationsOptions, RecsStrings } from './recommend-ui.js';
export { Privacy } from './privacy.js';
export type {
  ErasureReceipt,
  ExportDocument,
  PrivacyAnswer,
  PrivacyApi,
  PrivacyInterest,
  PrivacyItem,
  PrivacyView,
} from './privacy-types.js';
export {
  egressText,
  historyText,
  mountPrivacyCenter,
  PRIVACY_STRINGS,
  PRIVACY_TAG,
  purposeHowText,
  purposeLabel,
  purposeStateText,
} from './privacy-ui.js';
export type { PrivacyCenterElement, PrivacyCenterOptions, PrivacyOwner, PrivacyStrings } from './privacy-ui.js';
export { previewPrompts, simulatePrompts } from './simulate.js';
export type { PromptScenario, Simulation } from './simulate.js';
export { BUILT_IN_PURPOSES, validatePrompts } from './validate.js';
export type { PromptConfigIssue, ValidatePromptsOptions } from './validate.js';
export type { Gtag } from './gcm.js';
export type { WasmSource } from './wasm.js';
export type * from './generated/index.js';
