// Startup benchmark: the shell plus `Attune.init` (wasm load, config and prompt-config validation,
// consent-state load, banner). tests/bench/startup.mjs measures navigation -> ready.
import { Attune, type SiteConfig } from '@attune/sdk';
import configJson from '../attune-config.json';
import promptsJson from '../attune-prompts.json';
import type {} from '../attune'; // window.attune typing

performance.mark('attune-script-start');
const attune = await Attune.init({
  siteId: 'demo-shop',
  endpoint: '/v1/batch',
  config: configJson as SiteConfig, // JSON imports widen string literals; the SDK validates at runtime
  prompts: promptsJson, // the shop's questions: config read, profile loaded, page view counted
  onWarning: (e) => console.warn('[attune]', e.code, e.message),
});
performance.mark('attune-ready');
window.attune = attune;
document.documentElement.dataset.attuneReady = 'true';
document.documentElement.dataset.attuneOk = String(attune.ready);
