// The cart lives in sessionStorage under a site key. It is written only once the visitor
// adds something (strictly necessary for the shop to work), never on a plain visit.
import { byId } from './dom';

const KEY = 'demo-shop:cart';

export interface CartLine {
  productId: string;
  qty: number;
}

export function readCart(): CartLine[] {
  try {
    const raw = sessionStorage.getItem(KEY);
    const lines: unknown = raw ? JSON.parse(raw) : [];
    return Array.isArray(lines)
      ? lines.filter((l): l is CartLine => typeof l?.productId === 'string' && Number.isInteger(l?.qty) && l.qty > 0)
      : [];
  } catch {
    return [];
  }
}

function writeCart(lines: CartLine[]): void {
  if (lines.length === 0) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify(lines));
  renderCartCount();
}

export function addToCart(productId: string): number {
  const lines = readCart();
  const line = lines.find((l) => l.productId === productId);
  if (line) line.qty += 1;
  else lines.push({ productId, qty: 1 });
  writeCart(lines);
  return lines.reduce((n, l) => n + l.qty, 0);
}

export function removeFromCart(productId: string): void {
  writeCart(readCart().filter((l) => l.productId !== productId));
}

export function clearCart(): void {
  writeCart([]);
}

export function renderCartCount(): void {
  byId('cart-count').textContent = String(readCart().reduce((n, l) => n + l.qty, 0));
}
