// Persistent storage and quota: ask once, remember and show the answer.
// Persistence is the phone's, not a user's: kept in the device database.
import { devSet as kvSet, devGet as kvGet } from './store.js';
import { notify } from './bus.js';

export async function requestPersistence() {
  let persisted = null;
  try {
    if (navigator.storage && navigator.storage.persisted) {
      persisted = await navigator.storage.persisted();
      if (!persisted && navigator.storage.persist) persisted = await navigator.storage.persist();
    }
  } catch { persisted = null; }
  await kvSet('storage_persisted', persisted);
  notify('storage', persisted);
  return persisted;
}

export async function storageInfo() {
  let usage = null;
  let quota = null;
  try {
    if (navigator.storage && navigator.storage.estimate) ({ usage, quota } = await navigator.storage.estimate());
  } catch { /* unknown */ }
  const persisted = await kvGet('storage_persisted', null);
  const low = quota != null && usage != null && (quota - usage < 50 * 1024 * 1024 || usage / quota > 0.9);
  return { usage, quota, persisted, low };
}

export function persistText(p) {
  if (p === true) return '本机存储已设为持久保存，浏览器不会自动清除';
  if (p === false) return '浏览器未同意持久保存：请尽快同步或导出备份';
  return '无法确认存储是否持久：请尽快同步或导出备份';
}

export function fmtBytes(n) {
  if (n == null) return '未知';
  if (n > 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`;
  if (n > 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.round(n / 1024)} KB`;
}
