// Styles of <attune-prompt>, applied inside its shadow root through a constructable stylesheet
// (no inline <style>, so a strict style-src CSP holds). Themable with CSS custom properties; each
// --attune-prompt-* falls back to the banner's --attune-* so one theme can cover both.
export const promptCss = `
:host {
  --_bg: var(--attune-prompt-bg, var(--attune-bg, #ffffff));
  --_fg: var(--attune-prompt-fg, var(--attune-fg, #1d2433));
  --_muted: var(--attune-prompt-muted, var(--attune-muted, #586174));
  --_accent: var(--attune-prompt-accent, var(--attune-accent, #2146d0));
  --_accent-fg: var(--attune-prompt-accent-fg, var(--attune-accent-fg, #ffffff));
  --_error: var(--attune-prompt-error, #b3261e);
  --_radius: var(--attune-prompt-radius, var(--attune-radius, 12px));
  display: block;
  font: 15px/1.45 var(--attune-font, system-ui, -apple-system, "Segoe UI", sans-serif);
}
:host([hidden]) { display: none; }
/* Appended to <body>: a floating card in a corner that leaves the rest of the page usable. */
:host([data-attune-placement="floating"]) {
  position: fixed; inset: auto 16px 16px auto; z-index: var(--attune-prompt-z, var(--attune-z, 2147483000));
  width: min(420px, calc(100vw - 32px));
}
section {
  position: relative; box-sizing: border-box; width: 100%;
  background: var(--_bg); color: var(--_fg); border-radius: var(--_radius); padding: 18px 20px;
  border: 1px solid rgba(15, 23, 42, .12);
}
:host([data-attune-placement="floating"]) section {
  max-height: calc(100vh - 32px); overflow: auto;
  box-shadow: var(--attune-prompt-shadow, var(--attune-shadow, 0 10px 40px rgba(15, 23, 42, .25)));
}
form { margin: 0; }
fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
legend, .question { display: block; padding: 0 2.2em 0 0; margin: 0 0 10px; font-weight: 600; font-size: 1.05em; }
.choices { display: grid; gap: 6px; }
.choices label { display: flex; gap: 10px; align-items: flex-start; cursor: pointer; }
.choices input { margin: 3px 0 0; width: 18px; height: 18px; flex: none; accent-color: var(--_accent); }
.scale { display: flex; flex-wrap: wrap; gap: 6px; }
.scale label { flex-direction: column; align-items: center; gap: 2px; min-width: 2.5em; text-align: center; }
.scale input { margin: 0; }
.end { color: var(--_muted); font-size: .85em; }
.range { display: flex; flex-wrap: wrap; align-items: center; gap: 4px 10px; }
.range input { flex: 1 1 10em; accent-color: var(--_accent); }
.range output { min-width: 3ch; font-weight: 600; text-align: end; }
.range .ends { flex-basis: 100%; display: flex; justify-content: space-between; }
input[type="text"] {
  box-sizing: border-box; width: 100%; font: inherit; color: var(--_fg); background: var(--_bg);
  border: 1px solid var(--_muted); border-radius: calc(var(--_radius) / 2); padding: 7px 10px;
}
.counter { margin: 4px 0 0; color: var(--_muted); font-size: .85em; text-align: end; }
.error { margin: 10px 0 0; color: var(--_error); font-weight: 600; }
.error:empty { margin: 0; }
button {
  font: inherit; border-radius: calc(var(--_radius) / 1.5); padding: 7px 16px; cursor: pointer;
  border: 1px solid var(--_accent); background: transparent; color: var(--_accent);
}
button.primary { background: var(--_accent); color: var(--_accent-fg); }
button:disabled, button[aria-disabled="true"] { opacity: .55; cursor: not-allowed; }
button.link {
  border: 0; padding: 2px 0; margin: 12px 0 0; border-radius: 2px; text-decoration: underline; text-underline-offset: 2px;
}
button.close {
  position: absolute; top: 10px; inset-inline-end: 10px; padding: 0; width: 2em; height: 2em; line-height: 1;
  border-color: transparent; color: var(--_muted); font-size: 1.1em;
}
.why { margin: 6px 0 0; padding: 10px 12px; border-inline-start: 3px solid var(--_accent); color: var(--_fg); font-size: .92em; }
.why[hidden] { display: none; }
.why p { margin: 0 0 6px; }
.why dl { margin: 0 0 6px; display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; }
.why dt { font-weight: 600; }
.why dd { margin: 0; }
.retention { color: var(--_muted); }
.actions { display: flex; flex-wrap: wrap; gap: 8px; justify-content: flex-end; margin-top: 14px; }
button:focus-visible, input:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
@media (forced-colors: active) { section { border-color: CanvasText; } }
@media (prefers-reduced-motion: no-preference) { section { animation: attune-prompt-in .18s ease-out; } }
@keyframes attune-prompt-in { from { transform: translateY(8px); opacity: 0; } }
`;
