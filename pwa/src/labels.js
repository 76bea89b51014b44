// Names, not codes: what a volunteer reads instead of grid codes, role keys and
// coordinates. Everything here works offline from the pulled grids.
import { db, kvGet } from './store.js';
import { distanceToBoundary, pointInGeometry } from './geo.js';
import { geometryFromWgs84, mapDatum } from './datum.js';

export const ROLE_NAMES = {
  patroller: '网格员', grid_leader: '网格长', supervisor: '主管', department: '职能部门', admin: '管理员',
};

export function roleName(role) {
  return ROLE_NAMES[role] || role || '';
}

/** The name to greet a user by: display name, else username. */
export function userName(user) {
  return (user && (user.display_name || user.username)) || '';
}

/** A grid's readable name from the pulled grids (falls back to the code). */
export async function gridName(code) {
  if (!code) return '';
  const g = await db.grids.get(String(code));
  return (g && g.properties && g.properties.name) || String(code);
}

/** My grids as names, e.g. ["示范01街道第01社区01网格"]. */
export async function myGridNames(user) {
  return Promise.all((user && user.grids ? user.grids : []).map((c) => gridName(c)));
}

/** Whether a grid code is one of the signed-in user's grids. */
export async function isMyGrid(code) {
  const u = await kvGet('user', null);
  return !!(u && code && (u.grids || []).map(String).includes(String(code)));
}

/**
 * Where a point is, in words: the grid containing it and how far the edge is,
 * e.g. "示范01街道第01社区01网格，距网格边界 12 米". The point is in `datum`
 * (a GPS fix is WGS-84, a map tap is in the basemap's datum); the grid is
 * shifted into that datum first, so the distance is right either way.
 * Returns null when no pulled grid contains the point.
 */
export async function placeOf(lon, lat, datum = 'wgs84') {
  const d = mapDatum(datum);
  const grids = await db.grids.toArray();
  for (const g of grids.sort((a, b) => a.code.localeCompare(b.code))) {
    const geom = d === 'wgs84' ? g.geometry : geometryFromWgs84(g.geometry, d);
    if (pointInGeometry(lon, lat, geom)) {
      const m = distanceToBoundary(lon, lat, geom);
      const name = (g.properties && g.properties.name) || g.code;
      return { code: g.code, name, edge_m: m, text: m != null ? `${name}，距网格边界 ${Math.round(m)} 米` : name };
    }
  }
  return null;
}
