// What the phone's map draws besides the grids: my records (pulled from the server, and
// the unsent ones still in the outbox, marked 未上传) and today's patrol track. Pure
// builders (rows in, GeoJSON out) so the rules are tested without a map; mapscreen.js
// reads IndexedDB and draws. Everything comes out in the basemap's datum.
import { fromWgs84, mapDatum } from './datum.js';

/** The five duties, as the home screen names them (巡/访/记/做/报), with their colours. */
export const KINDS = [
  { kind: 'patrol', glyph: '巡', name: '巡查', color: '#0b3d91' },
  { kind: 'visit', glyph: '访', name: '走访', color: '#6a1b9a' },
  { kind: 'record', glyph: '记', name: '信息', color: '#00695c' },
  { kind: 'handle', glyph: '做', name: '处置', color: '#ef6c00' },
  { kind: 'report', glyph: '报', name: '上报（按状态）', color: '#c62828' },
];

/** An incident's colour says how far it got, not its kind (it is always 报). */
export const STATUS_GROUPS = [
  { group: 'open', name: '待处理', color: '#c62828', statuses: ['reported', 'accepted', 'filed', 'dispatched', 'returned'] },
  { group: 'check', name: '待核查', color: '#f9a825', statuses: ['handled', 'verified'] },
  { group: 'done', name: '已办结', color: '#2e7d32', statuses: ['closed', 'self_handled'] },
  { group: 'stopped', name: '不处理', color: '#757575', statuses: ['rejected', 'void', 'shelved'] },
];

/**
 * The colour group of an incident status; unknown or missing counts as open.
 *
 * >>> statusGroup('dispatched'), statusGroup('closed'), statusGroup(undefined)
 * ['open', 'done', 'open']
 */
export function statusGroup(status) {
  const g = STATUS_GROUPS.find((s) => s.statuses.includes(status));
  return g ? g.group : 'open';
}

function kindOf(entity, data) {
  if (entity === 'incident') return 'report';
  return KINDS.some((k) => k.kind === data.kind) ? data.kind : 'record';
}

function colorOf(kind, group) {
  if (kind === 'report') return STATUS_GROUPS.find((s) => s.group === group).color;
  return KINDS.find((k) => k.kind === kind).color;
}

/**
 * A stored point as [lon, lat] in the map's datum. Pulled records are WGS-84 (the server
 * converts on the way in); an unsent one may have been picked on the basemap, in its datum.
 */
function pointIn(data, datum) {
  const loc = data && data.location;
  if (!loc || loc.type !== 'Point' || !Array.isArray(loc.coordinates)) return null;
  const [lon, lat] = loc.coordinates.map(Number);
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return null;
  const own = mapDatum(data.location_datum);
  // A point in the map's own datum is drawn as it is; a WGS-84 one is shifted onto it.
  return own === datum ? [lon, lat] : own === 'wgs84' ? fromWgs84(lon, lat, datum) : [lon, lat];
}

function feature(id, entity, data, datum, unsent) {
  const xy = pointIn(data, datum);
  if (!xy) return null;
  const kind = kindOf(entity, data);
  const group = kind === 'report' ? statusGroup(data.status) : '';
  return {
    type: 'Feature',
    properties: { id, entity, kind, group, status: data.status || '', unsent: unsent ? 1 : 0, color: colorOf(kind, group) },
    geometry: { type: 'Point', coordinates: xy },
  };
}

/**
 * My records as points: pulled rows ({id, data}) of inspections and incidents, overlaid
 * by the outbox (create/update ops not yet acknowledged). A record with an unsent op is
 * 未上传 and drawn where the newest op puts it.
 */
export function recordFeatures({ inspections = [], incidents = [], outbox = [] }, datum = 'wgs84') {
  const rows = new Map();
  for (const r of inspections) rows.set(r.id, { entity: 'inspection', data: r.data || {}, unsent: false });
  for (const r of incidents) rows.set(r.id, { entity: 'incident', data: r.data || {}, unsent: false });
  const ops = [...outbox].filter((o) => (o.entity === 'inspection' || o.entity === 'incident') && o.action !== 'delete')
    .sort((a, b) => a.device_seq - b.device_seq);
  for (const op of ops) {
    const had = rows.get(op.id);
    rows.set(op.id, { entity: op.entity, data: { ...(had ? had.data : {}), ...(op.data || {}) }, unsent: true });
  }
  const features = [];
  for (const [id, r] of rows) {
    const f = feature(id, r.entity, r.data, datum, r.unsent);
    if (f) features.push(f);
  }
  return { type: 'FeatureCollection', features };
}

/** Start of the local day, in ms. */
export function startOfDay(now = Date.now()) {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/**
 * Today's patrol track: the stored fixes ({patrol_id, lon, lat, t}, WGS-84) of today, one
 * line per patrol, shifted into the map's datum. A single fix still shows (as a point).
 */
export function trackFeatures(points, datum = 'wgs84', now = Date.now()) {
  const since = startOfDay(now);
  const by = new Map();
  for (const p of [...points].sort((a, b) => (a.n ?? 0) - (b.n ?? 0))) {
    if (p.t != null && p.t < since) continue;
    if (!by.has(p.patrol_id)) by.set(p.patrol_id, []);
    by.get(p.patrol_id).push(fromWgs84(p.lon, p.lat, datum));
  }
  const features = [];
  for (const [patrol, coords] of by) {
    const line = coords.length === 1 ? [coords[0], coords[0]] : coords;
    features.push({ type: 'Feature', properties: { patrol_id: patrol, points: coords.length }, geometry: { type: 'LineString', coordinates: line } });
  }
  return { type: 'FeatureCollection', features };
}
