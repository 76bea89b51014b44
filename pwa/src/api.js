// HTTP client for /api/v1. Knows tokens and error shapes, nothing else.
import { kvGet, kvSet } from './store.js';

export const API = '/api/v1';

export class NetworkError extends Error {
  constructor(message) { super(message); this.name = 'NetworkError'; }
}

export class HttpError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.name = 'HttpError';
    this.status = status;
    this.code = err.code;
    this.details = err.details;
    this.body = body;
  }
}

const listeners = new Set();
/** Called with no arguments whenever the server says 401: show login again. */
export function onAuthLost(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export async function getToken() {
  return kvGet('token', null);
}

/**
 * fetch() under /api/v1 with the bearer token. Throws NetworkError when nothing
 * is known (no connection, timeout) and HttpError for a non-2xx answer.
 */
export async function api(path, { method = 'GET', json, body, headers = {}, timeout = 30000, auth = true } = {}) {
  // The administration page shows which app version each phone runs.
  const h = { 'X-App-Version': typeof __APP_VERSION__ === 'undefined' ? 'dev' : __APP_VERSION__, ...headers };
  if (auth) {
    const token = await getToken();
    if (token) h.Authorization = `Bearer ${token}`;
  }
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  let res;
  try {
    res = await fetch(API + path, { method, body, headers: h, signal: ctl.signal, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    throw new NetworkError(e && e.name === 'AbortError' ? '请求超时' : '网络不可用');
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 401 && auth) {
    // Keep every bit of unsent work; only the session is gone.
    await kvSet('auth_lost', true);
    for (const fn of listeners) { try { fn(); } catch { /* ignore */ } }
  }
  if (method === 'HEAD') {
    if (res.ok || res.status === 404) return res;
  }
  let data = null;
  const ct = res.headers.get('Content-Type') || '';
  if (ct.includes('json')) {
    try { data = await res.json(); } catch { data = null; }
  } else if (method !== 'HEAD') {
    try { await res.text(); } catch { /* ignore */ }
  }
  if (!res.ok) {
    const e = new HttpError(res.status, data);
    e.retryAfter = res.headers.get('Retry-After');
    // A 5xx means nothing is known about what happened (syncpolicy.js decides).
    if (res.status >= 500) e.transient = true;
    throw e;
  }
  return data;
}
