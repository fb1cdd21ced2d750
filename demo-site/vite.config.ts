import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const page = (file: string) => fileURLToPath(new URL(file, import.meta.url));

// Multi-page build of the demo shop. The collector serves `dist/` with a strict CSP
// (`script-src 'self' 'wasm-unsafe-eval'; require-trusted-types-for 'script'; style-src 'self'`),
// so the build must not emit any inline script or style:
//  - no inline modulepreload polyfill,
//  - no assets inlined as data: URLs (everything, the SDK's .wasm included, is a file).
export default defineConfig({
  base: '/',
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
