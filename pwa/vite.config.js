import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

// The field app's precache holds only what the field app can load: the chunks (and
// their CSS) reachable from its entry, static or dynamic. The console's own code is a
// desk page: it is cached when a desk opens it (src/sw.js), never on a phone's first
// visit. MapLibre stays: the field app's 地图 and its map picker need it offline.
const fieldFiles = new Set();
function fieldReach() {
  return {
    name: 'gridpatrol-field-reach',
    apply: 'build',
    generateBundle(_opts, bundle) {
      const entry = Object.values(bundle).find((c) => c.type === 'chunk' && c.isEntry && c.name === 'main');
      if (!entry) return; // the service worker's own build
      fieldFiles.clear();
      const todo = [entry.fileName];
      while (todo.length) {
        const f = todo.pop();
        if (fieldFiles.has(f)) continue;
        fieldFiles.add(f);
        const c = bundle[f];
        if (!c || c.type !== 'chunk') continue;
        for (const css of (c.viteMetadata && c.viteMetadata.importedCss) || []) fieldFiles.add(css);
        todo.push(...c.imports, ...c.dynamicImports);
      }
    },
  };
}

/** Drop from the precache the built code the field app never loads (console.html and its chunks). */
export function fieldOnly(entries, reach = fieldFiles) {
  const manifest = entries.filter((e) => e.url !== 'console.html'
    && (!/^assets\/.*\.(js|css)$/.test(e.url) || reach.has(e.url)));
  return { manifest, warnings: [] };
}

// Multi-page build: index.html is the field app at "/", console.html is the
// supervisor page, served by Flask at "/console/". Everything else in dist/
// is served from the root, hence base "/".
export default defineConfig({
  base: '/',
  define: { __APP_VERSION__: JSON.stringify(pkg.version) },
  build: {
    target: 'es2020',
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        console: resolve(import.meta.dirname, 'console.html'),
      },
    },
  },
  plugins: [
    fieldReach(),
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src',
      filename: 'sw.js',
      injectRegister: false, // registered by src/swreg.js with workbox-window
      registerType: 'prompt',
      manifestFilename: 'manifest.webmanifest',
      // PNG icons are fetched by the browser when the app is installed, not needed offline.
      includeManifestIcons: false,
      manifest: {
        name: 'GridPatrol 网格巡查',
        short_name: '网格巡查',
        lang: 'zh-CN',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#0b3d91',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml' },
          // Full-bleed, the mark inside the safe zone (drawn by scripts/make_icons.py).
          { src: '/icon-maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
          { src: '/icon-maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      injectManifest: {
        globPatterns: ['**/*.{js,css,html,svg,webmanifest}'],
        maximumFileSizeToCacheInBytes: 5 * 1024 * 1024,
        manifestTransforms: [async (entries) => fieldOnly(entries)],
      },
      devOptions: { enabled: false },
    }),
  ],
});
