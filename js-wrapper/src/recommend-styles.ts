// Styles of <attune-recommendations>, adopted inside its shadow root (no inline <style>, so a
// strict style-src CSP holds). Themable with --attune-recs-* custom properties, each falling back
// to the banner's --attune-* so one theme can cover every component. Fonts are the page's.
export const recsCss = `
:host {
  --_fg: var(--attune-recs-fg, inherit);
  --_muted: var(--attune-recs-muted, var(--attune-muted, #586174));
  --_accent: var(--attune-recs-accent, var(--attune-accent, #2146d0));
  --_card: var(--attune-recs-card-bg, var(--attune-bg, #ffffff));
  --_radius: var(--attune-recs-radius, var(--attune-radius, 12px));
  display: block; color: var(--_fg); font-family: var(--attune-recs-font, inherit);
}
:host([hidden]) { display: none; }
h2 { margin: 0 0 12px; font-size: var(--attune-recs-heading-size, 1.3em); }
ul[role="list"] {
  list-style: none; margin: 0; padding: 0; display: grid; gap: var(--attune-recs-gap, 16px);
  grid-template-columns: repeat(auto-fill, minmax(var(--attune-recs-item-width, 170px), 1fr));
}
li[data-attune-item] {
  display: flex; flex-direction: column; align-items: flex-start; padding: 10px;
  background: var(--_card); border: 1px solid var(--attune-recs-border, rgba(15, 23, 42, .12)); border-radius: var(--_radius);
}
a { color: inherit; text-decoration: none; align-self: stretch; }
a:hover .title { text-decoration: underline; }
img { display: block; width: 100%; aspect-ratio: 4 / 3; object-fit: cover; border-radius: calc(var(--_radius) / 1.5); }
.title { display: block; margin-top: 8px; font-weight: 600; }
button {
  font: inherit; font-size: .9em; color: var(--_accent); background: none; cursor: pointer;
  border: 0; border-radius: 2px; padding: 2px 0; margin-top: 6px; text-align: start;
  text-decoration: underline; text-underline-offset: 2px;
}
.why { margin-top: 6px; padding: 6px 10px; border-inline-start: 3px solid var(--_accent); font-size: .9em; color: var(--_muted); }
.empty { color: var(--_muted); margin: 0; }
.why[hidden] { display: none; }
.why ul { margin: 0; padding-inline-start: 1.1em; }
.controls { display: flex; flex-direction: column; align-items: flex-start; }
a:focus-visible, button:focus-visible, h2:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
.status { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
@media (forced-colors: active) { li[data-attune-item] { border-color: CanvasText; } }
`;
