import { h } from './dom';
import { formatPrice, type Product } from './catalogue';

export function productCard(product: Product, opts: { className?: string; onOpen?: () => void } = {}): HTMLLIElement {
  const link = h(
    'a',
    { class: 'card-link', href: `/product.html?id=${encodeURIComponent(product.id)}`, 'data-product-id': product.id },
    h('img', { src: product.image, alt: '', width: 320, height: 240, loading: 'lazy' }),
    h('span', { class: 'card-title' }, product.title),
    h('span', { class: 'card-price' }, formatPrice(product.price)),
  );
  if (opts.onOpen) link.addEventListener('click', opts.onOpen);
  return h('li', { class: `card ${opts.className ?? ''}`.trim(), 'data-category': product.category }, link);
}
