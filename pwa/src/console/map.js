// 地图: vector-tile layers from /api/v1/tiles (grids coloured by a measure,
// inspections by kind, incidents by traffic light, patrol tracks, heat), layer
// toggles and filters, popups with the record. The list of recent inspections
// (GET /map/inspections) is the fallback without WebGL and the test hook.
import { h, mount, fmtTime } from '../dom.js';
import { createMap, bboxOf } from '../mapbase.js';
import { call, blob, token, qs, explain } from './session.js';
import { KIND, KIND_COLOR, STATUS, LIGHT_COLOR } from './labels.js';
import { recordNode, releasePhotos } from './detail.js';
import { areaPicker } from './areas.js';
import { distinctHits, hitBox } from './maphits.js';
import './mapdetails.css';

const LAYERS = [
  ['grids', '网格'], ['inspections', '巡查记录'], ['incidents', '事件'], ['tracks', '巡查轨迹'], ['heat', '热力'],
];
const MEASURES = [
  ['coverage', '今日巡查覆盖'], ['open', '未结事件'], ['overdue', '超期事件'], ['days_since_visit', '距上次走访天数'],
];
const GREY = '#9e9e9e';

function measureColor(measure) {
  const v = ['get', 'value'];
  switch (measure) {
    case 'open': return ['step', ['coalesce', v, 0], LIGHT_COLOR.green, 1, LIGHT_COLOR.yellow, 3, LIGHT_COLOR.red];
    case 'overdue': return ['step', ['coalesce', v, 0], LIGHT_COLOR.green, 1, LIGHT_COLOR.red];
    case 'days_since_visit': return ['case', ['==', v, null], '#5c0010',
      ['step', v, LIGHT_COLOR.green, 4, LIGHT_COLOR.yellow, 8, LIGHT_COLOR.red]];
    default: return ['interpolate', ['linear'], ['coalesce', v, 0], 0, LIGHT_COLOR.red, 0.5, LIGHT_COLOR.yellow, 1, LIGHT_COLOR.green];
  }
}

const LEGEND = {
  coverage: [[LIGHT_COLOR.red, '未巡查'], [LIGHT_COLOR.yellow, '约一半天数'], [LIGHT_COLOR.green, '每天都巡查']],
  open: [[LIGHT_COLOR.green, '0 件'], [LIGHT_COLOR.yellow, '1–2 件'], [LIGHT_COLOR.red, '3 件及以上']],
  overdue: [[LIGHT_COLOR.green, '无超期'], [LIGHT_COLOR.red, '有超期']],
  days_since_visit: [[LIGHT_COLOR.green, '3 天内'], [LIGHT_COLOR.yellow, '4–7 天'], [LIGHT_COLOR.red, '8 天以上'], ['#5c0010', '从未走访']],
};

function grid15(code) { return typeof code === 'string' ? code : ''; }

export function mapView(root) {
  const st = { map: null, maplibregl: null, list: null, grids: null, selected: null, alive: true, popup: null, meta: null };
  // The server's settings, the state machine's status sets among them (the 未结 filter
  // sends /meta's `incident_statuses.open`: the console keeps no copy of the rule).
  const metaPromise = call('/meta').catch(() => null).then((m) => {
    st.meta = m;
    if (m && st.alive && status.value === 'open') applyFilters(); // chosen before /meta came
    return m;
  });
  const count = h('span', { testid: 'console-count' }, '');
  const mapStatus = h('span', { class: 'muted', testid: 'console-map-status', 'data-state': 'loading' }, '地图加载中…');
  const mapEl = h('div', { class: 'map', id: 'console-map', testid: 'console-map' });
  const list = h('div', { testid: 'console-list' });
  const detail = h('div', { testid: 'console-detail' });
  const legend = h('div', { class: 'legend', testid: 'map-legend' });

  const measure = h('select', { testid: 'map-measure', 'aria-label': '网格着色' }, MEASURES.map(([v, t]) => h('option', { value: v }, t)));
  const toggles = LAYERS.map(([id, name]) => {
    const box = h('input', { type: 'checkbox', testid: `layer-${id}`, checked: id !== 'heat' && id !== 'tracks', 'data-layer': id });
    box.addEventListener('change', () => applyVisibility());
    return h('label', { class: 'check inline' }, box, name);
  });
  const from = h('input', { type: 'date', testid: 'filter-from', 'aria-label': '开始日期' });
  const to = h('input', { type: 'date', testid: 'filter-to', 'aria-label': '结束日期' });
  const kind = h('select', { testid: 'filter-kind', 'aria-label': '记录类型' }, h('option', { value: '' }, '全部类型'),
    Object.entries(KIND).map(([k, t]) => h('option', { value: k }, t)));
  const status = h('select', { testid: 'filter-status', 'aria-label': '事件状态' }, h('option', { value: '' }, '全部状态'),
    h('option', { value: 'open' }, '未结（全部未结状态）'),
    Object.entries(STATUS).map(([k, t]) => h('option', { value: k }, t)));
  const area = areaPicker('filter', () => applyFilters());
  const filterMsg = h('span', { class: 'err', testid: 'map-filter-error', role: 'alert' });
  for (const el of [measure, from, to, kind, status]) el.addEventListener('change', () => applyFilters());

  // GIS export (GET /api/v1/export/{collection}.gpkg|.shp.zip): the collection in the
  // caller's scope, limited to the date range picked above, for QGIS/ArcGIS.
  const gisColl = h('select', { testid: 'gis-collection', 'aria-label': '导出图层' },
    [['grids', '网格'], ['inspections', '巡查记录'], ['incidents', '事件'], ['tracks', '巡查轨迹']].map(([v, t]) => h('option', { value: v }, t)));
  const gisFormat = h('select', { testid: 'gis-format', 'aria-label': '导出格式' },
    [['gpkg', 'GeoPackage'], ['shp.zip', 'Shapefile (UTF-8)'], ['shp.zip?gbk', 'Shapefile (GBK，旧版 ArcGIS)']].map(([v, t]) => h('option', { value: v }, t)));
  const gisBtn = h('button', { testid: 'gis-export' }, '导出 GIS 文件');
  const gisMsg = h('span', { class: 'muted', testid: 'gis-export-msg', role: 'status' });
  const gisLinks = h('span', { testid: 'gis-downloads' });
  const gisUrls = [];
  gisBtn.addEventListener('click', async () => {
    const [ext, enc] = gisFormat.value.split('?');
    const f = filterValues();
    const p = {};
    if (gisColl.value !== 'grids' && (f.from || f.to)) p.datetime = `${f.from || '..'}/${f.to || '..'}`;
    if (enc) p.encoding = enc;
    gisBtn.disabled = true;
    gisMsg.className = 'muted'; gisMsg.textContent = '正在导出…';
    try {
      const { blob: b, disposition } = await blob(`/export/${gisColl.value}.${ext}${qs(p)}`);
      const name = (disposition.match(/filename="?([^";]+)"?/) || [])[1] || `gridpatrol-${gisColl.value}.${ext}`;
      const u = URL.createObjectURL(b);
      gisUrls.push(u);
      const a = h('a', { href: u, download: name, testid: `gis-download-${gisColl.value}`, 'data-size': String(b.size) }, `下载 ${name}`);
      gisLinks.appendChild(a);
      gisLinks.appendChild(document.createTextNode(' '));
      a.click();
      gisMsg.className = 'ok'; gisMsg.textContent = `已导出 ${name}`;
    } catch (e) {
      gisMsg.className = 'err'; gisMsg.textContent = `导出失败：${explain(e)}`;
    } finally { gisBtn.disabled = false; }
  });

  mount(root,
    h('section', { class: 'filters', testid: 'map-filters' },
      h('label', { class: 'inline' }, '网格着色 ', measure),
      h('span', { class: 'toggles', testid: 'layer-toggles' }, toggles),
      h('span', { class: 'range' }, h('label', { class: 'inline' }, '从 ', from), h('label', { class: 'inline' }, '到 ', to)),
      h('label', { class: 'inline' }, '类型 ', kind), h('label', { class: 'inline' }, '状态 ', status), area.node, filterMsg),
    h('section', { class: 'filters', testid: 'gis-export-bar' }, gisColl, gisFormat, gisBtn, gisMsg, gisLinks),
    h('p', {}, '巡查记录：', count, ' ', mapStatus),
    h('div', { class: 'console-layout' }, h('div', { class: 'map-wrap' }, mapEl, legend), h('aside', {}, detail, list)));

  function filterValues() {
    const a = area.value();
    const open = (st.meta && st.meta.incident_statuses && st.meta.incident_statuses.open) || [];
    return { from: from.value, to: to.value, kind: kind.value, status: status.value === 'open' ? open : status.value, ...a };
  }

  function query(layer) {
    const f = filterValues();
    const p = { from: f.from, to: f.to, street: f.street, community: f.community };
    if (layer === 'grids') p.measure = measure.value;
    if (layer === 'inspections' || layer === 'heat') p.kind = f.kind;
    if (layer === 'incidents') p.status = f.status;
    return qs(p);
  }
  const tileUrl = (layer) => `${location.origin}/api/v1/tiles/${layer}/{z}/{x}/{y}.mvt${query(layer)}`;

  function renderLegend() {
    mount(legend, h('b', {}, MEASURES.find(([v]) => v === measure.value)[1]), ' ',
      LEGEND[measure.value].map(([c, t]) => h('span', { class: 'swatch' }, h('i', { style: { background: c } }), t)),
      h('br'), h('b', {}, '事件'), ' ',
      [['green', '正常'], ['yellow', '临近时限'], ['red', '超期']].map(([k, t]) => h('span', { class: 'swatch' }, h('i', { class: 'dot', style: { background: LIGHT_COLOR[k] } }), t)),
      h('br'), h('b', {}, '记录'), ' ',
      Object.entries(KIND).map(([k, t]) => h('span', { class: 'swatch' }, h('i', { class: 'dot', style: { background: KIND_COLOR[k] } }), t)));
    legend.dataset.measure = measure.value;
  }

  function applyVisibility() {
    if (!st.map) return;
    const on = Object.fromEntries(toggles.map((l) => { const b = l.querySelector('input'); return [b.dataset.layer, b.checked]; }));
    const groups = { grids: ['grids-fill', 'grids-line'], inspections: ['insp-points', 'insp-clusters'], incidents: ['inc-points', 'inc-clusters'], tracks: ['tracks-line'], heat: ['heat'] };
    for (const [k, ids] of Object.entries(groups)) for (const id of ids) if (st.map.getLayer(id)) st.map.setLayoutProperty(id, 'visibility', on[k] ? 'visible' : 'none');
    mapEl.dataset.layers = Object.keys(on).filter((k) => on[k]).join(',');
  }

  function applyFilters() {
    if (from.value && to.value && from.value > to.value) {
      filterMsg.textContent = '开始日期不能晚于结束日期';
      return;
    }
    filterMsg.textContent = '';
    renderLegend();
    const qsAll = Object.fromEntries(LAYERS.map(([l]) => [l, query(l)]));
    mapEl.dataset.query = JSON.stringify(qsAll);
    if (st.map) {
      for (const [l] of LAYERS) { const s = st.map.getSource(`t-${l}`); if (s) s.setTiles([tileUrl(l)]); }
      if (st.map.getLayer('grids-fill')) st.map.setPaintProperty('grids-fill', 'fill-color', measureColor(measure.value));
    }
    renderList();
  }

  async function load() {
    try {
      if (!st.grids) {
        st.grids = await call('/grids?bbox=70,15,140,55&simplify=20');
        mapEl.dataset.grids = String((st.grids.features || []).length);
      }
      const bb = bboxOf(st.grids.features || []);
      const q = bb ? [bb[0] - 0.05, bb[1] - 0.05, bb[2] + 0.05, bb[3] + 0.05].map((x) => x.toFixed(5)).join(',') : '70,15,140,55';
      st.list = await call(`/map/inspections?bbox=${q}&limit=2000`);
      if (!st.alive) return;
      renderList();
      await renderMap(bb);
    } catch (e) {
      if (e.status !== 401) mount(list, h('p', { class: 'err', testid: 'console-list-error' }, `记录加载失败：${explain(e)}`));
    }
  }

  function shownFeatures() {
    const f = filterValues();
    const t0 = f.from ? new Date(`${f.from}T00:00:00`).getTime() : null;
    const t1 = f.to ? new Date(`${f.to}T00:00:00`).getTime() + 86400000 : null;
    const prefix = f.community || f.street;
    return ((st.list && st.list.features) || []).filter((x) => {
      const p = x.properties || {};
      if (f.kind && p.kind !== f.kind) return false;
      if (prefix && !grid15(p.grid_code).startsWith(prefix)) return false;
      const t = new Date(p.created_at).getTime();
      if (t0 !== null && t < t0) return false;
      if (t1 !== null && t >= t1) return false;
      return true;
    });
  }

  function renderList() {
    const feats = shownFeatures();
    count.textContent = `${feats.length} 条`;
    count.dataset.count = String(feats.length);
    mapEl.dataset.features = String(feats.length);
    mount(list, feats.length ? feats.slice(0, 500).map((f) => {
      const p = f.properties || {};
      const item = h('button', { class: 'list-item card', testid: 'console-feature', 'data-id': p.id, 'data-grid': p.grid_code || '', 'data-kind': p.kind || '' },
        h('i', { class: 'dot', style: { background: KIND_COLOR[p.kind] || '#000' } }), ' ',
        h('b', {}, KIND[p.kind] || p.kind || ''), ' ', h('span', { class: 'muted' }, `${p.grid_code || '未匹配'} · ${p.created_by || ''} · ${fmtTime(p.created_at)}`),
        h('div', { class: 'note', testid: 'console-feature-note' }, p.note || ''));
      item.addEventListener('click', () => select(f));
      return item;
    }) : h('p', { class: 'muted', testid: 'console-list-empty' }, '没有符合条件的记录'));
    if (st.map && st.map.getSource('inspections')) st.map.getSource('inspections').setData({ type: 'FeatureCollection', features: feats });
  }

  function popupNode(p) {
    return h('div', { testid: 'popup', class: 'popup', 'data-id': p.id || '' },
      h('b', {}, KIND[p.kind] || p.kind || ''), ' ',
      h('span', { class: 'muted' }, p.grid_code ? `网格 ${p.grid_code}（${p.match || ''}）` : '未匹配网格'),
      h('div', { class: 'note', testid: 'popup-note' }, p.note || ''),
      h('div', { class: 'muted' }, `${p.created_by || ''} · ${fmtTime(p.occurred_at || p.created_at)}`));
  }

  /** The full record (photos, history) under a popup body, loaded by id. */
  function withRecord(head, id, pending) {
    const more = h('div', { testid: 'popup-record', 'data-state': 'loading' }, h('p', { class: 'muted' }, '正在载入详情…'));
    (pending || call(`/desk/records/${encodeURIComponent(id)}`)).then((d) => {
      mount(more, recordNode(d));
      more.dataset.state = 'ready';
    }).catch((e) => { mount(more, h('p', { class: 'err' }, explain(e))); more.dataset.state = 'failed'; });
    return h('div', { class: 'popup-wrap' }, head, more);
  }

  function select(f) {
    const p = f.properties || {};
    releasePhotos();
    mount(detail, withRecord(popupNode(p), p.id));
    st.selected = p.id;
    st.focus = f;
    if (st.map) focusOnMap(f);
  }

  function focusOnMap(f) {
    st.focus = null;
    const p = f.properties || {};
    if (!f.geometry) return;
    const { map, maplibregl } = st;
    if (map.getLayer('insp-selected')) map.setFilter('insp-selected', ['==', ['get', 'id'], p.id]);
    map.easeTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 15) });
    showPopup(maplibregl, f.geometry.coordinates, popupNode(p));
  }

  function showPopup(maplibregl, lngLat, node) {
    if (st.popup) st.popup.remove();
    // Long text never spills off the map: the popup is at most half the map each way (so
    // MapLibre's anchoring always finds a side where it fits) and scrolls inside.
    const box = st.map.getContainer();
    const w = Math.max(160, Math.min(360, Math.floor(box.clientWidth / 2) - 24));
    const ht = Math.max(120, Math.min(420, Math.floor(box.clientHeight / 2) - 30));
    const body = h('div', { class: 'popup-scroll', testid: 'popup-scroll', style: { maxHeight: `${ht}px` } }, node);
    st.popup = new maplibregl.Popup({ closeOnClick: true, maxWidth: `${w}px`, className: 'gp-popup' }).setLngLat(lngLat).setDOMContent(body).addTo(st.map);
  }

  function hitHead(hit) {
    const p = hit.properties || {};
    return hit.layer.id === 'inc-points'
      ? h('div', { class: 'popup', testid: 'popup-incident', 'data-light': p.light || '' }, h('b', {}, p.title || '事件'), ' ', h('span', { class: 'muted' }, STATUS[p.status] || p.status || ''))
      : h('div', { class: 'popup', testid: 'popup' }, h('b', {}, hit.layer.id === 'tracks-line' ? '巡查轨迹' : (KIND[p.kind] || p.kind || '')), ' ', h('span', { class: 'muted' }, p.grid_code || ''));
  }

  /** Open one clicked record: in the popup (optionally with a way back to the list) and the side panel. */
  function openHit(hit, maplibregl, lngLat, back) {
    const p = hit.properties || {};
    const head = hitHead(hit);
    releasePhotos();
    const pending = call(`/desk/records/${encodeURIComponent(p.id)}`);
    pending.catch(() => {});
    const node = withRecord(head, p.id, pending);
    if (back) node.prepend(h('button', { type: 'button', class: 'link', testid: 'popup-back', onclick: back }, `‹ 返回此处的 ${back.count} 条`));
    mount(detail, withRecord(head.cloneNode(true), p.id, pending));
    showPopup(maplibregl, lngLat, node);
  }

  /** Every record at the clicked spot as a list; a click opens that one. */
  function colocatedNode(hits, maplibregl, lngLat) {
    const back = () => showPopup(maplibregl, lngLat, colocatedNode(hits, maplibregl, lngLat));
    back.count = hits.length;
    const incidents = hits.filter((f) => f.layer.id === 'inc-points').length;
    const what = incidents === hits.length ? '事件' : incidents ? '条记录和事件' : '条记录';
    return h('div', { class: 'popup popup-colocated', testid: 'popup-colocated', 'data-count': String(hits.length) },
      h('b', {}, `此处 ${hits.length} ${what === '事件' ? '件事件' : what}`),
      h('ul', { class: 'colocated' }, hits.map((f) => {
        const p = f.properties || {};
        const inc = f.layer.id === 'inc-points';
        return h('li', {}, h('button', { type: 'button', class: 'colocated-item', testid: 'colocated-item', 'data-id': p.id || '', 'data-entity': inc ? 'incident' : 'inspection',
          onclick: () => openHit(f, maplibregl, lngLat, back) },
        inc ? h('span', { class: `light light-${p.light || 'none'}` }, { green: '绿', yellow: '黄', red: '红' }[p.light] || '—') : h('i', { class: 'dot', style: { background: KIND_COLOR[p.kind] || '#000' } }),
        ' ', h('span', { class: 'colocated-title' }, inc ? (p.title || '事件') : (KIND[p.kind] || p.kind || '记录')),
        ' ', h('span', { class: 'muted' }, inc ? (STATUS[p.status] || p.status || '') : (p.grid_code || ''))));
      })));
  }

  function clusterNode(p, what) {
    const parts = what === 'incidents'
      ? [['red', '红'], ['yellow', '黄'], ['green', '绿']].map(([k, t]) => `${t} ${p[k] || 0}`).join(' · ') + ` · 未结 ${p.open || 0}`
      : Object.entries(KIND).map(([k, t]) => (p[k] ? `${t} ${p[k]}` : null)).filter(Boolean).join(' · ');
    return h('div', { testid: 'popup-cluster', class: 'popup' }, h('b', {}, `此处 ${p.count} 条${what === 'incidents' ? '事件' : '记录'}`),
      h('div', {}, parts), h('div', { class: 'muted' }, '放大地图可查看每一条'));
  }

  function gridNode(p) {
    const m = MEASURES.find(([v]) => v === p.measure);
    let value = p.value;
    if (p.measure === 'coverage') value = value === null || value === undefined ? '—' : `${Math.round(Number(value) * 100)}%`;
    else if (p.measure === 'days_since_visit') value = value === null || value === undefined ? '从未走访' : `${value} 天`;
    else value = `${value ?? 0} 件`;
    return h('div', { testid: 'popup-grid', class: 'popup', 'data-code': p.code || '' }, h('b', {}, p.name || ''), h('div', { class: 'muted' }, p.code || ''),
      h('div', {}, `${m ? m[1] : ''}：${value}`));
  }

  async function renderMap(bb) {
    if (st.map) return;
    if (st.mapPromise) return st.mapPromise;
    st.mapPromise = (async () => {
      const meta = await metaPromise;
      mapEl.dataset.basemap = (meta && meta.basemap && meta.basemap.kind) || 'none';
      const made = await createMap(mapEl, {
        styleUrl: meta && meta.basemap_style,
        bounds: bb || undefined,
        onError: (msg) => { mapStatus.textContent = msg; mapStatus.dataset.state = 'failed'; },
      });
      if (!made || !st.alive) { if (made) made.map.remove(); return; }
      const { map, maplibregl } = made;
      Object.assign(st, { map, maplibregl });
      map.setTransformRequest((url) => (url.includes('/api/v1/tiles/') && token() ? { url, headers: { Authorization: `Bearer ${token()}` } } : { url }));
      for (const [l] of LAYERS) map.addSource(`t-${l}`, { type: 'vector', tiles: [tileUrl(l)], minzoom: 0, maxzoom: 22 });
      map.addSource('inspections', { type: 'geojson', data: { type: 'FeatureCollection', features: shownFeatures() } });
      const notCluster = ['!=', ['get', 'cluster'], true];
      const isCluster = ['==', ['get', 'cluster'], true];
      map.addLayer({ id: 'grids-fill', type: 'fill', source: 't-grids', 'source-layer': 'grids', paint: { 'fill-color': measureColor(measure.value), 'fill-opacity': 0.35 } });
      map.addLayer({ id: 'grids-line', type: 'line', source: 't-grids', 'source-layer': 'grids', paint: { 'line-color': '#0b3d91', 'line-width': 1.2 } });
      map.addLayer({ id: 'heat', type: 'heatmap', source: 't-heat', 'source-layer': 'heat', layout: { visibility: 'none' }, paint: {
        'heatmap-weight': ['interpolate', ['linear'], ['get', 'count'], 0, 0, 20, 1],
        'heatmap-radius': 24, 'heatmap-opacity': 0.75 } });
      map.addLayer({ id: 'tracks-line', type: 'line', source: 't-tracks', 'source-layer': 'tracks', filter: notCluster, layout: { visibility: 'none' }, paint: { 'line-color': '#1565c0', 'line-width': 3 } });
      map.addLayer({ id: 'insp-clusters', type: 'circle', source: 't-inspections', 'source-layer': 'inspections', filter: isCluster, paint: {
        'circle-color': '#1565c0', 'circle-opacity': 0.6, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
        'circle-radius': ['interpolate', ['linear'], ['get', 'count'], 1, 7, 100, 16, 10000, 28] } });
      map.addLayer({ id: 'insp-points', type: 'circle', source: 't-inspections', 'source-layer': 'inspections', filter: notCluster, paint: {
        'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
        'circle-color': ['match', ['get', 'kind'], ...Object.entries(KIND_COLOR).flat(), '#000'] } });
      map.addLayer({ id: 'inc-clusters', type: 'circle', source: 't-incidents', 'source-layer': 'incidents', filter: isCluster, paint: {
        'circle-color': ['case', ['>', ['get', 'red'], 0], LIGHT_COLOR.red, ['>', ['get', 'yellow'], 0], LIGHT_COLOR.yellow, ['>', ['get', 'green'], 0], LIGHT_COLOR.green, GREY],
        'circle-stroke-color': '#000', 'circle-stroke-width': 2,
        'circle-radius': ['interpolate', ['linear'], ['get', 'count'], 1, 9, 100, 18, 10000, 30] } });
      map.addLayer({ id: 'inc-points', type: 'circle', source: 't-incidents', 'source-layer': 'incidents', filter: notCluster, paint: {
        'circle-radius': 10, 'circle-stroke-color': '#000', 'circle-stroke-width': 2,
        'circle-color': ['match', ['coalesce', ['get', 'light'], ''], 'green', LIGHT_COLOR.green, 'yellow', LIGHT_COLOR.yellow, 'red', LIGHT_COLOR.red, GREY] } });
      map.addLayer({ id: 'insp-selected', type: 'circle', source: 'inspections', filter: ['==', ['get', 'id'], st.selected || ''], paint: {
        'circle-radius': 14, 'circle-opacity': 0, 'circle-stroke-color': '#ffbf00', 'circle-stroke-width': 4 } });

      const clickable = ['inc-points', 'insp-points', 'tracks-line', 'inc-clusters', 'insp-clusters'];
      map.on('click', (e) => {
        const layers = clickable.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, 'visibility') !== 'none');
        // Several records at one spot (three incidents at one address): list them all,
        // each openable, instead of opening whichever the renderer happened to draw on top.
        const hits = map.queryRenderedFeatures(hitBox(e.point, 4), { layers });
        const cluster = hits.find((f) => f.properties && (f.properties.cluster === true || f.properties.cluster === 'true'));
        const points = distinctHits(hits.filter((f) => f.layer.id === 'inc-points' || f.layer.id === 'insp-points'));
        if (points.length > 1) {
          showPopup(maplibregl, e.lngLat, colocatedNode(points, maplibregl, e.lngLat));
          return;
        }
        const hit = points[0] || cluster || hits[0];
        if (hit) {
          const p = hit.properties || {};
          if (p.cluster === true || p.cluster === 'true') {
            showPopup(maplibregl, e.lngLat, clusterNode(p, hit.layer.id.startsWith('inc') ? 'incidents' : 'inspections'));
            map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 16) });
            return;
          }
          openHit(hit, maplibregl, e.lngLat);
          return;
        }
        const g = map.getLayer('grids-fill') && map.getLayoutProperty('grids-fill', 'visibility') !== 'none'
          ? map.queryRenderedFeatures(e.point, { layers: ['grids-fill'] })[0] : null;
        if (g) showPopup(maplibregl, e.lngLat, gridNode(g.properties || {}));
      });
      for (const id of clickable) {
        map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
        map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
      }
      map.on('idle', () => { mapEl.dataset.idle = String(Date.now()); });
      map.on('error', (e) => {
        const msg = e && e.error && e.error.message;
        if (msg && /tiles|mvt|401|403|Failed to fetch/i.test(msg)) { mapEl.dataset.tileError = msg.slice(0, 200); }
      });
      applyVisibility();
      mapStatus.textContent = '· 地图已就绪';
      mapStatus.dataset.state = 'ready';
      window.gpConsoleMap = map;
      if (st.focus) focusOnMap(st.focus); // picked in the list before the map was ready
    })();
    return st.mapPromise;
  }

  function refresh() {
    load();
    if (st.map) for (const [l] of LAYERS) { const s = st.map.getSource(`t-${l}`); if (s) s.setTiles([tileUrl(l)]); }
  }

  renderLegend();
  mapEl.dataset.query = JSON.stringify(Object.fromEntries(LAYERS.map(([l]) => [l, query(l)])));
  load();
  const timer = setInterval(refresh, 30000);
  return {
    refresh,
    destroy() {
      st.alive = false;
      clearInterval(timer);
      releasePhotos();
      for (const u of gisUrls) URL.revokeObjectURL(u);
      if (st.map) { st.map.remove(); if (window.gpConsoleMap === st.map) window.gpConsoleMap = null; }
    },
  };
}
