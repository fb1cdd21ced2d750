// Loads the wasm module once. The glue is imported lazily, so importing @attune/sdk itself
// touches no global and is safe under Node/SSR.
import type * as Glue from '../wasm/attune_wasm.js';
import { AttuneError } from './errors.js';

export type WasmSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;
export type WasmModule = typeof Glue;

let loading: Promise<WasmModule> | undefined;

export function loadWasm(source?: WasmSource): Promise<WasmModule> {
  loading ??= (async () => {
    const glue = await import('../wasm/attune_wasm.js');
    // Without `source`, the glue resolves `attune_wasm_bg.wasm` beside itself (new URL(…, import.meta.url)),
    // which bundlers such as Vite turn into an emitted asset.
    await glue.default(source === undefined ? undefined : { module_or_path: source });
    glue.setErrorClass(AttuneError);
    return glue;
  })();
  // A failed load may be retried (e.g. with another source) instead of staying failed forever.
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
