// Street and community pickers from GET /grids/areas (the caller's scope).
import { h } from '../dom.js';
import { call } from './session.js';

let cache = null;
export function areas() {
  if (!cache) cache = call('/grids/areas').catch((e) => { cache = null; throw e; });
  return cache;
}
export function resetAreas() { cache = null; }

/**
 * Two linked selects; returns {node, value() -> {street, community}, street, community}.
 * `prefix` names the testids: `${prefix}-street`, `${prefix}-community`.
 */
export function areaPicker(prefix, onChange) {
  const street = h('select', { testid: `${prefix}-street`, 'aria-label': '街道' }, h('option', { value: '' }, '全部街道'));
  const community = h('select', { testid: `${prefix}-community`, 'aria-label': '社区' }, h('option', { value: '' }, '全部社区'));
  let streets = [];
  function fillCommunities() {
    const s = streets.find((x) => x.code === street.value);
    const keep = community.value;
    while (community.options.length > 1) community.remove(1);
    const list = s ? s.communities : streets.flatMap((x) => x.communities);
    for (const c of list) if (c.code) community.appendChild(h('option', { value: c.code }, `${c.name || c.code}（${c.grids} 个网格）`));
    community.value = list.some((c) => c.code === keep) ? keep : '';
  }
  areas().then((a) => {
    streets = (a.districts || []).flatMap((d) => d.streets || []).filter((s) => s.code);
    for (const s of streets) street.appendChild(h('option', { value: s.code }, `${s.name || s.code}（${s.grids} 个网格）`));
    fillCommunities();
    street.dataset.ready = '1';
  }).catch(() => { street.dataset.ready = 'failed'; });
  street.addEventListener('change', () => { fillCommunities(); onChange && onChange(); });
  community.addEventListener('change', () => onChange && onChange());
  const node = h('span', { class: 'area-picker' },
    h('label', { class: 'inline' }, '街道 ', street), h('label', { class: 'inline' }, '社区 ', community));
  return { node, street, community, value: () => ({ street: street.value, community: community.value }) };
}
