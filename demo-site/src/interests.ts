// On-device personalization: the shop counts which categories the visitor looks at, in
// localStorage, ONLY while the `personalization` purpose is granted. Withdrawing or
// denying it erases the profile at once.
import { products, type Product } from './catalogue';
import { isGranted, type AttuneInstance } from './attune';

const KEY = 'demo-shop:interests';

type Profile = Record<string, number>;

function read(): Profile {
  try {
    const raw = localStorage.getItem(KEY);
    const value: unknown = raw ? JSON.parse(raw) : {};
    return value && typeof value === 'object' ? (value as Profile) : {};
  } catch {
    return {};
  }
}

export function watchPersonalizationConsent(attune: AttuneInstance): void {
  if (!attune.ready) return;
  const forgetIfNotAllowed = () => {
    if (!isGranted(attune.consent.get(), 'personalization')) localStorage.removeItem(KEY);
  };
  forgetIfNotAllowed();
  attune.consent.onChange(forgetIfNotAllowed);
}

/** The visitor looked at `product`: remember it locally (if allowed) and report the interest. */
export function noteInterest(attune: AttuneInstance, product: Product): void {
  // The SDK holds this event in its memory-only pre-consent buffer until the visitor
  // decides, and drops it if personalization is denied.
  attune.track(
    'product_interest',
    { productId: product.id, category: product.category },
    'personalization',
  );
  if (!attune.ready || !isGranted(attune.consent.get(), 'personalization')) return;
  const profile = read();
  profile[product.category] = (profile[product.category] ?? 0) + 1;
  localStorage.setItem(KEY, JSON.stringify(profile));
}

/**
 * Suggestions for the visitor. With personalization granted and some history: products
 * from their favourite categories; otherwise a fixed "popular" list, the same for everyone.
 */
export function suggestions(
  attune: AttuneInstance,
  count: number,
  exclude: string[] = [],
): { personalized: boolean; items: Product[] } {
  const pool = products.filter((p) => !exclude.includes(p.id));
  const profile = attune.ready && isGranted(attune.consent.get(), 'personalization') ? read() : {};
  const ranked = Object.entries(profile).sort((a, b) => b[1] - a[1]);
  if (ranked.length === 0) {
    return { personalized: false, items: ['p07', 'p01', 'p04', 'p12'].flatMap((id) => pool.filter((p) => p.id === id)).slice(0, count) };
  }
  const rank = new Map(ranked.map(([category], i) => [category, i]));
  const items = [...pool]
    .sort((a, b) => (rank.get(a.category) ?? 99) - (rank.get(b.category) ?? 99) || a.price - b.price)
    .slice(0, count);
  return { personalized: true, items };
}
