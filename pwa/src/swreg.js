// Registers the service worker and tells the page when an update is ready.
import { Workbox } from 'workbox-window';

export function registerSW({ onUpdateReady } = {}) {
  if (!('serviceWorker' in navigator)) return null;
  const wb = new Workbox('/sw.js', { scope: '/' });
  wb.addEventListener('waiting', () => {
    onUpdateReady && onUpdateReady(() => {
      wb.addEventListener('controlling', () => window.location.reload());
      wb.messageSkipWaiting();
    });
  });
  wb.register().catch((e) => console.warn('SW registration failed', e));
  return wb;
}
