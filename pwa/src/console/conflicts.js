// 冲突: sync conflicts for review. Base / current / incoming values side by side
// per field; the reviewer picks one per field and resolves, guarded by the
// record's version (a 409 reloads and says so).
import { h, mount, fmtTime } from '../dom.js';
import { call, qs, explain } from './session.js';
import { fieldName, show } from './labels.js';

const CODE = {
  concurrent_edit: '多人同时修改同一字段', illegal_transition: '状态变更不合流程', record_deleted: '修改了已删除的记录',
  stale_delete: '删除了已被他人修改的记录',
};
const ENTITY = { household: '住户', incident: '事件', inspection: '巡查记录' };
const SIDES = [['base', '原值'], ['current', '当时的值'], ['incoming', '新提交的值']];
const masked = (v) => typeof v === 'string' && /\*{4}/.test(v);
const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

export function conflictsView(root) {
  const st = { status: 'open', items: [], selected: null, alive: true, seq: 0, base: new Map() };
  const status = h('select', { testid: 'conflict-status', 'aria-label': '冲突状态' },
    h('option', { value: 'open' }, '待处理'), h('option', { value: 'resolved' }, '已解决'));
  status.addEventListener('change', () => { st.status = status.value; loadList(); });
  const list = h('div', { testid: 'conflict-list', 'data-state': 'loading' });
  const listMsg = h('p', { class: 'err', role: 'alert' });
  const detail = h('section', { class: 'conflict-detail', testid: 'conflict-detail', 'data-state': 'empty' }, h('p', { class: 'muted' }, '请在左侧选择一条冲突'));
  mount(root,
    h('section', { class: 'filters' }, h('label', { class: 'inline' }, '显示 ', status)),
    h('div', { class: 'desk-layout' }, h('div', { class: 'desk-left' }, listMsg, list), detail));

  async function loadList() {
    const seq = ++st.seq;
    list.dataset.state = 'loading';
    try {
      const items = [];
      let cursor = null;
      for (let i = 0; i < 10; i += 1) { // at most 1,000 on screen
        const page = await call(`/conflicts${qs({ status: st.status, cursor, limit: 100 })}`);
        items.push(...page.conflicts);
        cursor = page.cursor;
        if (!page.more) break;
      }
      if (seq !== st.seq || !st.alive) return;
      st.items = st.status === 'resolved' ? items.reverse() : items;
      listMsg.textContent = '';
      mount(list, st.items.length ? st.items.map(row) : h('p', { class: 'muted', testid: 'conflict-empty' }, st.status === 'open' ? '没有待处理的冲突' : '没有已解决的冲突'));
      list.dataset.count = String(st.items.length);
      list.dataset.state = 'ready';
    } catch (e) {
      if (seq !== st.seq) return;
      list.dataset.state = 'failed';
      listMsg.textContent = `冲突加载失败：${explain(e)}`;
    }
  }

  function row(c) {
    const b = h('button', { class: `card list-item${st.selected === c.id ? ' selected' : ''}`, testid: 'conflict-row', 'data-id': c.id, 'data-entity': c.entity, 'data-record': c.record_id, 'data-code': c.code },
      h('b', {}, `${ENTITY[c.entity] || c.entity} · ${CODE[c.code] || c.code}`),
      h('div', { class: 'muted' }, `网格 ${c.grid_code || '未匹配'} · 字段：${(c.fields || []).map(fieldName).join('、')}`),
      h('div', { class: 'muted' }, `${fmtTime(c.created_at)} · ${(c.incoming_by && c.incoming_by.user) || ''} 与 ${(c.current_by && c.current_by.user) || ''}`));
    b.addEventListener('click', () => open(c));
    return b;
  }

  async function open(c, message = null) {
    st.selected = c.id;
    for (const el of list.querySelectorAll('[data-testid=conflict-row]')) el.classList.toggle('selected', el.dataset.id === c.id);
    detail.dataset.state = 'loading';
    detail.dataset.id = c.id;
    let now = null;
    if (c.entity !== 'household') {
      try { now = (await call(`/desk/records/${encodeURIComponent(c.record_id)}`)).record; } catch { now = null; }
    }
    if (st.selected !== c.id || !st.alive) return;
    render(c, now, message);
  }

  function render(c, now, message) {
    // The version to resolve against: the record's, when it can be read; else the one the
    // conflict implies (a concurrent edit was applied on top of current_version) or the
    // one a 409 reported.
    const base = now ? now.version : (st.base.get(c.id) || c.record_version || (c.current_version + (c.code === 'concurrent_edit' ? 1 : 0)));
    const stored = (f) => (now ? now[f] : (c.code === 'concurrent_edit' ? c.incoming[f] : c.current[f]));
    const msg = h('p', { testid: 'conflict-message', role: 'status', 'aria-live': 'polite', class: message ? (message.kind === 'ok' ? 'ok' : 'err') : '', 'data-kind': message ? message.kind : '' }, message ? message.text : '');
    const fields = c.fields && c.fields.length ? c.fields : Object.keys(c.incoming || {});
    const picks = new Map();
    const rows = fields.map((f) => {
      const values = { base: (c.base || {})[f], current: (c.current || {})[f], incoming: (c.incoming || {})[f] };
      const anyMasked = Object.values(values).some(masked);
      const statusField = c.entity === 'incident' && f === 'status';
      const fixed = f === 'deleted' || anyMasked || statusField;
      const keep = stored(f);
      const preferred = SIDES.map(([s]) => s).find((s) => same(values[s], keep)) || 'current';
      const cells = SIDES.map(([side]) => {
        const disabled = st.status !== 'open' || (fixed && side !== preferred);
        const radio = h('input', { type: 'radio', name: `pick-${c.id}-${f}`, value: side, testid: 'conflict-pick', 'data-field': f, 'data-side': side,
          checked: side === preferred, disabled });
        radio.addEventListener('change', () => { if (radio.checked) picks.set(f, side); });
        return h('td', { class: `side side-${side}`, testid: 'conflict-value', 'data-field': f, 'data-side': side },
          h('label', { class: 'pick' }, radio, h('span', { class: 'note' }, show(values[side], f))),
          same(values[side], keep) ? h('div', { class: 'muted' }, '（记录现存值）') : null);
      });
      picks.set(f, preferred);
      const why = f === 'deleted' ? '删除不能在此恢复' : anyMasked ? '号码已脱敏，只能保留现存值' : statusField ? '状态请在「工单」中按流程变更' : null;
      return { f, values, fixed, tr: h('tr', { testid: 'conflict-field', 'data-field': f },
        h('th', { scope: 'row' }, fieldName(f), why ? h('div', { class: 'muted' }, why) : null), cells) };
    });
    const resolveBtn = h('button', { class: 'primary', testid: 'conflict-resolve', disabled: st.status !== 'open' }, '按所选值解决');
    resolveBtn.addEventListener('click', async () => {
      const data = {};
      for (const r of rows) {
        if (r.fixed) continue;
        const side = picks.get(r.f);
        const v = r.values[side];
        data[r.f] = v === undefined ? null : v;
      }
      resolveBtn.disabled = true;
      msg.className = 'muted'; msg.dataset.kind = 'busy'; msg.textContent = '正在提交…';
      try {
        const res = await call(`/conflicts/${encodeURIComponent(c.id)}/resolve`, { method: 'POST', json: { base_version: base, data } });
        msg.className = 'ok'; msg.dataset.kind = 'ok';
        msg.textContent = `已解决：记录现为第 ${res.record && res.record.version} 版${res.record && res.record.conflict === 'hard' ? '（该记录还有其他冲突待处理）' : ''}`;
        detail.dataset.state = 'resolved';
        for (const el of detail.querySelectorAll('input[type=radio]')) el.disabled = true;
        loadList();
      } catch (e) {
        if (e.status === 409) {
          loadList();
          if (e.code === 'already_resolved') {
            msg.className = 'err'; msg.dataset.kind = 'conflict'; msg.textContent = '这条冲突已被他人解决，列表已刷新。';
            return;
          }
          const v = e.details && e.details.current_version;
          if (v) st.base.set(c.id, v);
          open(c, { kind: 'conflict', text: `该记录在此期间又被修改${v ? `（现为第 ${v} 版）` : ''}，已重新载入，请核对后再提交。` });
          return;
        }
        msg.className = 'err'; msg.dataset.kind = 'error'; msg.textContent = explain(e);
        resolveBtn.disabled = false;
      }
    });
    detail.dataset.state = 'ready';
    detail.dataset.id = c.id;
    detail.dataset.base = String(base);
    mount(detail,
      h('h2', {}, `${ENTITY[c.entity] || c.entity}冲突：${CODE[c.code] || c.code}`),
      h('p', { class: 'muted' }, `记录 ${c.record_id} · 网格 ${c.grid_code || '未匹配'} · 发生于 ${fmtTime(c.created_at)}`),
      h('p', {}, `原值：第 ${c.base_version ?? '—'} 版 · 当时的值：第 ${c.current_version ?? '—'} 版，${(c.current_by && c.current_by.user) || '未知'} · 新提交：${(c.incoming_by && c.incoming_by.user) || '未知'}`),
      c.status === 'resolved' ? h('p', { class: 'ok' }, `已由 ${c.resolved_by || ''} 于 ${fmtTime(c.resolved_at)} 解决`) : null,
      h('table', { class: 'conflict-table', testid: 'conflict-table' },
        h('thead', {}, h('tr', {}, h('th', {}, '字段'), SIDES.map(([, t]) => h('th', {}, t)))),
        h('tbody', {}, rows.map((r) => r.tr))),
      h('p', { class: 'muted' }, `提交时以第 ${base} 版为准；若记录在此期间被修改，会提示并重新载入。`),
      h('div', { class: 'row' }, resolveBtn),
      msg);
  }

  loadList();
  return {
    refresh() { loadList(); },
    destroy() { st.alive = false; },
  };
}
