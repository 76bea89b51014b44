// When to sync: soon after new work, when the connection returns, on an
// interval, and on the button. Failures back off (capped, jittered).
import { syncNow, backoff, setStatus, getStatus } from './sync.js';
import { watchConnection, markOffline } from './connection.js';
import { counts } from './outbox.js';
import { on } from './bus.js';
import { kvGet } from './store.js';

let timer = null;
const PULL_EVERY = 5 * 60 * 1000;

export function startAutoSync() {
  watchConnection(() => { backoff.reset(); trigger('online'); });
  on('outbox', async () => { if ((await counts()).pending > 0) schedule(800); });
  window.addEventListener('offline', () => trigger('auto'));
  setInterval(tick, 15000);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') tick(); });
  schedule(1000);
}

function schedule(ms) {
  clearTimeout(timer);
  timer = setTimeout(() => trigger('auto'), Math.max(0, ms));
}

async function tick() {
  if (!backoff.ready()) return;
  const c = await counts();
  const lastOk = await kvGet('last_sync_ok', 0);
  if (c.pending > 0 || Date.now() - lastOk > PULL_EVERY) trigger('interval');
}

async function trigger(reason) {
  if (navigator.onLine === false) {
    markOffline();
    const s = await getStatus();
    if (s.state !== 'offline') await setStatus({ state: 'offline', message: '离线，联网后自动上传' });
    return { state: 'offline' };
  }
  if (reason === 'auto' && !backoff.ready()) { schedule(backoff.remaining() + 50); return null; }
  const r = await syncNow();
  if (r.state === 'offline' || (r.state === 'error' && r.retry_at)) {
    // syncpolicy.js decided to retry (a permanent 4xx has no retry_at: it waits for the
    // user, new work or a reconnect).
    schedule(backoff.remaining() + 50);
  } else if (r.state === 'busy') {
    if ((await counts()).pending > 0) schedule(3000);
  } else if (r.state === 'ok') {
    if ((await counts()).pending > 0) schedule(500);
  }
  return r;
}

/** The 同步 button: try now, whatever the backoff says. */
export async function manualSync() {
  backoff.reset();
  return trigger('manual');
}

export function syncStatusText(s) {
  if (!s || !s.state || s.state === 'idle') return '尚未同步';
  const pad = (n) => String(n).padStart(2, '0');
  const d = new Date(s.at || Date.now());
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  switch (s.state) {
    case 'ok': return `${s.message || '同步完成'}（${t}）`;
    case 'syncing': return '正在同步…';
    case 'offline': {
      const left = s.retry_at ? Math.max(0, Math.round((s.retry_at - Date.now()) / 1000)) : 0;
      return left ? `离线，${left} 秒内自动重试` : '离线，联网后自动上传';
    }
    case 'need_login': return s.message || '请重新登录';
    case 'error': return `${s.message || '同步失败'}（${t}）`;
    default: return s.message || '';
  }
}
