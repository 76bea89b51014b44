// What a failed sync means and what to do next: the one place that decides whether the
// field app retries, when, and what it tells the user.
//
// Guarantees:
// - Nothing unsent is ever dropped here: every decision keeps the outbox as it is.
// - A failure that may pass by itself (no network, a timeout, a 5xx, 408, 429) is
//   retried automatically, never sooner than the server's Retry-After, else after the
//   capped, jittered backoff (backoff.js).
// - A 4xx that will fail the same way again (400, 403, 404, 413, 415, 422…) is shown to
//   the user and not retried on a timer: retrying it forever only drains the battery.
//   The 同步 button, new work or a reconnect try again.
// - A lost session (401, a revoked or mismatched device, a password to change) asks the
//   user to sign in, with the unsent work kept on the phone.
//
// Pure: `decide(error, {backoff, now})` reads only its arguments (the clock is injected).

export const RETRY = 'retry';
export const SHOW = 'show';
export const LOGIN = 'login';

const TRANSIENT_4XX = new Set([408, 429]);
const LOGIN_CODES = new Set(['device_mismatch', 'device_revoked', 'device_in_use', 'password_change_required']);

/** Seconds from a Retry-After value (delta-seconds or an HTTP date), or null. */
export function retryAfterSeconds(value, now = Date.now()) {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, n);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, (at - now) / 1000) : null;
}

/**
 * What to do after `error` ended a sync: {action, state, message, delay}.
 * `error` is api.js's NetworkError or HttpError (status, code, retryAfter).
 */
export function decide(error, { backoff, now = Date.now() }) {
  const status = error && error.status;
  if (!status) { // no answer at all: offline, a timeout, a dropped connection
    const delay = backoff.fail(now);
    return { action: RETRY, state: 'offline', message: '无网络，稍后自动重试', delay };
  }
  if (status === 401) {
    return { action: LOGIN, state: 'need_login', message: '登录已失效，请重新登录（未上传的记录仍保存在本机）' };
  }
  if (status === 403 && LOGIN_CODES.has(error.code)) {
    const why = { device_revoked: '这台手机已被管理员停用', password_change_required: '请先设置新密码' }[error.code]
      || '设备与登录不符';
    return { action: LOGIN, state: 'need_login', message: `${why}，请重新登录（未上传的记录仍保存在本机）` };
  }
  if (status >= 500 || TRANSIENT_4XX.has(status)) {
    const wait = retryAfterSeconds(error.retryAfter, now);
    let delay = backoff.fail(now);
    if (wait !== null && wait * 1000 > delay) {
      delay = Math.round(wait * 1000);
      backoff.until = now + delay;
    }
    const busy = status === 429 || status === 503 ? '服务器繁忙' : '服务器暂时出错';
    return { action: RETRY, state: 'error', message: `${busy}，稍后自动重试`, delay };
  }
  // Any other 4xx: the same request will fail the same way; say why, do not loop.
  backoff.reset();
  return { action: SHOW, state: 'error', message: `同步失败：${(error && error.message) || `HTTP ${status}`}（请点“同步”重试，或联系管理员）`, delay: null };
}
