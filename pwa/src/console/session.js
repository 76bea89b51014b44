// The console's own session (token and device id in localStorage, apart from
// the field app's IndexedDB) and its HTTP client for /api/v1.
import { uuid } from '../store.js';

const KEY = 'gp.console';
const lost = new Set();

export function session() { try { return JSON.parse(localStorage.getItem(KEY) || 'null'); } catch { return null; } }
export function saveSession(s) { if (s) localStorage.setItem(KEY, JSON.stringify(s)); else localStorage.removeItem(KEY); }
export function token() { const s = session(); return (s && s.token) || null; }
export function user() { const s = session(); return (s && s.user) || null; }
export function deviceId() {
  let d = localStorage.getItem(`${KEY}.device`);
  if (!d) { d = `console-${uuid()}`; localStorage.setItem(`${KEY}.device`, d); }
  return d;
}
/** fn() runs when the server says 401: the console shows its login again. */
export function onSessionLost(fn) { lost.add(fn); }

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code;
    this.details = err.details;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

async function send(path, opts) {
  let res;
  try {
    res = await fetch(`/api/v1${path}`, { method: opts.method || 'GET', headers: headers(opts.headers), body: opts.body, cache: 'no-store', credentials: 'omit' });
  } catch {
    const e = new ApiError(0, { error: { message: '网络不可用，请检查网络后重试' } });
    e.network = true;
    throw e;
  }
  if (res.status === 401 && path !== '/auth/token') {
    saveSession(null);
    for (const fn of lost) { try { fn('登录已失效，请重新登录'); } catch { /* ignore */ } }
  }
  return res;
}

/** JSON call; throws ApiError for a non-2xx answer. */
export async function call(path, opts = {}) {
  const o = { ...opts };
  if (o.json !== undefined) { o.headers = { ...(o.headers || {}), 'Content-Type': 'application/json' }; o.body = JSON.stringify(o.json); }
  const res = await send(path, o);
  const data = (res.headers.get('Content-Type') || '').includes('json') ? await res.json().catch(() => null) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** A binary answer (photo, export) as a Blob, fetched with the token. */
export async function blob(path) {
  const res = await send(path, {});
  if (!res.ok) {
    const data = (res.headers.get('Content-Type') || '').includes('json') ? await res.json().catch(() => null) : null;
    throw new ApiError(res.status, data);
  }
  return { blob: await res.blob(), disposition: res.headers.get('Content-Disposition') || '' };
}

/** A short Chinese message for an error. */
export function explain(e) {
  if (!e) return '';
  if (e.network) return e.message;
  const byStatus = { 403: '您的角色无权进行此操作', 404: '记录不存在或不在您的范围内', 409: '记录已被他人更新', 422: '内容不合格' };
  const head = byStatus[e.status] || '操作失败';
  return e.message ? `${head}（${e.message}）` : head;
}

/** Query string from an object, leaving out empty values. */
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    u.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = u.toString();
  return s ? `?${s}` : '';
}
