// Photos: downscaled on the device to ~1600 px JPEG, stored as Blobs keyed by
// sha256, uploaded with PUT (200 if the server holds them already). A failed upload is
// retried next sync.
import { db } from './store.js';
import { api, HttpError } from './api.js';
import { notify } from './bus.js';

export const MAX_EDGE = 1600;

export async function sha256Hex(blob) {
  const buf = await blob.arrayBuffer();
  const d = await crypto.subtle.digest('SHA-256', buf);
  return [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** Downscale an image File/Blob to a JPEG whose longer edge is <= maxEdge. */
export async function downscale(file, maxEdge = MAX_EDGE, quality = 0.82) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  } catch {
    bitmap = await loadViaImg(file);
  }
  const w0 = bitmap.width;
  const h0 = bitmap.height;
  const scale = Math.min(1, maxEdge / Math.max(w0, h0));
  const w = Math.max(1, Math.round(w0 * scale));
  const h = Math.max(1, Math.round(h0 * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bitmap, 0, 0, w, h);
  if (bitmap.close) bitmap.close();
  const blob = await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('无法压缩图片'))), 'image/jpeg', quality));
  return { blob, width: w, height: h };
}

function loadViaImg(file) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => { URL.revokeObjectURL(url); resolve(img); };
    img.onerror = () => { URL.revokeObjectURL(url); reject(new Error('无法读取图片')); };
    img.src = url;
  });
}

/** Downscale, hash and store a picked photo. Returns its sha256. */
export async function addPhoto(file) {
  const { blob, width, height } = await downscale(file);
  const sha = await sha256Hex(blob);
  const existing = await db.photos.get(sha);
  if (!existing) {
    await db.photos.put({ sha, blob, type: 'image/jpeg', size: blob.size, width, height, uploaded: 0, created_at: Date.now(), original_size: file.size });
  }
  notify('photos');
  return sha;
}

export async function photoUrl(sha) {
  const p = await db.photos.get(sha);
  return p && p.blob ? URL.createObjectURL(p.blob) : null;
}

/** Upload every stored photo the server does not have yet. */
export async function uploadPendingPhotos() {
  const pending = await db.photos.where('uploaded').equals(0).toArray();
  let done = 0;
  const total = pending.length;
  const bytesTotal = pending.reduce((n, p) => n + (p.size || (p.blob && p.blob.size) || 0), 0);
  let bytesDone = 0;
  const report = () => notify('progress', { phase: 'photos', done, total, bytes_done: bytesDone, bytes_total: bytesTotal });
  if (total) report();
  for (const p of pending) {
    if (!p.blob) continue;
    try {
      // Always PUT: a photo counts as this user's record's only once this user has sent
      // the bytes (the server answers 200 if it already holds them). A HEAD's 200 may
      // mean only that someone else's record shows the same photo.
      await api(`/attachments/${p.sha}`, { method: 'PUT', body: p.blob, headers: { 'Content-Type': p.type || 'image/jpeg' }, timeout: 120000 });
      await db.photos.update(p.sha, { uploaded: 1, uploaded_at: Date.now(), error: null });
      done += 1;
      bytesDone += p.size || p.blob.size || 0;
      report();
      notify('photos');
    } catch (e) {
      if (e instanceof HttpError && [413, 415, 422].includes(e.status)) {
        await db.photos.update(p.sha, { uploaded: 2, error: `${e.status} ${e.message}` });
        notify('photos');
        continue;
      }
      throw e; // network/5xx/401: try again later
    }
  }
  return done;
}

export async function photoCounts() {
  const all = await db.photos.toArray();
  return { total: all.length, unsent: all.filter((p) => p.uploaded === 0).length, failed: all.filter((p) => p.uploaded === 2).length };
}
