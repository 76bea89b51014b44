// Position and grid matching. Geolocation gives WGS-84, as do pulled grids.
import { db } from './store.js';
import { api } from './api.js';

export function getPosition({ timeout = 15000, maximumAge = 0 } = {}) {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(Object.assign(new Error('本机不支持定位'), { reason: 'unsupported' })); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude, accuracy: Math.min(p.coords.accuracy, 100000), at: p.timestamp }),
      // reason lets the form tell a refused permission from a weak signal.
      (e) => reject(Object.assign(new Error(e.code === 1 ? '没有定位权限' : '暂时无法定位'), { reason: e.code === 1 ? 'denied' : e.code === 3 ? 'timeout' : 'unavailable' })),
      { enableHighAccuracy: true, timeout, maximumAge },
    );
  });
}

export function haversine(a, b) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(s));
}

function inRing(x, y, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function pointInGeometry(lon, lat, g) {
  if (!g) return false;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  return polys.some((rings) => rings.length && inRing(lon, lat, rings[0]) && !rings.slice(1).some((r) => inRing(lon, lat, r)));
}

/** Match against the grids kept on the device (works offline). */
export async function matchLocal(lon, lat) {
  const grids = await db.grids.toArray();
  const hits = grids.filter((g) => pointInGeometry(lon, lat, g.geometry)).sort((a, b) => a.code.localeCompare(b.code));
  if (!hits.length) return null;
  return { code: hits[0].code, name: hits[0].properties.name || hits[0].code, source: 'local' };
}

/** The grid a point falls in: the server's answer when online, else the local one. */
export async function matchGrid(lon, lat, { datum = 'wgs84' } = {}) {
  try {
    const res = await api('/grids/match', { method: 'POST', json: { points: [[lon, lat]], datum }, timeout: 6000 });
    const m = res && res.matches && res.matches[0];
    if (m) {
      if (!m.code) return { code: null, match: m.match, name: null, source: 'server' };
      const local = await db.grids.get(String(m.code));
      return { code: m.code, match: m.match, name: (local && local.properties.name) || m.name || m.code, source: 'server' };
    }
  } catch { /* offline: fall back */ }
  if (datum !== 'wgs84') return null;
  return matchLocal(lon, lat);
}

/**
 * Metres from a point to the nearest edge of a (Multi)Polygon, on a local flat
 * projection (fine at grid scale, a few kilometres). Used only to tell people
 * "距网格边界 12 米"; matching itself stays with the server and pointInGeometry.
 */
export function distanceToBoundary(lon, lat, g) {
  if (!g) return null;
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  const kx = 111320 * Math.cos(lat * Math.PI / 180);
  const ky = 110540;
  let best = Infinity;
  for (const rings of polys) {
    for (const ring of rings) {
      for (let i = 1; i < ring.length; i++) {
        const ax = (ring[i - 1][0] - lon) * kx; const ay = (ring[i - 1][1] - lat) * ky;
        const bx = (ring[i][0] - lon) * kx; const by = (ring[i][1] - lat) * ky;
        const dx = bx - ax; const dy = by - ay;
        const len = dx * dx + dy * dy;
        const t = len ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len)) : 0;
        best = Math.min(best, Math.hypot(ax + t * dx, ay + t * dy));
      }
    }
  }
  return Number.isFinite(best) ? best : null;
}
