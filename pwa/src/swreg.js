// Registers the service worker and tells the page when an update is ready.
//
// Plain ServiceWorkerRegistration events, not workbox-window's: the browser starts the
// update check of a navigation on its own, so the new worker may already be installing
// (its `updatefound` gone) or waiting when this script runs. Each of those cases must
// still raise the banner once, and 更新 must reload exactly once into the new version.

export function registerSW({ onUpdateReady } = {}) {
  if (!('serviceWorker' in navigator)) return null;
  const sw = navigator.serviceWorker;
  let told = false;
  let reloading = false;

  function reload() {
    if (reloading) return;
    reloading = true;
    window.location.reload();
  }

  function apply(reg) {
    sw.addEventListener('controllerchange', reload);
    // The waiting worker takes over (sw.js: SKIP_WAITING); if it already has, just reload.
    if (reg.waiting) reg.waiting.postMessage({ type: 'SKIP_WAITING' });
    else reload();
  }

  // Only an update is announced: a first install has no controller and takes the page itself.
  function tell(reg) {
    if (told || !reg.waiting || !sw.controller) return;
    told = true;
    onUpdateReady && onUpdateReady(() => apply(reg));
  }

  function follow(reg, worker) {
    if (!worker) return;
    worker.addEventListener('statechange', () => { if (worker.state === 'installed') tell(reg); });
  }

  const done = sw.register('/sw.js', { scope: '/' }).then((reg) => {
    tell(reg);
    follow(reg, reg.installing);
    reg.addEventListener('updatefound', () => follow(reg, reg.installing));
    return reg;
  });
  done.catch((e) => console.warn('SW registration failed', e));
  return done;
}
