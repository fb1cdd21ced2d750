// DOM helpers shared by the SDK's components. Only createElement/textContent: no HTML parsing.

/** An element with attributes and (optional) text, set with `textContent`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const sheets = new Map<string, CSSStyleSheet>();

/** One constructable stylesheet per CSS text, made on first use (adoptable under `style-src 'self'`). */
export function styleSheet(css: string): CSSStyleSheet {
  let sheet = sheets.get(css);
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    sheets.set(css, sheet);
  }
  return sheet;
}
