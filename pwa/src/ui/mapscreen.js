// 地图: my grids, my position, and which grid I am in. MapLibre is loaded
// only here (and in the report form's map picker).
import { h, mount } from '../dom.js';
import { db, kvGet } from '../store.js';
import { createMap, bboxOf } from '../mapbase.js';
import { matchGrid } from '../geo.js';
import { mapDatum, fromWgs84, geometryFromWgs84 } from '../datum.js';
import { placeOf, isMyGrid } from '../labels.js';
import { on } from '../bus.js';
import { KINDS, STATUS_GROUPS, recordFeatures, trackFeatures } from '../mylayers.js';
import '../field.css';
import './mapscreen.css';

export async function gridCollection() {
  const grids = await db.grids.toArray();
  return { type: 'FeatureCollection', features: grids.map((g) => ({ type: 'Feature', properties: g.properties, geometry: g.geometry })) };
}

/**
 * A map with my grids; resolves {map, maplibregl, datum} or null (status says why).
 * Everything on it is in the basemap's datum (meta.basemap_datum), so the grids line up
 * with a GCJ-02 or BD-09 basemap and a tap gives a point in that datum.
 */
export async function gridMap(container, status) {
  const meta = await kvGet('meta', null);
  const datum = mapDatum(meta && meta.basemap_datum);
  const wgs = await gridCollection();
  const fc = { ...wgs, features: wgs.features.map((f) => ({ ...f, geometry: geometryFromWgs84(f.geometry, datum) })) };
  const made = await createMap(container, {
    styleUrl: meta && meta.basemap_style,
    bounds: bboxOf(fc.features) || undefined,
    onError: (msg) => { status.textContent = msg; status.dataset.state = 'failed'; },
  });
  if (!made) return null;
  const { map } = made;
  map.addSource('grids', { type: 'geojson', data: fc });
  map.addSource('me', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({ id: 'grids-fill', type: 'fill', source: 'grids', paint: { 'fill-color': '#0b3d91', 'fill-opacity': 0.1 } });
  map.addLayer({ id: 'grids-line', type: 'line', source: 'grids', paint: { 'line-color': '#0b3d91', 'line-width': 2 } });
  map.addLayer({ id: 'me', type: 'circle', source: 'me', paint: { 'circle-radius': 9, 'circle-color': '#212121', 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
  status.textContent = fc.features.length ? '' : '本机还没有网格数据（联网同步后出现）';
  status.dataset.state = 'ready';
  container.dataset.grids = String(fc.features.length);
  container.dataset.datum = datum;
  window.gpFieldMap = map; // for tests and support staff, like the console's gpConsoleMap
  return { ...made, datum, container };
}

/** Draw "me" at a point given in the map's own datum. */
export function setPoint(made, lon, lat) {
  made.map.getSource('me').setData({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Point', coordinates: [lon, lat] } }] });
  made.container.dataset.me = `${lon.toFixed(7)},${lat.toFixed(7)}`;
}

/** Draw "me" at a WGS-84 fix (GPS), shifted into the map's datum. */
export function setFix(made, lon, lat) {
  const [x, y] = fromWgs84(lon, lat, made.datum);
  setPoint(made, x, y);
}

function removeMap(made) {
  if (!made) return;
  if (window.gpFieldMap === made.map) window.gpFieldMap = null;
  made.map.remove();
}

const EMPTY = { type: 'FeatureCollection', features: [] };

/** Add my records and today's track to a grid map (under "me"). */
function addMyLayers(made) {
  const { map } = made;
  map.addSource('track', { type: 'geojson', data: EMPTY });
  map.addSource('mine', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'track', type: 'line', source: 'track', layout: { 'line-cap': 'round', 'line-join': 'round' },
    paint: { 'line-color': '#1565c0', 'line-width': 4, 'line-opacity': 0.8 } }, 'me');
  // Sent: a filled dot in its colour. Unsent (未上传): white inside, a thick ring in its colour.
  map.addLayer({ id: 'mine', type: 'circle', source: 'mine', paint: {
    'circle-radius': 7,
    'circle-color': ['case', ['==', ['get', 'unsent'], 1], '#ffffff', ['get', 'color']],
    'circle-stroke-color': ['case', ['==', ['get', 'unsent'], 1], ['get', 'color'], '#ffffff'],
    'circle-stroke-width': ['case', ['==', ['get', 'unsent'], 1], 3.5, 1.5],
  } }, 'me');
}

/** Read my records, the outbox and today's fixes from IndexedDB and draw them. */
export async function refreshMyLayers(made) {
  const [inspections, incidents, outbox, points] = await Promise.all([
    db.inspections.toArray(), db.incidents.toArray(), db.outbox.toArray(), db.trackpoints.toArray()]);
  const mine = recordFeatures({ inspections, incidents, outbox }, made.datum);
  const track = trackFeatures(points, made.datum);
  if (!made.map.getSource('mine')) return; // the map was removed meanwhile
  made.map.getSource('mine').setData(mine);
  made.map.getSource('track').setData(track);
  const unsent = mine.features.filter((f) => f.properties.unsent).length;
  made.container.dataset.records = String(mine.features.length);
  made.container.dataset.unsent = String(unsent);
  made.container.dataset.track = String(track.features.reduce((n, f) => n + f.properties.points, 0));
}

function chip(color, glyph, hollow) {
  return h('span', { class: hollow ? 'lg-dot lg-hollow' : 'lg-dot', style: hollow ? { borderColor: color } : { background: color } }, glyph || '');
}

/** The legend: what each colour and mark means, in words a volunteer reads. */
function legend() {
  return h('div', { class: 'map-legend', testid: 'map-legend' },
    h('p', { class: 'lg-row' }, ...KINDS.map((k) => h('span', { class: 'lg-item', 'data-kind': k.kind }, chip(k.color, k.glyph), k.kind === 'report' ? '上报的事件' : k.name))),
    h('p', { class: 'lg-row' }, '事件状态：', ...STATUS_GROUPS.map((g) => h('span', { class: 'lg-item', 'data-group': g.group }, chip(g.color), g.name))),
    h('p', { class: 'lg-row' },
      h('span', { class: 'lg-item', 'data-unsent': '1' }, chip('#555', '', true), '未上传（还在手机里）'),
      h('span', { class: 'lg-item' }, h('span', { class: 'lg-line' }), '今天的巡查轨迹'),
      h('span', { class: 'lg-item' }, chip('#212121'), '我的位置')));
}

export async function mapScreen(root, { go }) {
  const status = h('p', { class: 'muted', testid: 'map-status', 'data-state': 'loading' }, '地图加载中…');
  const where = h('p', { class: 'grid-name', testid: 'map-grid' }, '正在定位…');
  const place = h('p', { testid: 'map-place' });
  const pos = h('p', { class: 'muted', testid: 'map-position' });
  const el = h('div', { class: 'map', testid: 'map-view' });
  mount(root, h('h2', {}, '地图'), where, place, pos, status, el, legend(), h('div', { class: 'row' }, h('button', { onclick: () => go('') }, '返回')));
  let made = null;
  let watchId = null;
  let lastMatch = 0;
  let fix = null;
  let gone = false;
  async function onPos(p) {
    const { longitude: lon, latitude: lat, accuracy } = p.coords;
    fix = { lon, lat };
    // Coordinates mean nothing to most volunteers: they stay in data-lon / data-lat.
    pos.textContent = `手机定位，误差约 ${Math.round(accuracy)} 米`;
    pos.dataset.lon = String(lon);
    pos.dataset.lat = String(lat);
    if (made) setFix(made, lon, lat);
    if (Date.now() - lastMatch > 5000) {
      lastMatch = Date.now();
      const m = await matchGrid(lon, lat);
      where.textContent = m && m.code ? `您在 ${m.name}` : m ? '您不在任何网格内' : '离线：无法确定所在网格';
      where.dataset.code = (m && m.code) || '';
      const pl = await placeOf(lon, lat);
      place.textContent = pl && pl.edge_m != null ? `距网格边界约 ${Math.round(pl.edge_m)} 米` : '';
    }
  }
  if (navigator.geolocation) {
    watchId = navigator.geolocation.watchPosition(onPos, () => { where.textContent = '暂时无法定位'; }, { enableHighAccuracy: true, maximumAge: 0, timeout: 20000 });
  }
  const m = await gridMap(el, status);
  if (gone) { removeMap(m); return null; }
  made = m;
  // The first fix usually comes before the map has loaded: draw it now.
  if (made && fix) setFix(made, fix.lon, fix.lat);
  const offs = [];
  if (made) {
    addMyLayers(made);
    await refreshMyLayers(made);
    // A new record, an upload, a pull or a new fix of the patrol: redraw (cheap: a few hundred points).
    let pending = false;
    const redraw = () => {
      if (pending || gone) return;
      pending = true;
      setTimeout(() => { pending = false; if (!gone) refreshMyLayers(made); }, 300);
    };
    for (const topic of ['outbox', 'pulled', 'track', 'patrol']) offs.push(on(topic, redraw));
  }
  return () => {
    gone = true;
    for (const off of offs) if (typeof off === 'function') off();
    if (watchId != null) navigator.geolocation.clearWatch(watchId);
    removeMap(made);
  };
}

/**
 * Inline map to adjust a point: onPick is called when the user taps "用这个位置".
 * A tapped point is in the basemap's datum (and says so); a start point the user did
 * not move comes back unchanged, in its own datum.
 */
export async function pickPointOnMap(container, start, onPick) {
  const status = h('p', { class: 'muted', testid: 'pick-status', 'data-state': 'loading' }, '地图加载中…');
  const el = h('div', { class: 'map', testid: 'pick-map', style: { height: '50vh' } });
  const hint = h('p', {}, '用手指点一下地图上事情发生的地方，再点“用这个位置”。蓝线框住的是您的网格。');
  const where = h('p', { class: 'pick-where', testid: 'pick-where', 'aria-live': 'polite' });
  const use = h('button', { type: 'button', class: 'primary', testid: 'pick-use', disabled: true }, '用这个位置');
  const cancel = h('button', { type: 'button', testid: 'pick-cancel' }, '取消');
  mount(container, hint, status, el, where, h('div', { class: 'row' }, cancel, use));
  const made = await gridMap(el, status);
  let chosen = null; // a tapped point, in the map's datum
  const close = () => { removeMap(made); mount(container); };
  cancel.onclick = close;
  if (!made) return;
  if (start) {
    // A GPS fix is WGS-84: shift it onto the basemap. A point picked before is in its own datum.
    const own = mapDatum(start.datum);
    const [x, y] = own === 'wgs84' ? fromWgs84(start.lon, start.lat, made.datum) : [start.lon, start.lat];
    setPoint(made, x, y);
    made.map.setCenter([x, y]);
    made.map.setZoom(16);
    use.disabled = false;
  }
  // Say plainly whether the tapped point is in one of my grids; outside is allowed.
  let seq = 0;
  async function describe(lon, lat) {
    const my = ++seq;
    const pl = await placeOf(lon, lat, made.datum);
    const mine = pl ? await isMyGrid(pl.code) : false;
    if (my !== seq) return;
    where.textContent = mine ? `选中：${pl.text}` : pl ? `选中：${pl.name}。不在您的网格内，仍可上报` : '不在您的网格内，仍可上报';
    where.className = mine ? 'pick-where' : 'pick-where pick-outside';
    where.dataset.outside = mine ? '0' : '1';
  }
  made.map.on('click', (e) => {
    chosen = { lon: e.lngLat.lng, lat: e.lngLat.lat };
    setPoint(made, chosen.lon, chosen.lat);
    use.disabled = false;
    describe(chosen.lon, chosen.lat);
  });
  use.onclick = () => {
    if (chosen) onPick({ lon: chosen.lon, lat: chosen.lat, accuracy: null, datum: made.datum, adjusted: true });
    else if (start) onPick({ ...start });
    close();
  };
}
