// Form pieces shared by the duty screens.
import { h, mount } from '../dom.js';
import { getPosition, matchGrid } from '../geo.js';
import { addPhoto, photoUrl } from '../photos.js';
import { categories } from '../categories.js';

/** GPS fix with accuracy, and the grid it falls in ("您在 第03网格"). */
export function locationWidget(prefix, { onChange } = {}) {
  let state = null;
  const text = h('div', { testid: `${prefix}-location` }, '正在定位…');
  const grid = h('div', { class: 'grid-name', testid: `${prefix}-grid` });
  const btn = h('button', { type: 'button', testid: `${prefix}-locate`, onclick: () => locate() }, '重新定位');
  const picker = h('div', {});
  const adjust = h('button', { type: 'button', testid: `${prefix}-adjust`, onclick: async () => {
    const { pickPointOnMap } = await import('./mapscreen.js');
    pickPointOnMap(picker, state, (s) => { state = s; show(); onChange && onChange(state); showGrid(); });
  } }, '在地图上调整');
  const el = h('div', { class: 'loc' }, text, grid, h('div', { class: 'row' }, btn, adjust), picker);
  let seq = 0;

  function show() {
    if (!state) { text.textContent = '尚未定位'; text.dataset.ok = '0'; return; }
    const acc = state.accuracy != null ? `，精度约 ±${Math.round(state.accuracy)} 米` : '';
    const datum = state.adjusted ? `（地图选点${state.datum && state.datum !== 'wgs84' ? ` ${state.datum.toUpperCase()}` : ''}）` : '';
    text.textContent = `位置：经度 ${state.lon.toFixed(6)}，纬度 ${state.lat.toFixed(6)}${acc}${datum}`;
    text.dataset.ok = '1';
    text.dataset.lon = String(state.lon);
    text.dataset.lat = String(state.lat);
  }
  async function showGrid() {
    const my = ++seq;
    if (!state) { grid.textContent = ''; return; }
    grid.textContent = '正在匹配网格…';
    const m = await matchGrid(state.lon, state.lat, { datum: state.datum || 'wgs84' });
    if (my !== seq) return;
    if (m && m.code) {
      grid.textContent = `您在 ${m.name}${m.match === 'nearest' ? '（附近）' : ''}`;
      grid.dataset.code = m.code;
    } else if (m && m.match === 'outside') {
      grid.textContent = '此处不在任何网格内，仍可保存';
      grid.dataset.code = '';
    } else {
      grid.textContent = '离线：联网后由服务器匹配网格';
      grid.dataset.code = '';
    }
  }
  async function locate() {
    text.textContent = '正在定位…';
    try {
      const p = await getPosition();
      state = { lon: p.lon, lat: p.lat, accuracy: p.accuracy };
    } catch (e) {
      if (!state) { text.textContent = `${e.message}，请到开阔处重试`; text.dataset.ok = '0'; return; }
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

/** Photo picker: each picked image is downscaled, hashed and stored at once. */
export function photoPicker(testid, label, { onChange } = {}) {
  let shas = [];
  const list = h('div', { class: 'photos', testid: `${testid}-list` });
  const status = h('span', { class: 'muted', testid: `${testid}-status` });
  const input = h('input', { type: 'file', accept: 'image/*', capture: 'environment', multiple: true, testid, id: testid });
  input.addEventListener('change', async () => {
    const files = [...input.files];
    if (!files.length) return;
    status.textContent = '正在压缩照片…';
    status.dataset.busy = '1';
    try {
      for (const f of files) {
        const sha = await addPhoto(f);
        if (!shas.includes(sha)) shas.push(sha);
      }
      status.textContent = `已保存 ${shas.length} 张`;
    } catch (e) {
      status.textContent = `照片无法保存：${e.message}`;
    } finally {
      status.dataset.busy = '0';
      input.value = '';
      await render();
      onChange && onChange(shas);
    }
  });
  async function render() {
    const imgs = [];
    for (const sha of shas) {
      const url = await photoUrl(sha);
      imgs.push(h('img', { src: url || '', alt: '照片', 'data-sha': sha }));
    }
    mount(list, imgs);
    list.dataset.count = String(shas.length);
  }
  const el = h('div', {}, h('label', { for: testid }, label), input, status, list);
  return { el, get: () => [...shas], set: (s) => { shas = [...(s || [])]; render(); }, busy: () => status.dataset.busy === '1' };
}

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
