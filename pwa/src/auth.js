// Session: token, user and device id on this device.
import { api } from './api.js';
import { deviceId, kvGet, kvSet, kvDel } from './store.js';

export async function login(username, password) {
  const device_id = await deviceId();
  const res = await api('/auth/token', { method: 'POST', json: { username, password, device_id }, auth: false });
  await kvSet('token', res.token);
  await kvSet('token_expires_at', res.expires_at || null);
  await kvSet('user', res.user);
  await kvSet('last_username', username);
  await kvDel('auth_lost');
  // A different user on the same phone gets their own pull stream.
  const prev = await kvGet('pull_user');
  if (prev !== res.user.username) {
    await kvDel('pull_cursor');
    await kvSet('pull_user', res.user.username);
  }
  return res.user;
}

/** Log out: revoke the token but keep every unsent op, photo and draft. */
export async function logout() {
  try { await api('/auth/token', { method: 'DELETE', timeout: 5000 }); } catch { /* offline: forget locally */ }
  await kvDel('token');
  await kvDel('token_expires_at');
}

export async function currentUser() {
  const token = await kvGet('token');
  const lost = await kvGet('auth_lost');
  if (!token || lost) return null;
  return kvGet('user', null);
}

export async function refreshMe() {
  const res = await api('/me');
  if (res && res.user) await kvSet('user', res.user);
  return res && res.user;
}
