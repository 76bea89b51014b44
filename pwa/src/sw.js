// Service worker: precached app shell (both pages), navigation fallback so
// "/" and "/console/" open offline, and Background Sync. /api/ is never
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

registerRoute(new NavigationRoute(createHandlerBoundToURL('/console.html'), {
  allowlist: [/^\/console(\/|$)/],
  denylist: [API],
}));
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
