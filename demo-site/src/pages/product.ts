import { reasonText } from '@attune/sdk';
import { markReady, showPrompt, startAttune, trackPageView } from '../attune';
import { addToCart } from '../cart';
import { findProduct, formatPrice } from '../catalogue';
import { byId, clear, h } from '../dom';
import { TAG_LABELS } from '../recommendations';
import { productCard } from '../ui';

const attune = await startAttune();
trackPageView(attune);

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
  // product_view is also a `view` signal for the recommender (src/attune-recommend.json), kept
  // on this device only while personalization is on.
  attune.track('product_view', { productId: product.id, category: product.category }, 'analytics');
  // Held in the SDK's memory-only buffer until the visitor decides; dropped if personalization is denied.
  attune.track('product_interest', { productId: product.id, category: product.category }, 'personalization');

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

  // Related products, ranked on this device by the SDK (`similar`: like this product, nudged by
  // the visitor's own signals when personalization is on), drawn with the shop's own cards: the
  // lower-level API, where <attune-recommendations> is the ready-made rail (home and cart pages).
  // Clicks on them are tracked (which suggestion worked) and are a `click` signal.
  const list = byId('related-list');
  void attune.recommend({ slot: 'similar', context: product.id, k: 4 }).then((related) => {
    related.forEach((rec, slot) => {
      const p = findProduct(rec.id);
      if (!p) return;
      const card = productCard(p, {
        className: 'recommendation',
        onOpen: () => attune.track('recommendation_click', { productId: p.id, from: product.id, position: slot }, 'personalization'),
      });
      const reason = rec.because[0];
      if (reason) card.appendChild(h('p', { class: 'card-reason' }, reasonText(reason, 'similar', undefined, TAG_LABELS)));
      list.appendChild(card);
    });
    byId('related').hidden = related.length === 0;
  }, (e) => {
    byId('related').hidden = true;
    console.warn('[shop] no related products:', e);
  });
}

showPrompt(attune);
markReady(attune);
