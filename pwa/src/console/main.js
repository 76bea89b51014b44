// Supervisor page, first slice: login, MapLibre map of grids and synced
// inspections, popups with the note as text. Its session is kept apart from
// the field app's (own token and device id in localStorage).
import '../style.css';
import { h, mount, fmtTime } from '../dom.js';
import { createMap, bboxOf } from '../mapbase.js';
import { uuid } from '../store.js';

const root = document.getElementById('console');
const KEY = 'gp.console';
const KIND = { patrol: '巡查', visit: '走访', record: '信息', handle: '随手做', report: '上报' };
const COLOR = { patrol: '#1565c0', visit: '#2e7d32', record: '#6a1b9a', handle: '#ef6c00', report: '#c62828' };

function session() { try { return JSON.parse(localStorage.getItem(KEY) || 'null'); } catch { return null; } }
function saveSession(s) { if (s) localStorage.setItem(KEY, JSON.stringify(s)); else localStorage.removeItem(KEY); }
function deviceId() {
  let d = localStorage.getItem(`${KEY}.device`);
  if (!d) { d = `console-${uuid()}`; localStorage.setItem(`${KEY}.device`, d); }
  return d;
}

async function call(path, opts = {}) {
  const s = session();
  const headers = { ...(opts.headers || {}) };
  if (s && s.token) headers.Authorization = `Bearer ${s.token}`;
  if (opts.json) { headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(opts.json); }
  const res = await fetch(`/api/v1${path}`, { method: opts.method || 'GET', headers, body: opts.body, cache: 'no-store' });
  const data = (res.headers.get('Content-Type') || '').includes('json') ? await res.json().catch(() => null) : null;
  if (res.status === 401 && path !== '/auth/token') { saveSession(null); showLogin('登录已失效，请重新登录'); throw new Error('401'); }
  if (!res.ok) { const e = new Error((data && data.error && data.error.message) || `HTTP ${res.status}`); e.status = res.status; throw e; }
  return data;
}

function showLogin(msg = '') {
  const err = h('p', { class: 'err', testid: 'login-error', role: 'alert' }, msg);
  const user = h('input', { type: 'text', id: 'login-username', testid: 'login-username', autocomplete: 'username' });
  const pass = h('input', { type: 'password', id: 'login-password', testid: 'login-password', autocomplete: 'current-password' });
  const btn = h('button', { type: 'submit', class: 'primary', testid: 'login-submit', style: { width: '100%', marginTop: '16px' } }, '登录');
  const form = h('form', { testid: 'login-form' }, h('label', { for: 'login-username' }, '用户名'), user, h('label', { for: 'login-password' }, '密码'), pass, btn, err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      const res = await call('/auth/token', { method: 'POST', json: { username: user.value.trim(), password: pass.value, device_id: deviceId() } });
      saveSession({ token: res.token, user: res.user });
      showConsole();
    } catch (ex) {
      err.textContent = ex.status === 401 ? '用户名或密码不正确。' : `登录失败：${ex.message}`;
    } finally { btn.disabled = false; }
  });
  mount(root, h('header', { class: 'bar' }, h('h1', {}, '网格化综合管理中心 · 登录')), h('main', {}, form));
}

let state = null;

function showConsole() {
  const s = session();
  const count = h('span', { testid: 'console-count' }, '');
  const mapStatus = h('p', { class: 'muted', testid: 'console-map-status', 'data-state': 'loading' }, '地图加载中…');
  const mapEl = h('div', { class: 'map', id: 'console-map', testid: 'console-map' });
  const list = h('div', { testid: 'console-list' });
  const detail = h('div', { testid: 'console-detail' });
  mount(root,
    h('header', { class: 'bar' }, h('h1', {}, '网格化综合管理中心'),
      h('span', { class: 'who', testid: 'whoami' }, `${s.user.username}（${s.user.role}）`),
      h('button', { testid: 'console-refresh', onclick: () => load() }, '刷新'),
      h('button', { testid: 'logout', onclick: async () => { try { await call('/auth/token', { method: 'DELETE' }); } catch { /* ignore */ } saveSession(null); showLogin(); } }, '退出')),
    h('main', {},
      h('p', {}, '巡查记录：', count),
      mapStatus,
      h('div', { class: 'console-layout' }, mapEl, h('aside', {}, detail, list))));
  state = { list, count, mapEl, mapStatus, detail, map: null, grids: null, inspections: null };
  load();
  clearInterval(showConsole.timer);
  showConsole.timer = setInterval(load, 30000);
}

async function load() {
  if (!state) return;
  const grids = await call('/grids?bbox=70,15,140,55');
  state.grids = grids;
  const bb = bboxOf(grids.features || []);
  const q = bb ? [bb[0] - 0.05, bb[1] - 0.05, bb[2] + 0.05, bb[3] + 0.05].map((x) => x.toFixed(5)).join(',') : '70,15,140,55';
  const insp = await call(`/map/inspections?bbox=${q}`);
  state.inspections = insp;
  renderList();
  await renderMap(bb);
}

function popupNode(p) {
  return h('div', { testid: 'popup', class: 'popup' },
    h('b', {}, KIND[p.kind] || p.kind || ''), ' ',
    h('span', { class: 'muted' }, p.grid_code ? `网格 ${p.grid_code}（${p.match || ''}）` : '未匹配网格'),
    h('div', { class: 'note', testid: 'popup-note' }, p.note || ''),
    h('div', { class: 'muted' }, `${p.created_by || ''} · ${fmtTime(p.occurred_at)}`));
}

function renderList() {
  const feats = (state.inspections && state.inspections.features) || [];
  state.count.textContent = `${feats.length} 条`;
  state.count.dataset.count = String(feats.length);
  mount(state.list, feats.map((f) => {
    const p = f.properties || {};
    const item = h('button', { class: 'list-item card', testid: 'console-feature', 'data-id': p.id, 'data-grid': p.grid_code || '', 'data-kind': p.kind || '' },
      h('b', {}, KIND[p.kind] || p.kind || ''), ' ', h('span', { class: 'muted' }, `${p.grid_code || '未匹配'} · ${fmtTime(p.occurred_at)}`),
      h('div', { class: 'note', testid: 'console-feature-note' }, p.note || ''));
    item.addEventListener('click', () => select(f));
    return item;
  }));
}

function select(f) {
  mount(state.detail, popupNode(f.properties || {}));
  if (state.map && f.geometry) {
    const { map, maplibregl } = state.map;
    map.easeTo({ center: f.geometry.coordinates, zoom: Math.max(map.getZoom(), 15) });
    new maplibregl.Popup({ closeOnClick: true }).setLngLat(f.geometry.coordinates).setDOMContent(popupNode(f.properties || {})).addTo(map);
  }
}

async function renderMap(bb) {
  if (!state.map) {
    const meta = await call('/meta').catch(() => null);
    const made = await createMap(state.mapEl, {
      styleUrl: meta && meta.basemap_style,
      bounds: bb || undefined,
      onError: (msg) => { state.mapStatus.textContent = msg; state.mapStatus.dataset.state = 'failed'; },
    });
    if (!made) return;
    state.map = made;
    const { map, maplibregl } = made;
    map.addSource('grids', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addSource('inspections', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    map.addLayer({ id: 'grids-fill', type: 'fill', source: 'grids', paint: { 'fill-color': '#0b3d91', 'fill-opacity': 0.08 } });
    map.addLayer({ id: 'grids-line', type: 'line', source: 'grids', paint: { 'line-color': '#0b3d91', 'line-width': 1.5 } });
    map.addLayer({ id: 'insp', type: 'circle', source: 'inspections', paint: {
      'circle-radius': 8, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
      'circle-color': ['match', ['get', 'kind'], ...Object.entries(COLOR).flat(), '#000'] } });
    map.on('click', 'insp', (e) => {
      const f = e.features && e.features[0];
      if (!f) return;
      new maplibregl.Popup().setLngLat(f.geometry.coordinates).setDOMContent(popupNode(f.properties || {})).addTo(map);
    });
    map.on('click', 'grids-fill', (e) => {
      if (map.queryRenderedFeatures(e.point, { layers: ['insp'] }).length) return;
      const p = (e.features && e.features[0] && e.features[0].properties) || {};
      new maplibregl.Popup().setLngLat(e.lngLat).setDOMContent(h('div', {}, h('b', {}, p.name || ''), h('div', { class: 'muted' }, p.code || ''))).addTo(map);
    });
    map.on('mouseenter', 'insp', () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', 'insp', () => { map.getCanvas().style.cursor = ''; });
    state.mapStatus.textContent = '';
    state.mapStatus.dataset.state = 'ready';
    window.gpConsoleMap = map;
  }
  const { map } = state.map;
  map.getSource('grids').setData(state.grids || { type: 'FeatureCollection', features: [] });
  map.getSource('inspections').setData(state.inspections || { type: 'FeatureCollection', features: [] });
  state.mapEl.dataset.features = String(((state.inspections && state.inspections.features) || []).length);
  state.mapEl.dataset.grids = String(((state.grids && state.grids.features) || []).length);
}

if (session()) showConsole(); else showLogin();
