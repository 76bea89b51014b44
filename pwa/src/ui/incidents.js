// 我的事件: incidents I reported or handled, with their status as the
// supervisors act, and those sent back to me for verification (核查).
import { h, mount, fmtTime, toast } from '../dom.js';
import { db, uuid, nowRfc3339 } from '../store.js';
import { enqueue } from '../outbox.js';
import { on } from '../bus.js';
import { categoryName } from '../categories.js';

export const STATUS = {
  reported: '已上报', accepted: '已受理', rejected: '不予受理', filed: '已立案', dispatched: '已派遣',
  handled: '已处置，待核查', verified: '已核查', closed: '已结案', returned: '已回退', shelved: '已挂账',
  void: '已作废', self_handled: '已自行处置',
};

export async function incidentsScreen(root, { go, user }) {
  const toVerify = h('div', { testid: 'incidents-verify' });
  const list = h('div', { testid: 'incidents-list' });
  async function card(r, verify) {
    const d = r.data || {};
    const c = h('div', { class: `card ${r.conflict ? 'conflict' : ''}`, testid: 'incident-item', 'data-id': r.id, 'data-status': r.status || d.status || '' },
      h('span', { class: 'badge', testid: 'incident-status' }, STATUS[r.status || d.status] || r.status || d.status || ''), ' ',
      h('b', {}, d.title || ''), r.local ? h('span', { class: 'muted' }, '（未上传）') : null,
      h('div', { class: 'muted' }, `${await categoryName(d.category)}${r.grid_code ? ` · 网格 ${r.grid_code}` : ''}${d.urgent ? ' · 紧急' : ''}`),
      d.description ? h('div', { class: 'note' }, d.description) : null,
      r.conflict === 'hard' ? h('div', { class: 'err', testid: 'incident-conflict' }, '此事件有冲突，待主管处理') : null);
    if (verify) {
      const note = h('textarea', { testid: 'incident-verify-note', placeholder: '核查情况（可不填）' });
      const ok = h('button', { class: 'primary', testid: 'incident-verify', onclick: async () => {
        ok.disabled = true;
        const data = { status: 'verified' };
        const text = note.value.trim();
        if (text) data.notes = [...(d.notes || []), { id: uuid(), text: `核查：${text}`, at: nowRfc3339() }];
        await enqueue({ entity: 'incident', id: r.id, action: 'update', base_version: r.version ?? 1, data, label: '核查' });
        await db.incidents.update(r.id, { status: 'verified', data: { ...d, ...data } });
        toast('核查结果已保存，等待上传');
        render();
      } }, '核查通过');
      c.appendChild(note);
      c.appendChild(h('div', { class: 'row' }, ok));
    }
    return c;
  }
  async function render() {
    const all = await db.incidents.toArray();
    const mine = (user.grids || []);
    const verify = all.filter((r) => (r.status === 'handled') && (!r.grid_code || mine.includes(r.grid_code)));
    const rest = all.filter((r) => !verify.includes(r))
      .sort((a, b) => String(b.data.created_local_at || b.id).localeCompare(String(a.data.created_local_at || a.id)));
    mount(toVerify, verify.length ? [h('h2', {}, `待核查（${verify.length}）`), ...(await Promise.all(verify.map((r) => card(r, true))))] : null);
    mount(list, rest.length ? await Promise.all(rest.map((r) => card(r, false))) : h('p', { class: 'muted' }, '暂无事件'));
  }
  mount(root, h('h2', {}, '我的事件'), toVerify, h('h2', {}, '全部'), list, h('div', { class: 'row' }, h('button', { onclick: () => go('') }, '返回')));
  await render();
  const offs = [on('pulled', render), on('outbox', render)];
  void fmtTime;
  return () => offs.forEach((f) => f());
}
