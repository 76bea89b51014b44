// Service worker: precached field app shell, navigation fallback so "/" opens
// offline, the console cached at run time once a desk opens it, and Background Sync. /api/ is never
// cached, except the basemap (/api/v1/basemap/: public, nothing personal),
// which basemap_offline.js keeps for the user's grids.
import { precacheAndRoute, cleanupOutdatedCaches, createHandlerBoundToURL } from 'workbox-precaching';
import { registerRoute, NavigationRoute } from 'workbox-routing';
import { clientsClaim } from 'workbox-core';
import { syncNow } from './sync.js';

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// First install takes the open page at once; later versions wait for the user.
clientsClaim();

const API = /^\/api\//;

// The offline basemap (basemap_offline.js fills this cache): tiles cache-first, the
// network only for tiles not kept; the style and glyphs network-first, the kept copy
// when offline, so that the map opens with its basemap without signal.
const BASEMAP_CACHE = 'gp-basemap-v1';
const sameOrigin = (url) => url.origin === self.location.origin;
registerRoute(({ url }) => sameOrigin(url) && url.pathname.startsWith('/api/v1/basemap/tiles/'), async ({ request }) => {
  const hit = await (await caches.open(BASEMAP_CACHE)).match(request.url);
  return hit || fetch(request);
});
registerRoute(({ url }) => sameOrigin(url) && /^\/api\/v1\/basemap\/(style\.json|fonts\/)/.test(url.pathname), async ({ request }) => {
  const cache = await caches.open(BASEMAP_CACHE);
  try {
    const res = await fetch(request);
    if (res.ok) await cache.put(request.url, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(request.url);
    if (hit) return hit;
    throw e;
  }
});

// The console is a desk page, not precached (a phone never downloads it, see
// vite.config.js): its page network-first and its hashed assets cache-first into
// a runtime cache, so a desk that opened it once can still open it offline.
const CONSOLE_CACHE = 'gp-console-v1';
async function networkFirst(request, key) {
  const cache = await caches.open(CONSOLE_CACHE);
  try {
    const res = await fetch(request);
    if (res.ok) await cache.put(key, res.clone());
    return res;
  } catch (e) {
    const hit = await cache.match(key);
    if (hit) return hit;
    throw e;
  }
}
registerRoute(({ request, url }) => request.mode === 'navigate' && sameOrigin(url) && /^\/console(\/|$)/.test(url.pathname),
  ({ request }) => networkFirst(request, '/console/'));
registerRoute(({ url, request }) => sameOrigin(url) && url.pathname.startsWith('/assets/') && request.destination !== 'document',
  async ({ request }) => {
    // Not precached (a console chunk): hashed names never change, so a kept copy is good.
    const cache = await caches.open(CONSOLE_CACHE);
    const hit = await cache.match(request.url);
    if (hit) return hit;
    const res = await fetch(request);
    if (res.ok) await cache.put(request.url, res.clone());
    return res;
  });
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), {
  denylist: [API, /^\/console(\/|$)/],
}));

// A new version waits until the user says "更新" (it never touches IndexedDB,
// so unsent work and drafts survive any update).
self.addEventListener('message', (event) => {
  if (event.data && event.data.type === 'SKIP_WAITING') self.skipWaiting();
});

self.addEventListener('sync', (event) => {
  if (event.tag === 'gp-sync') {
    event.waitUntil((async () => {
      const r = await syncNow({ pull: false });
      if (r && (r.state === 'offline' || r.state === 'error')) throw new Error('retry later');
    })());
  }
});
