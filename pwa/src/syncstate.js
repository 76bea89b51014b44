// The one answer to "is everything on the server?": unsent ops AND unsent photos,
// plus what a running sync is doing. Every screen (status line, 发件箱, login,
// settings) reads this, so no two of them can disagree.
import { db, kvGet } from './store.js';
import { on } from './bus.js';
import { fmtBytes } from './storage.js';

let progress = null;
// The sync (this tab's, another tab's or the service worker's) reports its progress on the bus.
on('progress', (p) => { progress = p; });

export async function syncState() {
  const [outbox, photos, status] = await Promise.all([
    db.outbox.toArray(), db.photos.toArray(), kvGet('sync_status', { state: 'idle', at: 0 }),
  ]);
  const rejected = outbox.filter((o) => o.status === 'rejected').length;
  const unsentPhotos = photos.filter((p) => p.uploaded === 0);
  const failedPhotos = photos.filter((p) => p.uploaded === 2);
  const ops = { unsent: outbox.length, rejected, pending: outbox.length - rejected };
  const ph = {
    total: photos.length, unsent: unsentPhotos.length, failed: failedPhotos.length,
    unsent_bytes: unsentPhotos.reduce((n, p) => n + (p.size || 0), 0),
  };
  return {
    ops, photos: ph, status,
    progress: status.state === 'syncing' ? progress : null,
    all: ops.unsent === 0 && ph.unsent === 0 && ph.failed === 0,
  };
}

/** Call fn whenever anything that syncState() reads may have changed. */
export function onSyncState(fn) {
  const offs = ['outbox', 'pushed', 'photos', 'sync', 'progress', 'pulled'].map((t) => on(t, () => fn()));
  return () => offs.forEach((f) => f());
}

/** "3 条未上传 · 2 张照片" / "1 张照片未上传" / "全部已上传". */
export function countText(s) {
  const parts = [];
  if (s.ops.unsent) parts.push(`${s.ops.unsent} 条未上传`);
  const photos = s.photos.unsent + s.photos.failed;
  if (photos) parts.push(s.ops.unsent ? `${photos} 张照片` : `${photos} 张照片未上传`);
  return parts.length ? parts.join(' · ') : '全部已上传';
}

/** What a running sync is doing, in items (and bytes for photos). */
export function progressText(p) {
  if (!p) return '';
  if (p.phase === 'push') return `正在上传记录 ${p.done}/${p.total}`;
  if (p.phase === 'photos') {
    const bytes = p.bytes_total ? `（${fmtBytes(p.bytes_done)}/${fmtBytes(p.bytes_total)}）` : '';
    return `正在上传照片 ${p.done}/${p.total}${bytes}`;
  }
  if (p.phase === 'pull') return p.done ? `正在下载数据，已收到 ${p.done} 条` : '正在下载数据…';
  return '';
}
