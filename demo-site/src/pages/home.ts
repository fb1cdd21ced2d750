import { isGranted, markReady, showPrompt, startAttune, trackPageView } from '../attune';
import { categories, products } from '../catalogue';
import { byId, clear, h } from '../dom';
import { mountRail } from '../recommendations';
import { productCard } from '../ui';

const attune = await startAttune();
trackPageView(attune);

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

// --- "Recommended for you" / "Popular right now": ranked on this device by the SDK ---------
mountRail(attune, byId('for-you-rail'), 'home', { slot: 'home', k: 4 });
const note = byId('for-you-note');
const renderNote = () => {
  note.textContent =
    attune.ready && isGranted(attune.consent.get(), 'personalization')
      ? 'Picked in your browser from what you look at here; press “Why?” to see the reasons. What you browse stays on this device; only a click on a suggestion is counted (which product, and where it was shown).'
      : 'Turn on Personalization in the privacy settings to get suggestions based on what you browse.';
};
renderNote();
attune.consent.onChange(renderNote);

showPrompt(attune);
markReady(attune);
