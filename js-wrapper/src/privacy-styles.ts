// Styles of <attune-privacy-center>, adopted inside its shadow root (no inline <style> and no
// style attributes, so a strict style-src CSP holds). Themable with --attune-privacy-* custom
// properties, each falling back to the banner's --attune-* so one theme covers every component
// (but the background: the centre sits in the page, transparent unless --attune-privacy-bg is set).
// Nothing is wider than the host, down to a 320px screen: every grid column can shrink to 0, long
// words wrap, and only <pre> and the manifest table scroll, inside themselves.
// Nothing moves: no transitions or animations, whatever prefers-reduced-motion says.
export const privacyCss = `
:host {
  --_fg: var(--attune-privacy-fg, var(--attune-fg, inherit));
  --_bg: var(--attune-privacy-bg, transparent);
  --_muted: var(--attune-privacy-muted, var(--attune-muted, #586174));
  --_accent: var(--attune-privacy-accent, var(--attune-accent, #2146d0));
  --_accent-fg: var(--attune-privacy-accent-fg, var(--attune-accent-fg, #ffffff));
  --_border: var(--attune-privacy-border, var(--attune-border, rgba(127, 127, 127, .35)));
  --_radius: var(--attune-privacy-radius, var(--attune-radius, 12px));
  --_danger: var(--attune-privacy-danger, var(--attune-danger, #b42318));
  --_gap: var(--attune-privacy-gap, 24px);
  display: block; color: var(--_fg); background: var(--_bg);
  font-family: var(--attune-privacy-font, var(--attune-font, inherit)); line-height: 1.5;
}
:host([hidden]) { display: none; }
.center { display: grid; grid-template-columns: minmax(0, 1fr); gap: var(--_gap); overflow-wrap: break-word; }
.center > .intro, .center > .note { padding-inline: calc(var(--_gap) * .75); }
.center > .intro { padding-block-start: 4px; }
.intro, .note, .empty, .meta, .desc { color: var(--_muted); }
p { margin: 0 0 8px; }
section { min-inline-size: 0; border: 1px solid var(--_border); border-radius: var(--_radius); padding: calc(var(--_gap) * .75); }
h2 { margin: 0 0 8px; font-size: 1.3em; }
h3 { margin: 16px 0 6px; font-size: 1.05em; }
li h3 { margin: 0 0 4px; }
ul, ol { margin: 0 0 8px; padding: 0; list-style: none; display: grid; grid-template-columns: minmax(0, 1fr); gap: 10px; }
li.entry { padding: 10px 12px; border: 1px solid var(--_border); border-radius: calc(var(--_radius) / 1.5); }
ul.plain, ol.plain { display: block; padding-inline-start: 1.2em; list-style: disc; }
ol.plain { list-style: decimal; }
ul.plain li, ol.plain li { margin: 2px 0; }
.row { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; }
.row label, .name { font-weight: 600; }
.state { font-weight: 600; }
.state[data-state="granted"] { color: var(--_accent); }
dl { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr); gap: 2px 12px; margin: 6px 0; }
dt { color: var(--_muted); }
dd { margin: 0; }
.warning, .error { color: var(--_danger); font-weight: 600; }
.ok { font-weight: 600; }
meter { inline-size: 8em; block-size: .9em; vertical-align: middle; }
details { margin-top: 6px; }
summary { cursor: pointer; color: var(--_accent); inline-size: fit-content; }
pre {
  margin: 6px 0 0; padding: 8px 10px; max-block-size: 24em; overflow: auto; white-space: pre;
  font-size: .85em; border: 1px solid var(--_border); border-radius: calc(var(--_radius) / 2);
}
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; inline-size: 100%; font-size: .92em; }
caption { text-align: start; color: var(--_muted); margin-bottom: 4px; }
th, td { text-align: start; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--_border); }
code { font-family: ui-monospace, monospace, monospace; font-size: .92em; overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; }
.control { margin: 0 0 16px; }
button {
  font: inherit; border-radius: calc(var(--_radius) / 1.5); padding: 6px 14px; cursor: pointer;
  border: 1px solid var(--_accent); background: transparent; color: var(--_accent);
}
button.primary { background: var(--_accent); color: var(--_accent-fg); }
button.danger { border-color: var(--_danger); color: var(--_danger); }
button.danger.primary { background: var(--_danger); color: var(--_accent-fg); }
button:disabled, button[aria-disabled="true"] { cursor: not-allowed; opacity: .55; }
.confirm { margin-top: 8px; padding: 10px 12px; border: 2px solid var(--_danger); border-radius: calc(var(--_radius) / 1.5); }
.confirm h4 { margin: 0 0 6px; font-size: 1em; }
.result { margin-top: 8px; padding: 10px 12px; border: 1px solid var(--_accent); border-radius: calc(var(--_radius) / 1.5); }
input[role="switch"] {
  appearance: none; -webkit-appearance: none; margin: 0; flex: none; cursor: pointer; position: relative;
  inline-size: 2.6em; block-size: 1.5em; border-radius: 1em; border: 2px solid var(--_muted); background: transparent;
}
input[role="switch"]::before {
  content: ""; position: absolute; inset-block-start: 2px; inset-inline-start: 2px;
  inline-size: calc(1.5em - 8px); block-size: calc(1.5em - 8px); border-radius: 50%; background: var(--_muted);
}
input[role="switch"]:checked { background: var(--_accent); border-color: var(--_accent); }
input[role="switch"]:checked::before { inset-inline-start: auto; inset-inline-end: 2px; background: var(--_accent-fg); }
input[role="switch"]:disabled { cursor: default; opacity: .7; }
button:focus-visible, input:focus-visible, summary:focus-visible, [tabindex="-1"]:focus-visible {
  outline: 3px solid var(--_accent); outline-offset: 2px;
}
h2:focus, h3:focus, .result:focus { outline: none; }
h2:focus-visible, h3:focus-visible { outline: 3px solid var(--_accent); outline-offset: 2px; }
.status {
  position: sticky; inset-block-end: 0; margin: 0; padding: 8px 12px;
  background: var(--attune-privacy-bg, var(--attune-bg, Canvas)); color: var(--attune-privacy-fg, var(--attune-fg, CanvasText));
  border: 1px solid var(--_accent); border-radius: calc(var(--_radius) / 1.5);
}
.status:empty { padding: 0; border: 0; }
.status.error { border-color: var(--_danger); }
@media (forced-colors: active) {
  section, li.entry, .confirm, .result, .status { border-color: CanvasText; }
  input[role="switch"] { border-color: ButtonText; }
  input[role="switch"]::before { background: ButtonText; }
  input[role="switch"]:checked { background: Highlight; border-color: Highlight; }
  input[role="switch"]:checked::before { background: HighlightText; }
}
`;
