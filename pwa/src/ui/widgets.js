// Form pieces shared by the duty screens.
import { h, mount } from '../dom.js';
import { getPosition, matchGrid } from '../geo.js';
import { permissionState, browserKind, permissionSteps, failureAdvice, BROWSER_NAMES } from '../location.js';
import { placeOf, isMyGrid } from '../labels.js';
import { categories } from '../categories.js';

/**
 * Where the thing is: a GPS fix or a point picked on the map, shown in words
 * ("示范01街道第01社区01网格，距网格边界 12 米"). Without a fix the form is
 * not blocked: a refused permission gets plain steps to turn it on, and the map
 * picker is offered first. Coordinates stay in data-lon / data-lat for tests.
 */
export function locationWidget(prefix, { onChange } = {}) {
  let state = null;
  const text = h('div', { class: 'place', testid: `${prefix}-location` }, '正在定位…');
  const grid = h('div', { class: 'grid-name', testid: `${prefix}-grid` });
  const source = h('div', { class: 'muted', testid: `${prefix}-location-source` });
  const help = h('div', { testid: `${prefix}-location-help`, hidden: true });
  const btn = h('button', { type: 'button', testid: `${prefix}-locate`, onclick: () => locate() }, '重新定位');
  const picker = h('div', {});
  const adjust = h('button', { type: 'button', testid: `${prefix}-adjust`, onclick: async () => {
    const { pickPointOnMap } = await import('./mapscreen.js');
    pickPointOnMap(picker, state, (s) => { state = s; show(); hideHelp(); onChange && onChange(state); showGrid(); });
  } }, '在地图上调整');
  const buttons = h('div', { class: 'row' }, btn, adjust);
  const el = h('div', { class: 'loc' }, text, grid, source, help, buttons, picker);
  let seq = 0;

  // No fix: the map picker becomes the big, first button.
  function offerMap(on) {
    adjust.textContent = on ? '在地图上点选位置' : '在地图上调整';
    adjust.className = on ? 'primary' : '';
    if (on) buttons.insertBefore(adjust, btn); else buttons.appendChild(adjust);
  }
  function hideHelp() { help.hidden = true; mount(help); help.className = ''; offerMap(false); }

  async function showHelp(reason) {
    const advice = failureAdvice(reason);
    const kind = browserKind();
    help.dataset.reason = reason;
    help.dataset.browser = kind;
    help.className = 'loc-help';
    mount(help, h('h3', {}, advice.title), h('p', {}, advice.text),
      reason === 'denied' ? [h('p', {}, `${BROWSER_NAMES[kind]}打开定位的方法：`), h('ol', {}, permissionSteps(kind).map((t) => h('li', {}, t)))] : null);
    help.hidden = false;
    offerMap(true);
  }

  function how() {
    if (!state) return '';
    if (state.adjusted) return '在地图上选的位置';
    return state.accuracy != null ? `手机定位，误差约 ${Math.round(state.accuracy)} 米` : '手机定位';
  }
  function show() {
    if (!state) { text.textContent = '还没有位置'; text.dataset.ok = '0'; source.textContent = ''; return; }
    text.textContent = '正在查找所在网格…';
    source.textContent = how();
    text.dataset.ok = '1';
    text.dataset.lon = String(state.lon);
    text.dataset.lat = String(state.lat);
    text.dataset.datum = state.datum || 'wgs84';
    text.dataset.how = state.adjusted ? 'map' : 'gps';
  }
  async function showGrid() {
    const my = ++seq;
    if (!state) { grid.textContent = ''; return; }
    grid.textContent = '';
    const datum = state.datum || 'wgs84';
    const [m, place] = await Promise.all([matchGrid(state.lon, state.lat, { datum }), placeOf(state.lon, state.lat, datum)]);
    if (my !== seq) return;
    // The place in words; the server's match wins for the code (it knows every grid).
    const name = (m && m.code && m.name) || (place && place.name) || '';
    const code = (m && m.code) || (place && place.code) || '';
    text.textContent = place && place.code === code ? place.text : name || (m && m.match === 'outside' ? '不在任何网格内' : '离线：联网后由服务器确定网格');
    grid.dataset.code = code;
    const mine = code ? await isMyGrid(code) : false;
    if (my !== seq) return;
    grid.dataset.outside = code || (m && m.match === 'outside') ? (mine ? '0' : '1') : '';
    grid.className = grid.dataset.outside === '1' ? 'grid-name outside' : 'grid-name';
    grid.textContent = grid.dataset.outside === '' ? '' : mine ? `${m && m.match === 'nearest' ? '在您的网格附近' : '在您的网格内'}` : '不在您的网格内，仍可上报';
  }
  async function locate() {
    text.textContent = '正在定位…';
    const perm = await permissionState();
    if (perm === 'denied') {
      if (!state) { text.textContent = '还没有位置'; text.dataset.ok = '0'; }
      showHelp('denied');
      if (state) show();
      return;
    }
    try {
      const p = await getPosition();
      state = { lon: p.lon, lat: p.lat, accuracy: p.accuracy };
      hideHelp();
    } catch (e) {
      if (!state) { text.textContent = '还没有位置'; text.dataset.ok = '0'; }
      showHelp(e.reason || 'unavailable');
      if (!state) return;
    }
    show();
    onChange && onChange(state);
    showGrid();
  }
  return {
    el,
    locate,
    get: () => state,
    set: (s) => { state = s; show(); showGrid(); },
  };
}

export { photoPicker, textCounter } from '../capture.js';

/** Two-level category picker from the configured tree. */
export async function categoryPicker(prefix, { onChange } = {}) {
  const tree = await categories();
  const parent = h('select', { testid: `${prefix}-category-parent`, id: `${prefix}-category-parent` },
    tree.map((c) => h('option', { value: c.code }, c.name)));
  const child = h('select', { testid: `${prefix}-category`, id: `${prefix}-category` });
  function fill() {
    const p = tree.find((c) => c.code === parent.value) || tree[0];
    mount(child, (p.children && p.children.length ? p.children : [p]).map((c) => h('option', { value: c.code }, c.name)));
  }
  parent.addEventListener('change', () => { fill(); onChange && onChange(); });
  child.addEventListener('change', () => onChange && onChange());
  fill();
  const el = h('div', {}, h('label', { for: `${prefix}-category-parent` }, '类别'), parent, h('label', { for: `${prefix}-category` }, '小类'), child);
  function name() {
    const p = tree.find((c) => c.code === parent.value);
    const c = p && (p.children || []).find((x) => x.code === child.value);
    return c ? c.name : p ? p.name : '';
  }
  return {
    el,
    get: () => child.value || parent.value,
    name,
    set: (code) => {
      for (const p of tree) {
        if (p.code === code || (p.children || []).some((c) => c.code === code)) {
          parent.value = p.code;
          fill();
          if (p.code !== code) child.value = code;
          return;
        }
      }
    },
  };
}

export function field(label, input) {
  return h('div', {}, h('label', { for: input.id }, label), input);
}
