import { markReady, showPrompt, startAttune, trackPageView } from '../attune';
import { clearCart, readCart, removeFromCart } from '../cart';
import { findProduct, formatPrice } from '../catalogue';
import { byId, clear, h } from '../dom';
import { mountRail } from '../recommendations';

const attune = await startAttune();
trackPageView(attune);

const root = byId('cart');

// "Goes well with your cart": neighbours of the cart's items (never the items themselves),
// ranked on this device. Shown only while the cart has something in it.
let rail: ReturnType<typeof mountRail> | undefined;
function renderRail(): void {
  const context = readCart().map((line) => line.productId);
  if (context.length === 0) {
    rail?.remove();
    rail = undefined;
  } else if (rail) {
    rail.options = { ...rail.options, context };
    void rail.refresh();
  } else {
    rail = mountRail(attune, byId('cart-recs'), 'cart', { slot: 'cart', context, k: 4 });
  }
}

function render(): void {
  renderRail();
  clear(root);
  const lines = readCart().flatMap((line) => {
    const product = findProduct(line.productId);
    return product ? [{ product, qty: line.qty }] : [];
  });
  if (lines.length === 0) {
    root.append(h('p', { id: 'cart-empty' }, 'Your cart is empty. '), h('a', { href: '/' }, 'Browse the catalogue'));
    return;
  }
  const total = lines.reduce((sum, l) => sum + l.product.price * l.qty, 0);
  const table = h('table', { class: 'cart-table' });
  table.appendChild(
    h('thead', {}, h('tr', {}, h('th', {}, 'Product'), h('th', {}, 'Qty'), h('th', {}, 'Price'), h('th', {}, ''))),
  );
  const body = h('tbody');
  for (const { product, qty } of lines) {
    const remove = h('button', { type: 'button', class: 'link-button' }, 'Remove');
    remove.addEventListener('click', () => {
      removeFromCart(product.id);
      render();
    });
    body.appendChild(
      h(
        'tr',
        { 'data-product-id': product.id },
        h('td', {}, h('a', { href: `/product.html?id=${product.id}` }, product.title)),
        h('td', {}, qty),
        h('td', {}, formatPrice(product.price * qty)),
        h('td', {}, remove),
      ),
    );
  }
  table.appendChild(body);
  const checkout = h('button', { type: 'button', id: 'checkout', class: 'primary' }, 'Checkout');
  const note = h('p', { class: 'cart-status', role: 'status' });
  checkout.addEventListener('click', () => {
    attune.track('checkout_start', { items: lines.length, value: Math.round(total * 100) / 100, currency: 'EUR' }, 'marketing');
    clearCart();
    render();
    root.appendChild(h('p', { class: 'cart-status', role: 'status' }, 'Thanks! This is a demo, so no order was placed.'));
  });
  root.append(table, h('p', { class: 'cart-total' }, `Total: ${formatPrice(total)}`), checkout, note);
}
render();

showPrompt(attune);
markReady(attune);
