// Households: a searchable picker over the pulled households of my grids,
// the household form, and 记 及时记 (edit basic data -> household update with
// base_version, plus a `record` inspection).
import { h, mount, toast } from '../dom.js';
import { db, uuid, nowRfc3339 } from '../store.js';
import { on } from '../bus.js';
import { enqueue, counts } from '../outbox.js';
import { loadDraft, autosave, dropDraft } from '../drafts.js';
import { locationWidget, textCounter } from './widgets.js';

export const TAGS = ['独居老人', '空巢老人', '残疾人', '低保户', '出租户', '重点关注', '退役军人', '留守儿童'];
export const HH_FIELDS = ['address', 'building', 'unit', 'room', 'head_name', 'phone', 'members', 'tags', 'note'];
const LABEL = { address: '地址', building: '楼栋', unit: '单元', room: '房号', head_name: '户主姓名', phone: '联系电话', members: '家庭人数', tags: '标签', note: '备注' };

export function hhTitle(d) {
  const where = [d.building && `${d.building}栋`, d.unit && `${d.unit}单元`, d.room && `${d.room}室`].filter(Boolean).join('');
  return `${d.head_name || '（未填户主）'} · ${d.address || ''}${where ? ` ${where}` : ''}`;
}

/** Searchable list of households kept on the device. */
export function householdPicker(prefix, { onPick, onNew }) {
  const search = h('input', { type: 'search', testid: `${prefix}-search`, id: `${prefix}-search`, placeholder: '搜索户主、地址、电话' });
  const list = h('div', { testid: `${prefix}-households` });
  const newBtn = h('button', { testid: `${prefix}-new-household`, onclick: () => onNew() }, '新增住户');
  async function render() {
    const q = search.value.trim().toLowerCase();
    const all = await db.households.toArray();
    const hits = all.filter((r) => !q || JSON.stringify(r.data || {}).toLowerCase().includes(q))
      .sort((a, b) => String(a.data.address || '').localeCompare(String(b.data.address || ''), 'zh'))
      .slice(0, 100);
    mount(list, hits.length ? hits.map((r) => h('button', { class: 'list-item card', testid: 'household-item', 'data-id': r.id, onclick: () => onPick(r) },
      h('b', {}, hhTitle(r.data || {})),
      (r.data.tags || []).length ? h('div', { class: 'muted' }, r.data.tags.join('、')) : null,
      r.conflict ? h('div', { class: 'err', testid: 'household-conflict' }, '此住户信息有冲突，待主管处理') : null))
      : h('p', { class: 'muted', testid: `${prefix}-no-households` }, all.length ? '没有符合的住户' : '本机还没有住户数据（联网同步后出现），可新增住户'));
  }
  search.addEventListener('input', render);
  render();
  const el = h('div', {}, h('label', { for: `${prefix}-search` }, '选择住户'), search, h('div', { class: 'row' }, newBtn), list);
  // A pull that lands while the list is open updates it (sync.js notifies 'pulled');
  // the listener drops itself once the screen has gone.
  const off = on('pulled', () => { if (el.isConnected) render(); else off(); });
  return el;
}

/** The household fields as a form; get() returns the values. */
export function householdForm(data = {}) {
  const inputs = {};
  const els = [];
  for (const f of HH_FIELDS) {
    if (f === 'tags') {
      const boxes = TAGS.map((t, i) => {
        const cb = h('input', { type: 'checkbox', value: t, testid: `hh-tag-${i}`, 'data-tag': t, checked: (data.tags || []).includes(t) });
        return { cb, el: h('label', { class: 'check' }, cb, t) };
      });
      inputs.tags = boxes;
      els.push(h('div', {}, h('label', {}, LABEL.tags), h('div', { class: 'row' }, boxes.map((b) => b.el))));
      continue;
    }
    const attrs = { id: `hh-${f}`, testid: `hh-${f}` };
    const el = f === 'note' ? h('textarea', attrs)
      : f === 'members' ? h('input', { ...attrs, type: 'number', min: 0, inputmode: 'numeric' })
        : f === 'phone' ? h('input', { ...attrs, type: 'tel' }) : h('input', { ...attrs, type: 'text' });
    const v = data[f];
    el.value = v == null ? '' : Array.isArray(v) ? String(v.length) : String(v);
    if (f === 'members' && Array.isArray(v)) el.dataset.list = '1';
    inputs[f] = el;
    els.push(h('div', {}, h('label', { for: `hh-${f}` }, LABEL[f]), el, f === 'note' ? textCounter(el) : null));
  }
  function get() {
    const out = {};
    for (const f of HH_FIELDS) {
      if (f === 'tags') { out.tags = inputs.tags.filter((b) => b.cb.checked).map((b) => b.cb.value); continue; }
      const v = inputs[f].value.trim();
      if (f === 'members') { if (!inputs[f].dataset.list) out.members = v === '' ? null : Math.max(0, parseInt(v, 10) || 0); continue; }
      out[f] = v;
    }
    return out;
  }
  function set(d) {
    for (const f of HH_FIELDS) {
      if (f === 'tags') { inputs.tags.forEach((b) => { b.cb.checked = (d.tags || []).includes(b.cb.value); }); continue; }
      if (d[f] !== undefined && !Array.isArray(d[f])) inputs[f].value = d[f] == null ? '' : String(d[f]);
    }
    // Restored text must show its real count.
    inputs.note.dispatchEvent(new Event('input'));
  }
  return { el: h('div', { testid: 'hh-form' }, els), get, set };
}

/** Fields whose value differs from the household as last seen. */
export function changedFields(before, after) {
  const out = {};
  for (const [k, v] of Object.entries(after)) {
    const b = before[k];
    const same = JSON.stringify(b ?? (Array.isArray(v) ? [] : '')) === JSON.stringify(v ?? (Array.isArray(b) ? [] : ''));
    if (!same && !(v === null && (b === undefined || b === null))) out[k] = v;
  }
  return out;
}

/** Save a new household: a `household` create. Returns the local row. */
export async function createHousehold(values, loc) {
  const id = uuid();
  const data = { ...values };
  if (data.members === null) delete data.members;
  if (loc) {
    data.location = { type: 'Point', coordinates: [loc.lon, loc.lat] };
    if (loc.accuracy != null) data.location_accuracy_m = Math.round(loc.accuracy * 10) / 10;
  }
  const [op] = await enqueue({ entity: 'household', id, action: 'create', data, label: '新增住户' });
  const row = { id, version: null, local: true, grid_code: null, data };
  await db.households.put(row);
  return { row, op };
}

export function pointOf(loc) {
  return loc ? { type: 'Point', coordinates: [loc.lon, loc.lat] } : undefined;
}

export async function recordScreen(root, { go }) {
  showPicker();

  function showPicker() {
    mount(root, h('h2', {}, '记 · 及时记录住户信息'),
      householdPicker('record', { onPick: (r) => showEdit(r), onNew: () => showEdit(null) }),
      h('div', { class: 'row' }, h('button', { onclick: () => go('') }, '返回')));
  }

  async function showEdit(rec) {
    const draftKey = `form:record:${rec ? rec.id : 'new'}`;
    const base = rec ? (rec.data || {}) : {};
    const form = householdForm(base);
    const loc = locationWidget('record');
    const err = h('p', { class: 'err', testid: 'record-error' });
    const save = h('button', { type: 'submit', class: 'primary', testid: 'record-save' }, '保存');
    const el = h('form', { testid: 'record-form' },
      h('h2', {}, rec ? `修改：${hhTitle(base)}` : '新增住户'),
      rec && rec.conflict ? h('p', { class: 'err', testid: 'household-conflict' }, '此住户信息与他人的修改有冲突，您的内容已保留，待主管处理') : null,
      form.el, h('label', {}, '位置'), loc.el, err,
      h('div', { class: 'row' }, h('button', { type: 'button', testid: 'record-cancel', onclick: () => showPicker() }, '返回'), save));
    const draft = await loadDraft(draftKey);
    if (draft) { form.set(draft); el.dataset.restored = '1'; }
    const flush = autosave(el, draftKey, form.get);
    loc.locate();
    el.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      const values = form.get();
      save.disabled = true;
      try {
        if (!rec) {
          if (!values.address && !values.head_name) { err.textContent = '请至少填写地址或户主'; return; }
          const { row } = await createHousehold(values, loc.get());
          await enqueue({ entity: 'inspection', id: uuid(), action: 'create', label: '及时记',
            data: { kind: 'record', occurred_at: nowRfc3339(), household_id: row.id, note: `新增住户：${hhTitle(row.data)}`, location: pointOf(loc.get()), location_accuracy_m: loc.get() ? loc.get().accuracy : undefined, photos: [] } });
        } else {
          const changes = changedFields(base, values);
          if (!Object.keys(changes).length) { err.textContent = '没有修改任何内容'; return; }
          const baseVersion = rec.version ?? 1;
          await enqueue(
            { entity: 'household', id: rec.id, action: 'update', base_version: baseVersion, data: changes, label: '修改住户' },
            { entity: 'inspection', id: uuid(), action: 'create', label: '及时记',
              data: { kind: 'record', occurred_at: nowRfc3339(), household_id: rec.id, note: `更新：${Object.keys(changes).map((k) => LABEL[k] || k).join('、')}`, changed_fields: Object.keys(changes), location: pointOf(loc.get()), location_accuracy_m: loc.get() ? loc.get().accuracy : undefined, photos: [] } });
          await db.households.update(rec.id, { data: { ...base, ...changes } });
        }
        flush.stop();
        await dropDraft(draftKey);
        toast(`已保存到本机（${(await counts()).unsent} 条未上传）`);
        go('');
      } finally { save.disabled = false; }
    });
    mount(root, el);
  }
}
