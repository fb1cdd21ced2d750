// Styles of the default UI, applied inside shadow roots through constructable stylesheets (no
// inline <style>, so a strict style-src CSP holds). Themable with CSS custom properties.
export const bannerCss = `
:host {
  --_bg: var(--attune-bg, #ffffff);
  --_fg: var(--attune-fg, #1d2433);
  --_muted: var(--attune-muted, #586174);
  --_accent: var(--attune-accent, #2146d0);
  --_accent-fg: var(--attune-accent-fg, #ffffff);
  --_radius: var(--attune-radius, 12px);
  position: fixed; inset: auto 16px 16px 16px; z-index: var(--attune-z, 2147483000);
  display: flex; justify-content: center; pointer-events: none;
  font: 15px/1.45 var(--attune-font, system-ui, -apple-system, "Segoe UI", sans-serif);
}
:host([hidden]) { display: none; }
section {
  pointer-events: auto; box-sizing: border-box; width: min(680px, 100%); max-height: calc(100vh - 32px); overflow: auto;
  background: var(--_bg); color: var(--_fg); border-radius: var(--_radius); padding: 20px 22px;
  box-shadow: var(--attune-shadow, 0 10px 40px rgba(15, 23, 42, .25)); border: 1px solid rgba(15, 23, 42, .08);
}
h2 { margin: 0 0 6px; font-size: 1.1em; }
p { margin: 0 0 12px; color: var(--_muted); }
ul { list-style: none; margin: 0 0 14px; padding: 0; display: grid; gap: 8px; }
li label { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; align-items: start; cursor: pointer; }
li input { margin: 3px 0 0; width: 18px; height: 18px; accent-color: var(--_accent); }
li input:disabled + span { cursor: default; }
.name { font-weight: 600; }
.desc, .note { grid-column: 2; color: var(--_muted); font-size: .9em; }
.note { font-style: italic; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; justify-content: flex-end; }
button {
  font: inherit; border-radius: calc(var(--_radius) / 1.5); padding: 8px 16px; cursor: pointer;
  border: 1px solid var(--_accent); background: transparent; color: var(--_accent);
}
button.primary { background: var(--_accent); color: var(--_accent-fg); }
button:focus-visible, input:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
@media (prefers-reduced-motion: no-preference) { section { animation: attune-in .18s ease-out; } }
@keyframes attune-in { from { transform: translateY(12px); opacity: 0; } }
`;
