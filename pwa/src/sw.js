// Service worker: precached app shell (both pages), navigation fallback so
// "/" and "/console/" open offline, and Background Sync. /api/ is never
// cached: no route below matches it, so it always goes to the network.
import { precacheAndRoute, cleanupOutdatedCaches, createHandlerBoundToURL } from 'workbox-precaching';
import { registerRoute, NavigationRoute } from 'workbox-routing';
import { clientsClaim } from 'workbox-core';
import { syncNow } from './sync.js';

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();
// First install takes the open page at once; later versions wait for the user.
clientsClaim();

const API = /^\/api\//;

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
