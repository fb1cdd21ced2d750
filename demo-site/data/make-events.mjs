// Writes data/events.csv: a small, synthetic, deterministic browsing log for the demo shop, the
// kind of aggregate a site would export from its consented analytics. `attune-tools neighbours`
// turns it into public/attune-neighbours.json (see docs/recommendations.md).
//
// Each visitor leans to one category (picked by popularity) and browses 2 to 7 products: mostly
// that category, sometimes a product sharing a tag with the last one (the stove and the skillet
// share "cooking"), now and then anything popular; some views end in the cart.
//
//   node data/make-events.mjs        (from demo-site/)
import { readFileSync, writeFileSync } from 'node:fs';

const products = JSON.parse(readFileSync(new URL('../src/catalogue.json', import.meta.url), 'utf8'));

// mulberry32: the same file on every run.
let seed = 20261201;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (list) => {
  let r = random() * list.reduce((sum, p) => sum + p.popularity, 0);
  return list.find((p) => (r -= p.popularity) < 0) ?? list[list.length - 1];
};

const rows = ['user,item,timestamp,event'];
let clock = Date.UTC(2026, 10, 1);
for (let user = 1; user <= 400; user++) {
  const home = pick(products).category;
  let current = pick(products.filter((p) => p.category === home));
  const length = 2 + Math.floor(random() * 6);
  for (let step = 0; step < length; step++) {
    clock += 20_000 + Math.floor(random() * 90_000);
    rows.push(`u${user},${current.id},${clock},${random() < 0.15 ? 'cart' : 'view'}`);
    const r = random();
    const others = products.filter((p) => p.id !== current.id);
    const sameCategory = others.filter((p) => p.category === current.category);
    const sharesTag = others.filter((p) => p.tags.some((t) => current.tags.includes(t)));
    const pool = r < 0.55 && sameCategory.length ? sameCategory : r < 0.85 && sharesTag.length ? sharesTag : others;
    current = pick(pool);
  }
  clock += 3_600_000;
}
writeFileSync(new URL('events.csv', import.meta.url), rows.join('\n') + '\n');
console.log(`data/events.csv: ${rows.length - 1} events of 400 visitors`);
