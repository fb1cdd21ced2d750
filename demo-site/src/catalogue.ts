import catalogue from './catalogue.json';

export interface Product {
  id: string;
  title: string;
  price: number;
  category: string;
  tags: string[];
  image: string;
  description: string;
}

export const products: readonly Product[] = catalogue;

export const categories: readonly string[] = [...new Set(products.map((p) => p.category))];

export function findProduct(id: string | null): Product | undefined {
  return products.find((p) => p.id === id);
}

const euro = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' });
export const formatPrice = (value: number): string => euro.format(value);
