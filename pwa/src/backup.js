// Export / import of unsent work (ops, photos, drafts) as one JSON file.
// Importing twice, or importing ops the server already has, is harmless:
// ops keep their op_id and the server answers duplicates.
import { db, deviceId, kvGet } from './store.js';
import { importOps } from './outbox.js';
import { notify } from './bus.js';

export const FORMAT = 'gridpatrol-backup';

function blobToBase64(blob) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).split(',')[1] || '');
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}

function base64ToBlob(b64, type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

export async function buildBackup() {
  const ops = await db.outbox.orderBy('device_seq').toArray();
  const did = await deviceId();
  const shas = new Set();
  for (const o of ops) for (const s of (o.data && o.data.photos) || []) shas.add(s);
  for (const p of await db.photos.where('uploaded').equals(0).toArray()) shas.add(p.sha);
  const photos = [];
  for (const sha of shas) {
    const p = await db.photos.get(sha);
    if (p && p.blob) photos.push({ sha, type: p.type || p.blob.type || 'image/jpeg', size: p.blob.size, data: await blobToBase64(p.blob) });
  }
  const drafts = await db.drafts.toArray();
  const patrol = await kvGet('patrol_active', null);
  const track = patrol ? await db.trackpoints.where('patrol_id').equals(patrol.id).toArray() : [];
  // Mark them: if the backup is synced elsewhere first, op_id_reused means delivered.
  await db.outbox.bulkUpdate(ops.map((o) => ({ key: o.device_seq, changes: { exported: true } })));
  const user = await kvGet('user', null);
  return {
    format: FORMAT, version: 1, created_at: new Date().toISOString(), device_id: did,
    user: user ? user.username : null,
    ops: ops.map((o) => ({ op_id: o.op_id, device_seq: o.device_seq, device_id: did, entity: o.entity, id: o.id, action: o.action, base_version: o.base_version, data: o.data, recorded_at: o.recorded_at, label: o.label, status: o.status })),
    photos, drafts, patrol, track,
  };
}

export async function exportBackup() {
  const b = await buildBackup();
  const blob = new Blob([JSON.stringify(b)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const stamp = b.created_at.replace(/[-:]/g, '').slice(0, 15);
  const a = document.createElement('a');
  a.href = url;
  a.download = `gridpatrol-backup-${stamp}.json`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return { ops: b.ops.length, photos: b.photos.length, drafts: b.drafts.length };
}

export async function importBackup(text) {
  const b = JSON.parse(text);
  if (!b || b.format !== FORMAT) throw new Error('这不是网格巡查的备份文件');
  let photos = 0;
  for (const p of b.photos || []) {
    if (await db.photos.get(p.sha)) continue;
    const blob = base64ToBlob(p.data, p.type);
    await db.photos.put({ sha: p.sha, blob, type: p.type, size: blob.size, uploaded: 0, created_at: Date.now(), imported: true });
    photos += 1;
  }
  let drafts = 0;
  for (const d of b.drafts || []) {
    if (await db.drafts.get(d.key)) continue;
    await db.drafts.put(d);
    drafts += 1;
  }
  const ops = await importOps(b.ops || []);
  notify('photos');
  return { ops, photos, drafts };
}
