// Online/offline detection. navigator.onLine === false is trusted (surely
// offline); true only means "maybe", so we probe the server.
import { notify } from './bus.js';

let state = typeof navigator !== 'undefined' && navigator.onLine === false ? 'offline' : 'unknown';

export function connectionState() { return state; }

function set(next) {
  if (next !== state) {
    state = next;
    notify('connection', state);
  }
}

export function markOnline() { set('online'); }
export function markOffline() { set('offline'); }

/** Ask the server (cheap, unauthenticated) whether it can be reached. */
export async function probe(timeout = 5000) {
  if (typeof navigator !== 'undefined' && navigator.onLine === false) { set('offline'); return false; }
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), timeout);
  try {
    const res = await fetch('/api/v1/meta', { cache: 'no-store', signal: ctl.signal, credentials: 'omit' });
    // Any HTTP answer proves the server is reachable.
    set(res.status < 500 ? 'online' : 'offline');
    return res.status < 500;
  } catch {
    set('offline');
    return false;
  } finally {
    clearTimeout(t);
  }
}

/** Watch browser events; cb(state) is called after a probe on "online". */
export function watchConnection(onBack) {
  if (typeof window === 'undefined') return;
  window.addEventListener('offline', () => set('offline'));
  window.addEventListener('online', async () => {
    if (await probe()) onBack && onBack();
  });
}
