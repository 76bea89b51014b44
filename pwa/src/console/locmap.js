// The small location map in the desk's incident detail: the incident's point over its
// grid's outline, on the configured basemap, in the basemap's datum. MapLibre loads only
// when a detail with a location is opened.
import { h } from '../dom.js';
import { createMap, bboxOf } from '../mapbase.js';
import { mapDatum, fromWgs84, geometryFromWgs84 } from '../datum.js';
import { call, qs } from './session.js';

let current = null; // one detail is open at a time: its map is freed when the next one opens

export function releaseLocationMap() {
  if (!current) return;
  if (window.gpDeskMap === current) window.gpDeskMap = null;
  current.remove();
  current = null;
}

/** [lon, lat] of a record's WGS-84 GeoJSON point, or null. */
export function pointOf(record) {
  const loc = record && record.location;
  if (!loc || loc.type !== 'Point' || !Array.isArray(loc.coordinates)) return null;
  const [lon, lat] = loc.coordinates.map(Number);
  return Number.isFinite(lon) && Number.isFinite(lat) ? [lon, lat] : null;
}

/** The map node; it fills itself in (data-state: loading → ready | failed | none). */
export function locationMap(d, meta) {
  releaseLocationMap();
  const pt = pointOf(d.record);
  const status = h('p', { class: 'muted', testid: 'desk-locmap-status' }, pt ? '位置地图加载中…' : '该事件没有位置');
  const el = h('div', { class: 'detail-map', testid: 'desk-locmap', 'data-state': pt ? 'loading' : 'none', hidden: !pt });
  const box = h('div', { class: 'desk-locmap', testid: 'desk-location' }, h('b', {}, '位置'), status, el);
  if (!pt) return box;
  fill(el, status, d, pt, meta).catch((e) => { el.dataset.state = 'failed'; status.textContent = `位置地图无法显示：${e.message}`; });
  return box;
}

async function fill(el, status, d, [lon, lat], meta) {
  const datum = mapDatum(meta && meta.basemap_datum);
  // The grid's outline: the caller's grids around the point (the same GeoJSON the field app pulls).
  const code = d.grid && d.grid.code;
  let outline = null;
  if (code) {
    const r = 0.02;
    const fc = await call(`/grids${qs({ bbox: [lon - r, lat - r, lon + r, lat + r].join(',') })}`).catch(() => null);
    outline = ((fc && fc.features) || []).find((f) => f.properties && String(f.properties.code) === code) || null;
  }
  const grid = outline ? [{ type: 'Feature', properties: { code }, geometry: geometryFromWgs84(outline.geometry, datum) }] : [];
  const [x, y] = fromWgs84(lon, lat, datum);
  const here = { type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [x, y] } };
  const bounds = bboxOf(grid.length ? [...grid, here] : [here]);
  const pad = 0.0008; // a lone point (or a tiny grid) still shows its street
  const made = await createMap(el, {
    styleUrl: meta && meta.basemap_style,
    bounds: [bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad],
    onError: (msg) => { status.textContent = msg; el.dataset.state = 'failed'; },
  });
  if (!made) { el.hidden = true; return; }
  if (!el.isConnected) { made.map.remove(); return; } // another detail opened meanwhile
  releaseLocationMap();
  current = made.map;
  const { map } = made;
  map.addSource('grid', { type: 'geojson', data: { type: 'FeatureCollection', features: grid } });
  map.addSource('here', { type: 'geojson', data: { type: 'FeatureCollection', features: [here] } });
  map.addLayer({ id: 'grid-fill', type: 'fill', source: 'grid', paint: { 'fill-color': '#0b3d91', 'fill-opacity': 0.08 } });
  map.addLayer({ id: 'grid-line', type: 'line', source: 'grid', paint: { 'line-color': '#0b3d91', 'line-width': 2 } });
  map.addLayer({ id: 'here', type: 'circle', source: 'here', paint: {
    'circle-radius': 8, 'circle-color': '#c62828', 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
  el.dataset.state = 'ready';
  el.dataset.datum = datum;
  el.dataset.grid = outline ? code : '';
  el.dataset.point = `${x.toFixed(7)},${y.toFixed(7)}`;
  status.textContent = outline ? `红点是事件位置，蓝线是网格 ${d.grid.name || code} 的边界` : '红点是事件位置（未找到所在网格的边界）';
  window.gpDeskMap = map; // for tests and support staff, like gpConsoleMap
}
