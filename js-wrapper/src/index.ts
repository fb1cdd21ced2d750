// @attune/sdk — importing this module has no side effects and is safe under Node/SSR: nothing
// touches `window`, `document` or the wasm until `Attune.init` is called.
export { Attune, Consent } from './attune.js';
export type { AttuneOptions, ConsentSource } from './attune.js';
export { AttuneError } from './errors.js';
export type { Gtag } from './gcm.js';
export type { WasmSource } from './wasm.js';
export type * from './generated/index.js';
