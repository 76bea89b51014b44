// 我的事件: incidents I reported or handled, with their status as the
// supervisors act, and those sent back to me for verification (核查).
// A card opens the incident: its timeline (the statuses this device saw and the
// notes the departments wrote), photos before and after, and the 核查 when it waits.
import { h, mount, fmtTime, toast } from '../dom.js';
import { db, uuid, nowRfc3339, kvGet } from '../store.js';
import { enqueue } from '../outbox.js';
import { on } from '../bus.js';
import { photoUrl } from '../photos.js';
import { categoryName } from '../categories.js';
import { gridName } from '../labels.js';
import { loadSeen, isChanged, markSeen, observe, trailOf, waitsForVerify, statusOf, notifyUser } from '../notices.js';
import { textCounter } from '../capture.js';
import '../field.css';

export const STATUS = {
  reported: '已上报', accepted: '已受理', rejected: '不予受理', filed: '已立案', dispatched: '已派遣',
  handled: '已处置，待核查', verified: '已核查', closed: '已结案', returned: '已回退', shelved: '已挂账',
  void: '已作废', self_handled: '已自行处置',
};

/** What each status means for the person who reported it. */
const MEANING = {
  reported: '已交给街道，等待受理', accepted: '街道已收下，正在安排', rejected: '街道认为不需要处理',
  filed: '已正式立案', dispatched: '已派给职能部门去处理', handled: '部门说已处理好，请您去现场看一看（核查）',
  verified: '已核查，等待结案', closed: '事情已办完', returned: '退回重新处理', shelved: '暂时无法处理，已挂账',
  void: '已作废', self_handled: '您已当场处理',
};

function statusText(st) { return STATUS[st] || st || ''; }

/** A photo: from this device if it is here, else fetched with the token. */
async function photoEl(sha, alt) {
  const img = h('img', { alt, 'data-sha': sha, testid: 'incident-photo' });
  let url = await photoUrl(sha);
  if (!url) {
    try {
      const token = await kvGet('token', null);
      const res = await fetch(`/api/v1/attachments/${sha}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
      if (res.ok) url = URL.createObjectURL(await res.blob());
    } catch { /* offline */ }
  }
  if (url) img.src = url;
  else { img.alt = `${alt}（联网后可看）`; img.dataset.state = 'missing'; }
  return img;
}

/** Timeline entries, oldest first: created, each status seen, each note. */
export function timeline(r, trail) {
  const d = r.data || {};
  const out = [];
  const created = d.created_local_at || d.created_at || d.occurred_at;
  const first = trail[0];
  if (created) out.push({ at: created, kind: 'created', text: r.status === 'self_handled' || d.status === 'self_handled' ? '您当场处置并上报' : '您上报了这件事' });
  for (const t of trail) {
    if (t === first && ['reported', 'self_handled'].includes(t.status) && created) continue;
    out.push({ at: t.at, kind: 'status', status: t.status, text: `${statusText(t.status)}：${MEANING[t.status] || ''}` });
  }
  for (const n of d.notes || []) out.push({ at: n.at, kind: 'note', text: n.text, by: n.by });
  const ms = (x) => (typeof x === 'number' ? x : Date.parse(x) || 0);
  return out.sort((a, b) => ms(a.at) - ms(b.at));
}

export async function incidentsScreen(root, { go, user, params = {} }) {
  const mine = (user.grids || []);
  const news = h('p', { class: 'news', testid: 'incidents-news', 'aria-live': 'polite' });
  const toVerify = h('div', { testid: 'incidents-verify' });
  const list = h('div', { testid: 'incidents-list' });
  const listView = h('div', {}, h('h2', {}, '我的事件'), news, toVerify, h('h2', {}, '全部事件'), list,
    h('div', { class: 'row' }, h('button', { type: 'button', onclick: () => go('') }, '返回首页')));
  const detailView = h('div', { testid: 'incident-detail-view' });
  let openId = params.id || null;

  function verifyBlock(r) {
    const d = r.data || {};
    const note = h('textarea', { testid: 'incident-verify-note', id: `verify-${r.id}`, placeholder: '核查情况（可不填）' });
    const count = textCounter(note);
    const ok = h('button', { type: 'button', class: 'primary', testid: 'incident-verify', onclick: async () => {
      ok.disabled = true;
      const data = { status: 'verified' };
      const text = note.value.trim();
      if (text) data.notes = [...(d.notes || []), { id: uuid(), text: `核查：${text}`, at: nowRfc3339() }];
      await enqueue({ entity: 'incident', id: r.id, action: 'update', base_version: r.version ?? 1, data, label: '核查' });
      await db.incidents.update(r.id, { status: 'verified', data: { ...d, ...data } });
      toast('核查结果已保存，等待上传');
      render();
    } }, '核查通过');
    return h('div', { class: 'verify' }, h('label', { for: `verify-${r.id}` }, '到现场看过后，写下核查情况'), note, count, h('div', { class: 'row' }, ok));
  }

  async function card(r, verify, seen) {
    const d = r.data || {};
    const st = statusOf(r);
    const changed = isChanged(r, seen);
    const grid = r.grid_code ? await gridName(r.grid_code) : '';
    const open = h('button', { type: 'button', testid: 'incident-open', 'aria-label': `查看详情：${d.title || ''}`, onclick: () => openDetail(r.id) }, '查看详情');
    const c = h('div', { class: `card ${r.conflict ? 'conflict' : ''}`, testid: 'incident-item', 'data-id': r.id, 'data-status': st, 'data-grid': r.grid_code || '', 'data-changed': changed ? '1' : '0' },
      h('span', { class: 'badge', testid: 'incident-status' }, statusText(st)), ' ',
      changed ? h('span', { class: 'badge new', testid: 'incident-new' }, '有新进展') : null, ' ',
      h('b', {}, d.title || ''), r.local ? h('span', { class: 'muted' }, '（未上传）') : null,
      h('div', { class: 'muted' }, [await categoryName(d.category), grid, d.urgent ? '紧急' : ''].filter(Boolean).join(' · ')),
      d.description ? h('div', { class: 'note' }, d.description) : null,
      r.conflict === 'hard' ? h('div', { class: 'err', testid: 'incident-conflict' }, '此事件有冲突，待主管处理') : null,
      verify ? verifyBlock(r) : null,
      h('div', { class: 'row' }, open));
    return c;
  }

  // A pull and an outbox change can both ask for a render while one is running: only
  // the newest may mount, or an older snapshot would sit beside a newer one.
  let renders = 0;
  async function render() {
    const ticket = ++renders;
    if (openId) { await renderDetail(openId); return; }
    const all = await db.incidents.toArray();
    await observe(all);
    const seen = await loadSeen();
    const verify = all.filter((r) => waitsForVerify(r, mine));
    const rest = all.filter((r) => !verify.includes(r))
      .sort((a, b) => String(b.data.created_local_at || b.id).localeCompare(String(a.data.created_local_at || a.id)));
    const changed = all.filter((r) => isChanged(r, seen)).length;
    const verifyCards = await Promise.all(verify.map((r) => card(r, true, seen)));
    const restCards = await Promise.all(rest.map((r) => card(r, false, seen)));
    if (ticket !== renders) return; // a newer render is on its way
    news.textContent = changed ? `有 ${changed} 件事件有新进展，点“查看详情”看看` : '';
    news.dataset.count = String(changed);
    mount(toVerify, verify.length ? [h('h2', {}, `等您核查（${verify.length} 件）`), ...verifyCards] : null);
    mount(list, rest.length ? restCards : h('p', { class: 'muted' }, '暂无事件'));
    mount(root, listView);
  }

  async function renderDetail(id) {
    const r = await db.incidents.get(id);
    if (!r) { openId = null; render(); return; }
    await observe([r]);
    const d = r.data || {};
    const st = statusOf(r);
    const trail = await trailOf(r.id);
    const grid = r.grid_code ? await gridName(r.grid_code) : '';
    const entries = timeline(r, trail);
    // Before/after photos live on the 做 (handle) inspections of this incident.
    const insp = (await db.inspections.toArray()).filter((x) => x.id === d.inspection_id || (x.data && x.data.incident_id === r.id));
    const after = [...new Set([...(d.photos_after || []), ...insp.flatMap((x) => (x.data && x.data.photos_after) || [])])];
    const reported = (d.photos || []).filter((s) => !after.includes(s));
    const back = h('button', { type: 'button', testid: 'incident-back', onclick: () => { openId = null; render(); } }, '返回列表');
    mount(detailView,
      h('div', { testid: 'incident-detail', 'data-id': r.id, 'data-status': st },
        h('h2', {}, d.title || '事件'),
        h('p', { class: 'status-big' }, h('span', { class: 'badge', testid: 'incident-detail-status' }, statusText(st)), ' ', MEANING[st] || ''),
        h('p', { class: 'muted' }, [await categoryName(d.category), grid, d.urgent ? '紧急' : '', d.department ? `处理部门：${d.department}` : ''].filter(Boolean).join(' · ')),
        d.description ? h('p', { class: 'note' }, d.description) : null,
        waitsForVerify(r, mine) ? h('div', { class: 'card' }, h('b', {}, '这件事等您核查'), verifyBlock(r)) : null,
        h('h3', {}, '办理经过'),
        h('ol', { class: 'timeline', testid: 'incident-timeline', 'data-count': String(entries.length) },
          entries.map((e) => h('li', { testid: 'timeline-entry', 'data-kind': e.kind, 'data-status': e.status || '' },
            h('span', { class: 'when' }, fmtTime(e.at) || ''),
            e.kind === 'note' ? `处理记录：${e.text}` : e.text))),
        reported.length ? [h('h3', {}, '上报的照片'), h('div', { class: 'inc-photos', testid: 'incident-photos' }, await Promise.all(reported.map((s, i) => photoEl(s, `上报照片第 ${i + 1} 张`))))] : null,
        after.length ? [h('h3', {}, '处置后的照片'), h('div', { class: 'inc-photos', testid: 'incident-after-photos' }, await Promise.all(after.map((s, i) => photoEl(s, `处置后照片第 ${i + 1} 张`))))] : null,
        h('div', { class: 'row' }, back)));
    mount(root, detailView);
    await markSeen(r);
  }

  function openDetail(id) { openId = id; window.scrollTo(0, 0); render(); }

  await render();
  const offs = [on('pulled', render), on('outbox', render)];
  void notifyUser;
  return () => offs.forEach((f) => f());
}
