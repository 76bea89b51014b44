// The phone's offline basemap: the basemap tiles over my grids (zoom 13–18, clamped to
// the zooms the basemap has) kept in Cache Storage, so the map still has streets and
// names where there is no signal. The service worker (sw.js) answers
// /api/v1/basemap/tiles/ cache-first from the same cache, and the style and glyphs
// network-first with this cache as the fallback.
//
// Only a basemap the server holds itself (BASEMAP=file:…, meta.basemap.kind 'file') is
// kept: 天地图 and 高德 tiles are other parties' data under their own terms, and their
// cross-origin answers could not be checked or sized.
//
// Entry points (the settings screen's button is wired by the lead):
//   planBasemap()            → { tiles, estimateBytes, zooms, kind } or { tiles: 0, reason }
//   downloadBasemap({capMB, onProgress})  → { stored, bytes, skipped, capped, done }
//   autoDownloadBasemap()    after sign-in/grids: on Wi-Fi (or unknown), not on cellular
//   basemapStatus(), clearBasemap(), offlineBasemapPanel() (size, progress bar, cap)
import { db, kvGet, kvSet, kvDel } from './store.js';
import { h } from './dom.js';

export const BASEMAP_CACHE = 'gp-basemap-v1';
const STATE_KEY = 'basemap_offline';
export const MIN_ZOOM = 13;
export const MAX_ZOOM = 18;
export const DEFAULT_CAP_MB = 100;
const PARALLEL = 4;
const SAMPLE = 6;

function lonToX(lon, z) { return Math.floor(((lon + 180) / 360) * 2 ** z); }
function latToY(lat, z) {
  const r = (Math.max(-85.05112878, Math.min(85.05112878, lat)) * Math.PI) / 180;
  return Math.floor(((1 - Math.asinh(Math.tan(r)) / Math.PI) / 2) * 2 ** z);
}

function walkBox(coords, box) {
  if (typeof coords[0] === 'number') {
    box[0] = Math.min(box[0], coords[0]); box[1] = Math.min(box[1], coords[1]);
    box[2] = Math.max(box[2], coords[0]); box[3] = Math.max(box[3], coords[1]);
  } else for (const c of coords) walkBox(c, box);
  return box;
}

/** Tiles (z/x/y strings) over each grid's bounding box, without duplicates, low zooms first. */
export function tilesForBoxes(boxes, minZoom, maxZoom) {
  const out = new Set();
  for (let z = minZoom; z <= maxZoom; z++) {
    for (const [w, s, e, n] of boxes) {
      const x0 = lonToX(w, z), x1 = lonToX(e, z), y0 = latToY(n, z), y1 = latToY(s, z);
      for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.add(`${z}/${x}/${y}`);
    }
  }
  return [...out];
}

async function meta() { return kvGet('meta', null); }

async function styleOf(m) {
  const res = await fetch(m.basemap.style, { cache: 'no-store' });
  if (!res.ok) throw new Error(`style ${res.status}`);
  const style = await res.json();
  const cache = await caches.open(BASEMAP_CACHE);
  await cache.put(m.basemap.style, new Response(JSON.stringify(style), { headers: { 'Content-Type': 'application/json' } }));
  return style;
}

/** What keeping the basemap of my grids would take: the tiles and an estimate of bytes. */
export async function planBasemap({ minZoom = MIN_ZOOM, maxZoom = MAX_ZOOM } = {}) {
  const m = await meta();
  if (!m || !m.basemap || m.basemap.kind !== 'file' || !m.basemap.url) {
    return { tiles: 0, urls: [], estimateBytes: 0, reason: '底图不是本服务器提供的，无法离线保存' };
  }
  const grids = await db.grids.toArray();
  const boxes = grids.map((g) => walkBox(g.geometry.coordinates, [Infinity, Infinity, -Infinity, -Infinity]))
    .filter((b) => Number.isFinite(b[0]));
  if (!boxes.length) return { tiles: 0, urls: [], estimateBytes: 0, reason: '本机还没有网格数据' };
  let lo = minZoom, hi = maxZoom;
  let style = null;
  try { style = await styleOf(m); } catch { /* offline: plan from the configured range */ }
  const src = style && Object.values(style.sources || {}).find((s) => Array.isArray(s.tiles));
  if (src) { lo = Math.max(lo, src.minzoom ?? 0); hi = Math.min(hi, src.maxzoom ?? 22); }
  const keys = tilesForBoxes(boxes, lo, hi);
  const urls = keys.map((k) => { const [z, x, y] = k.split('/'); return m.basemap.url.replace('{z}', z).replace('{x}', x).replace('{y}', y); });
  // Size: the average of a few tiles in the middle of the list (already cached ones count).
  let sampled = 0, bytes = 0;
  const cache = await caches.open(BASEMAP_CACHE);
  for (const u of urls.slice(Math.floor(urls.length / 2), Math.floor(urls.length / 2) + SAMPLE)) {
    try {
      const res = (await cache.match(u)) || (await fetch(u));
      if (res.status === 200) { bytes += (await res.clone().arrayBuffer()).byteLength; sampled++; }
    } catch { /* offline */ }
  }
  const avg = sampled ? bytes / sampled : 20000;
  return { tiles: urls.length, urls, zooms: [lo, hi], estimateBytes: Math.round(avg * urls.length), kind: m.basemap.kind };
}

/**
 * Fetch and keep the tiles of the plan, at most capMB megabytes, reporting progress as
 * onProgress({done, total, bytes}). Tiles already kept are not fetched again; a 204 (no
 * tile there) is not kept. Resolves a summary, which is also saved for basemapStatus().
 */
export async function downloadBasemap({ capMB = DEFAULT_CAP_MB, onProgress = null, plan = null } = {}) {
  const p = plan || await planBasemap();
  const cache = await caches.open(BASEMAP_CACHE);
  const cap = capMB * 1024 * 1024;
  let done = 0, bytes = 0, stored = 0, skipped = 0, failed = 0, capped = false, next = 0;
  const report = () => { if (onProgress) onProgress({ done, total: p.tiles, bytes }); };
  if (p.urls.length) {
    // The glyph range of the labels' digits and Latin letters; CJK is drawn locally.
    try {
      const hit = await cache.match((await meta()).basemap.style);
      const style = hit ? await hit.json() : null;
      if (style && style.glyphs) {
        const url = style.glyphs.replace('{fontstack}', encodeURIComponent('Noto Sans Regular')).replace('{range}', '0-255');
        const res = await fetch(url);
        if (res.ok) await cache.put(url, res);
      }
    } catch { /* no glyphs: labels still draw their Chinese characters */ }
  }
  async function worker() {
    while (next < p.urls.length && !capped) {
      const u = p.urls[next++];
      try {
        const hit = await cache.match(u);
        if (hit) { bytes += (await hit.clone().arrayBuffer()).byteLength; skipped++; }
        else {
          const res = await fetch(u, { cache: 'no-store' });
          if (res.status === 200) {
            const body = await res.clone().arrayBuffer();
            if (bytes + body.byteLength > cap) { capped = true; break; }
            await cache.put(u, res);
            bytes += body.byteLength; stored++;
          } else if (res.status !== 204) failed++;
        }
      } catch { failed++; }
      done++;
      report();
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const summary = { at: Date.now(), tiles: p.tiles, stored, skipped, failed, bytes, capped,
    done: !capped && failed === 0 && done >= p.tiles, zooms: p.zooms || null, url: p.urls[0] ? (await meta()).basemap.url : null };
  await kvSet(STATE_KEY, summary);
  report();
  return summary;
}

/** After sign-in, once grids are here: keep the basemap on Wi-Fi, never on cellular or Data Saver. */
export async function autoDownloadBasemap() {
  const c = navigator.connection;
  if (c && (c.saveData || c.type === 'cellular')) return { skipped: 'cellular' };
  const last = await kvGet(STATE_KEY, null);
  const m = await meta();
  if (last && last.done && m && m.basemap && last.url === m.basemap.url && Date.now() - last.at < 7 * 86400e3) {
    return { skipped: 'fresh' };
  }
  return downloadBasemap();
}

export async function basemapStatus() { return kvGet(STATE_KEY, null); }

export async function clearBasemap() {
  await caches.delete(BASEMAP_CACHE);
  await kvDel(STATE_KEY);
}

function mb(n) { return `${(n / 1024 / 1024).toFixed(1)} MB`; }

/** A settings panel: the size estimate, a cap in MB, a progress bar, download and clear. */
export function offlineBasemapPanel() {
  const info = h('p', { class: 'muted', testid: 'basemap-offline-info' }, '正在估算…');
  const cap = h('input', { type: 'number', min: '5', max: '2000', step: '5', value: String(DEFAULT_CAP_MB), testid: 'basemap-offline-cap', 'aria-label': '上限 MB' });
  const bar = h('progress', { max: '1', value: '0', testid: 'basemap-offline-progress' });
  const go = h('button', { testid: 'basemap-offline-download' }, '下载离线底图');
  const drop = h('button', { testid: 'basemap-offline-clear' }, '删除离线底图');
  const node = h('section', { testid: 'basemap-offline' }, h('h3', {}, '离线底图'), info,
    h('label', { class: 'inline' }, '上限 ', cap, ' MB'), ' ', go, ' ', drop, h('div', {}, bar));
  let plan = null;
  (async () => {
    plan = await planBasemap();
    const last = await basemapStatus();
    info.textContent = plan.tiles
      ? `我的网格共 ${plan.tiles} 块底图瓦片，约 ${mb(plan.estimateBytes)}` + (last ? `；已保存 ${mb(last.bytes)}` : '')
      : plan.reason;
    go.disabled = !plan.tiles;
  })();
  go.addEventListener('click', async () => {
    go.disabled = true;
    const r = await downloadBasemap({ plan, capMB: Number(cap.value) || DEFAULT_CAP_MB,
      onProgress: ({ done, total, bytes }) => { bar.max = total || 1; bar.value = done; info.textContent = `${done}/${total} · ${mb(bytes)}`; } });
    info.textContent = r.capped ? `已达上限，保存了 ${mb(r.bytes)}` : `已保存 ${r.stored + r.skipped} 块，${mb(r.bytes)}`;
    go.disabled = false;
  });
  drop.addEventListener('click', async () => { await clearBasemap(); bar.value = 0; info.textContent = '已删除离线底图'; });
  return node;
}
