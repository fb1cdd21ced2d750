import { markReady, showPrompt, startAttune, trackPageView } from '../attune';
import { addToCart } from '../cart';
import { findProduct, formatPrice, products } from '../catalogue';
import { byId, clear, h } from '../dom';
import { noteInterest, watchPersonalizationConsent } from '../interests';
import { productCard } from '../ui';

const attune = await startAttune();
trackPageView(attune);
watchPersonalizationConsent(attune);

const id = new URLSearchParams(location.search).get('id');
const product = findProduct(id);
const article = byId('product');
clear(article);

if (!product) {
  document.title = 'Product not found — Attune Outfitters';
  article.appendChild(h('h1', {}, 'Product not found'));
  article.appendChild(h('p', {}, h('a', { href: '/' }, 'Back to the shop')));
  byId('related').hidden = true;
} else {
  document.title = `${product.title} — Attune Outfitters`;
  attune.track('product_view', { productId: product.id, category: product.category }, 'analytics');
  noteInterest(attune, product);

  const status = h('p', { id: 'cart-status', class: 'cart-status', role: 'status' });
  const add = h('button', { type: 'button', id: 'add-to-cart', class: 'primary' }, 'Add to cart');
  add.addEventListener('click', () => {
    const count = addToCart(product.id);
    attune.track('add_to_cart', { productId: product.id, price: product.price, currency: 'EUR' }, 'marketing');
    status.textContent = `Added. Your cart has ${count} item${count === 1 ? '' : 's'}.`;
  });

  article.append(
    h('img', { class: 'product-image', src: product.image, alt: product.title, width: 320, height: 240 }),
    h(
      'div',
      { class: 'product-info' },
      h('p', { class: 'eyebrow' }, product.category),
      h('h1', {}, product.title),
      h('p', { class: 'price' }, formatPrice(product.price)),
      h('p', {}, product.description),
      h('ul', { class: 'tags' }, ...product.tags.map((tag) => h('li', {}, tag))),
      add,
      status,
    ),
  );

  // Related products: same category first, then the rest. Clicks on them are a
  // personalization signal (which suggestion worked).
  const related = [
    ...products.filter((p) => p.category === product.category && p.id !== product.id),
    ...products.filter((p) => p.category !== product.category),
  ].slice(0, 4);
  const list = byId('related-list');
  related.forEach((p, slot) =>
    list.appendChild(
      productCard(p, {
        className: 'recommendation',
        onOpen: () =>
          attune.track('recommendation_click', { productId: p.id, from: product.id, slot }, 'personalization'),
      }),
    ),
  );
}

showPrompt(attune);
markReady(attune);
