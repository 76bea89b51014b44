// 工单: the work-order desk. Queues by status with traffic lights, the incident
// with its history, and the moves the caller's role may make (the server says
// which, in `actions`). A 409 (someone else moved it first) reloads and says so.
import { h, mount, fmtTime } from '../dom.js';
import { call, qs, explain } from './session.js';
import { STATUS, MAIN_QUEUES, SIDE_QUEUES, actionLabel } from './labels.js';
import { recordNode, releasePhotos, lightDot, dueText } from './detail.js';
import { areaPicker } from './areas.js';
import { locationMap, releaseLocationMap } from './locmap.js';

const CONFIRM = new Set(['rejected', 'void']);

export function deskView(root, { user }) {
  const st = { queue: user.role === 'department' ? 'dispatched' : 'reported', items: [], cursor: null, more: false,
    counts: {}, selected: null, detail: null, alive: true, seq: 0, departments: null };
  const idIn = (hash) => (hash.match(/^#\/desk\/([0-9a-f-]{36})/i) || [])[1];
  const hashId = idIn(location.hash);

  const queueBtns = new Map();
  const mkQueue = (s) => {
    const b = h('button', { class: 'queue', testid: 'desk-queue', 'data-status': s, 'data-count': '0', onclick: () => { st.queue = s; loadList(); } });
    queueBtns.set(s, b);
    return b;
  };
  const queues = h('div', { class: 'queues', testid: 'desk-queues' },
    h('div', { class: 'queue-row' }, h('span', { class: 'muted' }, '主流程'), MAIN_QUEUES.map(mkQueue)),
    h('div', { class: 'queue-row' }, h('span', { class: 'muted' }, '侧路'), SIDE_QUEUES.map(mkQueue), mkQueue('extension')));
  const overdue = h('input', { type: 'checkbox', testid: 'desk-overdue' });
  const urgent = h('input', { type: 'checkbox', testid: 'desk-urgent' });
  overdue.addEventListener('change', () => loadList());
  urgent.addEventListener('change', () => loadList());
  const area = user.role === 'department' ? null : areaPicker('desk', () => loadList());
  const list = h('div', { class: 'desk-list', testid: 'desk-list', 'data-state': 'loading' });
  const moreBtn = h('button', { testid: 'desk-more', hidden: true, onclick: () => loadList(true) }, '加载更多');
  const listMsg = h('p', { class: 'err', testid: 'desk-list-error', role: 'alert' });
  const detail = h('section', { class: 'desk-detail', testid: 'desk-detail', 'data-state': 'empty' }, h('p', { class: 'muted' }, '请在左侧选择一件工单'));

  mount(root,
    h('section', { class: 'filters', testid: 'desk-filters' },
      area ? area.node : null,
      h('label', { class: 'check inline' }, overdue, '只看超期（红灯）'),
      h('label', { class: 'check inline' }, urgent, '只看紧急')),
    queues,
    h('div', { class: 'desk-layout' }, h('div', { class: 'desk-left' }, listMsg, list, moreBtn), detail));

  function params(withCursor) {
    // 延时 is not a status: its queue is every incident with a pending request.
    const p = st.queue === 'extension' ? { extension: 'requested', limit: 50 } : { status: st.queue, limit: 50 };
    if (area) Object.assign(p, area.value());
    if (overdue.checked) p.overdue = 'true';
    if (urgent.checked) p.urgent = 'true';
    if (withCursor && st.cursor) p.cursor = st.cursor;
    return p;
  }

  async function loadList(append = false) {
    const seq = ++st.seq;
    for (const [s, b] of queueBtns) { b.classList.toggle('active', s === st.queue); b.setAttribute('aria-pressed', s === st.queue ? 'true' : 'false'); }
    list.dataset.state = 'loading';
    list.dataset.queue = st.queue;
    try {
      const page = await call(`/desk/incidents${qs(params(append))}`);
      if (seq !== st.seq || !st.alive) return;
      listMsg.textContent = '';
      st.items = append ? [...st.items, ...page.incidents] : page.incidents;
      st.cursor = page.cursor;
      st.more = page.more;
      st.counts = page.counts || {};
      renderQueues();
      renderList();
      list.dataset.state = 'ready';
    } catch (e) {
      if (seq !== st.seq) return;
      list.dataset.state = 'failed';
      listMsg.textContent = `工单加载失败：${explain(e)}`;
    }
  }

  function renderQueues() {
    for (const [s, b] of queueBtns) {
      // Counts are per status; the 延时 queue counts what it shows when open.
      const n = s === 'extension' ? (st.queue === s ? st.items.length : null) : (st.counts[s] || 0);
      b.dataset.count = String(n ?? '');
      mount(b, STATUS[s], ' ', n === null ? null : h('span', { class: 'count' }, String(n)));
    }
  }

  function row(it) {
    const b = h('button', { class: `desk-row card${st.selected === it.id ? ' selected' : ''}`, testid: 'desk-row', 'data-id': it.id, 'data-status': it.status,
      'data-light': it.light || '', 'data-version': String(it.version) },
    h('div', { class: 'desk-row-head' }, lightDot(it.light), ' ', h('b', { testid: 'desk-row-title' }, it.title || '（无标题）'),
      it.urgent ? h('span', { class: 'badge urgent' }, '紧急') : null,
      it.conflict === 'hard' ? h('span', { class: 'badge conflict' }, '有冲突') : null),
    h('div', { class: 'muted', testid: 'desk-row-due' }, `时限：${dueText(it.due_at)}`),
    h('div', { class: 'muted' }, h('span', { testid: 'desk-row-grid' }, `网格 ${it.grid_code || '未匹配'}`), ' · ',
      h('span', { testid: 'desk-row-reporter' }, `上报人 ${it.reporter || ''}`), ' · ', fmtTime(it.created_at),
      it.department ? ` · ${it.department}` : ''));
    b.addEventListener('click', () => open(it.id));
    return b;
  }

  function renderList() {
    mount(list, st.items.length ? st.items.map(row) : h('p', { class: 'muted', testid: 'desk-empty' }, `「${STATUS[st.queue]}」中没有工单`));
    list.dataset.count = String(st.items.length);
    moreBtn.hidden = !st.more;
  }

  async function departments() {
    if (!st.departments) st.departments = (await call('/desk/departments')).departments || [];
    return st.departments;
  }

  async function open(id, message = null) {
    st.selected = id;
    for (const el of list.querySelectorAll('[data-testid=desk-row]')) el.classList.toggle('selected', el.dataset.id === id);
    history.replaceState(null, '', `#/desk/${id}`);
    detail.dataset.state = 'loading';
    detail.dataset.id = id;
    try {
      const d = await call(`/desk/incidents/${encodeURIComponent(id)}`);
      if (st.selected !== id || !st.alive) return;
      // The category tree and the basemap (GET /meta, once): for the 类别 path and the location map.
      if (!st.meta) st.meta = await call('/meta').catch(() => null);
      if (st.selected !== id || !st.alive) return;
      const needDept = (d.actions || []).includes('dispatched');
      const depts = needDept ? await departments() : [];
      renderDetail(d, depts, message);
    } catch (e) {
      if (st.selected !== id) return;
      detail.dataset.state = 'failed';
      mount(detail, h('p', { class: 'err', testid: 'desk-message', 'data-kind': 'error' }, `无法打开工单：${explain(e)}`));
    }
  }

  function renderDetail(d, depts, message) {
    releasePhotos();
    const r = d.record || {};
    st.detail = d;
    const msg = h('p', { testid: 'desk-message', role: 'status', 'aria-live': 'polite', class: message ? (message.kind === 'ok' ? 'ok' : 'err') : '', 'data-kind': message ? message.kind : '' }, message ? message.text : '');
    const note = h('textarea', { testid: 'desk-note', placeholder: '处理意见（可不填，会写入处理记录）', rows: 3 });
    const dept = depts.length ? h('select', { testid: 'desk-department', 'aria-label': '派往部门' },
      h('option', { value: '' }, '请选择处置部门'), depts.map((x) => h('option', { value: x }, x))) : null;
    if (dept && r.department && depts.includes(r.department)) dept.value = r.department;
    const buttons = (d.actions || []).map((to) => {
      const b = h('button', { class: CONFIRM.has(to) ? 'danger' : 'primary', testid: 'desk-action', 'data-to': to }, actionLabel(r.status, to));
      b.addEventListener('click', async () => {
        if (CONFIRM.has(to) && b.dataset.confirm !== '1') {
          b.dataset.confirm = '1';
          b.textContent = `确认${actionLabel(r.status, to)}？再点一次`;
          return;
        }
        if (to === 'dispatched' && dept && !dept.value) {
          msg.className = 'err'; msg.dataset.kind = 'error'; msg.textContent = '派遣前请选择处置部门';
          dept.focus();
          return;
        }
        for (const x of buttons) x.disabled = true;
        msg.className = 'muted'; msg.dataset.kind = 'busy'; msg.textContent = '正在提交…';
        const body = { to, base_version: r.version };
        if (to === 'dispatched' && dept && dept.value) body.department = dept.value;
        if (note.value.trim()) body.note = note.value.trim();
        try {
          const res = await call(`/desk/incidents/${encodeURIComponent(d.id)}/transition`, { method: 'POST', json: body });
          const fresh = res.incident;
          const text = `已${actionLabel(r.status, to)}：${STATUS[r.status] || r.status} → ${STATUS[to] || to}${body.department ? `（${body.department}）` : ''}`;
          loadList();
          if (fresh && st.selected === d.id) renderDetail(fresh, (fresh.actions || []).includes('dispatched') ? await departments() : [], { kind: 'ok', text });
        } catch (e) {
          if (e.status === 409) {
            loadList();
            open(d.id, { kind: 'conflict', text: e.code === 'stale_version'
              ? '该工单刚被他人更新，已重新载入最新状态，请核对后再操作。'
              : `该操作已不适用于当前状态（${e.message}），已重新载入。` });
            return;
          }
          msg.className = 'err'; msg.dataset.kind = 'error'; msg.textContent = explain(e);
          for (const x of buttons) x.disabled = false;
        }
      });
      return b;
    });
    detail.dataset.state = 'ready';
    detail.dataset.id = d.id;
    detail.dataset.status = r.status || '';
    detail.dataset.version = String(r.version || '');
    detail.dataset.light = d.light || '';
    mount(detail,
      recordNode(d, { testid: 'desk-record', categories: (st.meta && st.meta.categories) || [] }),
      locationMap(d, st.meta),
      h('div', { class: 'desk-actions', testid: 'desk-actions', 'data-actions': (d.actions || []).join(',') },
        buttons.length ? [
          dept ? h('label', {}, '派往部门', dept) : null,
          h('label', {}, '处理意见', note),
          h('div', { class: 'row' }, buttons),
        ] : h('p', { class: 'muted', testid: 'desk-no-actions' }, '您当前没有可进行的操作')),
      extensionBlock(d, r, msg),
      msg);
  }

  // 延时: ask for more time while dispatched; a supervisor approves or refuses.
  function extensionBlock(d, r, msg) {
    const ext = r.extension || null;
    const pending = ext && ext.status === 'requested';
    const canDecide = pending && (user.role === 'supervisor' || user.role === 'admin');
    const canAsk = r.status === 'dispatched' && !pending && (d.actions || []).includes('handled');
    const status = ext ? h('p', { testid: 'desk-extension', 'data-status': ext.status },
      `延时申请 ${ext.minutes} 分钟${ext.reason ? `（${ext.reason}）` : ''}：`,
      { requested: '待审批', approved: '已批准', refused: '未批准' }[ext.status] || ext.status) : null;
    if (!status && !canAsk) return null;
    const send = async (body, done) => {
      msg.className = 'muted'; msg.dataset.kind = 'busy'; msg.textContent = '正在提交…';
      try {
        const res = await call(`/desk/incidents/${encodeURIComponent(d.id)}/extension`, { method: 'POST', json: { base_version: r.version, ...body } });
        loadList();
        if (res.incident && st.selected === d.id) renderDetail(res.incident, (res.incident.actions || []).includes('dispatched') ? await departments() : [], { kind: 'ok', text: done });
      } catch (e) {
        if (e.status === 409) { open(d.id, { kind: 'conflict', text: '该工单刚被他人更新，已重新载入。' }); return; }
        msg.className = 'err'; msg.dataset.kind = 'error'; msg.textContent = explain(e);
      }
    };
    const parts = [h('h3', {}, '延时'), status];
    if (canDecide) {
      parts.push(h('div', { class: 'row' },
        h('button', { class: 'primary', testid: 'desk-extension-approve', onclick: () => send({ decision: 'approve' }, '已批准延时') }, '批准延时'),
        h('button', { testid: 'desk-extension-refuse', onclick: () => send({ decision: 'refuse' }, '已驳回延时申请') }, '不批准')));
    }
    if (canAsk) {
      const minutes = h('input', { type: 'number', min: 1, max: 10080, value: 120, testid: 'desk-extension-minutes', 'aria-label': '延长分钟数' });
      const reason = h('input', { type: 'text', maxlength: 500, testid: 'desk-extension-reason', placeholder: '原因' });
      parts.push(h('div', { class: 'row' }, h('label', {}, '延长（分钟）', minutes), h('label', {}, '原因', reason),
        h('button', { testid: 'desk-extension-ask', onclick: () => send({ minutes: Number(minutes.value), ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) }, '已提交延时申请') }, '申请延时')));
    }
    return h('section', { class: 'desk-extension', testid: 'desk-extension-block' }, parts);
  }

  loadList();
  if (hashId) open(hashId);
  const timer = setInterval(() => { if (document.visibilityState !== 'hidden') loadList(); }, 30000);
  return {
    refresh() { loadList(); if (st.selected) open(st.selected); },
    onHash(hash) { const id = idIn(hash); if (id && id !== st.selected) open(id); },
    destroy() { st.alive = false; clearInterval(timer); releasePhotos(); releaseLocationMap(); },
  };
}
