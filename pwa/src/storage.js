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
  // Calm advice, not an alarm: nothing is lost yet; a sync or a backup file keeps it safe.
  if (p === false) return '手机空间紧张时，浏览器可能清理本机数据。记录同步后就安全了；外出较久时，可先导出一份备份。';
  return '无法确认浏览器是否会保留本机数据。记录同步后就安全了；外出较久时，可先导出一份备份。';
}

export function fmtBytes(n) {
  if (n == null) return '未知';
  if (n > 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GB`;
  if (n > 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.round(n / 1024)} KB`;
}
