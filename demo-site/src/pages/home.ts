import { markReady, showPrompt, startAttune, trackPageView, type AttuneInstance } from '../attune';
import { categories, products } from '../catalogue';
import { byId, clear, h } from '../dom';
import { suggestions, watchPersonalizationConsent } from '../interests';
import { productCard } from '../ui';

const attune = await startAttune();
trackPageView(attune);
watchPersonalizationConsent(attune);

// --- catalogue with category filter -------------------------------------------------
const grid = byId<HTMLUListElement>('product-grid');
const filters = byId('filters');
let active = 'all';

function renderGrid(): void {
  clear(grid);
  for (const product of products) {
    if (active === 'all' || product.category === active) grid.appendChild(productCard(product));
  }
  for (const button of filters.querySelectorAll<HTMLButtonElement>('button')) {
    button.setAttribute('aria-pressed', String(button.dataset.category === active));
  }
}

for (const category of ['all', ...categories]) {
  const button = h('button', { type: 'button', class: 'filter', 'data-category': category }, category);
  button.addEventListener('click', () => {
    active = category;
    renderGrid();
    attune.track('catalogue_filter', { category }, 'analytics');
  });
  filters.appendChild(button);
}
renderGrid();

// --- "for you" row: personalized only with consent, computed on this device ----------
function renderForYou(instance: AttuneInstance): void {
  const { personalized, items } = suggestions(instance, 4);
  byId('for-you-title').textContent = personalized ? 'Picked for you' : 'Popular right now';
  byId('for-you-note').textContent = personalized
    ? 'Based on the categories you looked at. This profile stays in your browser.'
    : 'Turn on Personalization in the privacy settings to get suggestions based on what you browse.';
  const list = byId('for-you-list');
  clear(list);
  items.forEach((product, slot) => {
    list.appendChild(
      productCard(product, {
        className: 'recommendation',
        onOpen: () => {
          if (personalized) {
            attune.track('recommendation_click', { productId: product.id, from: 'home', slot }, 'personalization');
          }
        },
      }),
    );
  });
}
renderForYou(attune);
if (attune.ready) attune.consent.onChange(() => renderForYou(attune));

showPrompt(attune);
markReady(attune);
