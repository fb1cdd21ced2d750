import { defineConfig, type Plugin } from 'vite';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const page = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/**
 * Publishes the shop's products as `/attune-catalog.json`, the catalogue format the SDK's
 * recommender reads (docs/recommendations.md), generated from src/catalogue.json so the two can
 * never disagree. Served by the dev server, emitted into dist/ by the build.
 */
function attuneCatalog(): Plugin {
  const source = page('./src/catalogue.json');
  const generate = () => {
    const text = readFileSync(source, 'utf8');
    const products: { id: string; title: string; image: string; category: string; tags: string[]; price: number; popularity: number }[] =
      JSON.parse(text);
    const items = products.map((p) => ({
      id: p.id,
      title: p.title,
      url: `/product.html?id=${encodeURIComponent(p.id)}`,
      image: p.image,
      category: p.category,
      tags: p.tags,
      price: p.price,
      popularity: p.popularity,
    }));
    const revision = createHash('sha256').update(text).digest('hex').slice(0, 12);
    return JSON.stringify({ format: 1, revision, items }, null, 1);
  };
  return {
    name: 'attune-catalog',
    configureServer(server) {
      server.middlewares.use('/attune-catalog.json', (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(generate());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'attune-catalog.json', source: generate() });
    },
  };
}

// Multi-page build of the demo shop. The collector serves `dist/` with a strict CSP
// (`script-src 'self' 'wasm-unsafe-eval'; require-trusted-types-for 'script'; style-src 'self'`),
// so the build must not emit any inline script or style:
//  - no inline modulepreload polyfill,
//  - no assets inlined as data: URLs (everything, the SDK's .wasm included, is a file).
export default defineConfig({
  base: '/',
  plugins: [attuneCatalog()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: true,
    rolldownOptions: {
      input: {
        index: page('./index.html'),
        product: page('./product.html'),
        cart: page('./cart.html'),
        'your-data': page('./your-data.html'),
        'prompt-editor': page('./prompt-editor.html'),
        'bench-empty': page('./bench-empty.html'),
        'bench-sdk': page('./bench-sdk.html'),
      },
    },
  },
});
