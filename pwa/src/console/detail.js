// A record as the console shows it (map popup, desk detail): what, where, who,
// when, photos (fetched with the token, shown through blob URLs) and history.
// Everything from the server goes in as text nodes.
import { h, fmtTime } from '../dom.js';
import { blob } from './session.js';
import { KIND, STATUS, LIGHT, fieldName } from './labels.js';
import { categoryText } from './catpath.js';

const urls = new Set();
/** Free the blob URLs of photos no longer shown. */
export function releasePhotos() { for (const u of urls) URL.revokeObjectURL(u); urls.clear(); }

export function lightDot(light) {
  return h('span', { class: `light light-${light || 'none'}`, testid: 'light', 'data-light': light || '', title: LIGHT[light] || '无时限' },
    light ? { green: '绿', yellow: '黄', red: '红' }[light] : '—');
}

export function dueText(dueAt) {
  if (!dueAt) return '无时限';
  const ms = new Date(dueAt).getTime() - Date.now();
  const mins = Math.round(Math.abs(ms) / 60000);
  const span = mins >= 1440 ? `${Math.floor(mins / 1440)} 天` : mins >= 60 ? `${Math.floor(mins / 60)} 小时 ${mins % 60} 分` : `${mins} 分钟`;
  return `${fmtTime(dueAt)}（${ms >= 0 ? `剩 ${span}` : `超期 ${span}`}）`;
}

export function photosNode(photos) {
  const box = h('div', { class: 'photos', testid: 'detail-photos', 'data-count': String((photos || []).length) });
  for (const p of photos || []) {
    const slot = h('span', { class: 'photo-slot', testid: 'detail-photo', 'data-sha': p.sha256, 'data-state': 'loading' }, '照片加载中…');
    box.appendChild(slot);
    if (p.stored === false) { slot.textContent = '照片尚未上传'; slot.dataset.state = 'missing'; continue; }
    blob(`/attachments/${encodeURIComponent(p.sha256)}`).then(({ blob: b }) => {
      const u = URL.createObjectURL(b);
      urls.add(u);
      slot.textContent = '';
      const img = h('img', { src: u, alt: '现场照片', testid: 'detail-photo-img' });
      const a = h('a', { href: u, target: '_blank', rel: 'noopener' }, img);
      slot.appendChild(a);
      slot.dataset.state = 'ready';
    }).catch(() => { slot.textContent = '照片无法加载'; slot.dataset.state = 'failed'; });
  }
  return box;
}

export function historyNode(history) {
  return h('ol', { class: 'history', testid: 'detail-history', 'data-count': String((history || []).length) },
    (history || []).map((it) => {
      const moved = it.to_status ? (it.from_status ? `${STATUS[it.from_status] || it.from_status} → ${STATUS[it.to_status] || it.to_status}` : `新建（${STATUS[it.to_status] || it.to_status}）`) : null;
      const other = it.version === 1 ? [] : (it.changed || []).filter((k) => !['status', 'notes', 'conflict'].includes(k));
      return h('li', { testid: 'history-entry', 'data-version': String(it.version), 'data-to': it.to_status || '' },
        h('b', {}, `第 ${it.version} 版`), ' ', h('span', { class: 'muted' }, `${fmtTime(it.at)} · ${it.by || '未知'}`),
        moved ? h('div', { testid: 'history-move' }, moved) : (it.version === 1 ? h('div', {}, '新建') : null),
        it.values && it.values.department && it.to_status === 'dispatched' ? h('div', {}, `派往：${it.values.department}`) : null,
        other.length ? h('div', { class: 'muted' }, `修改：${other.map(fieldName).join('、')}`) : null,
        it.deleted ? h('div', { class: 'err' }, '已删除') : null);
    }));
}

export function notesNode(notes) {
  if (!notes || !notes.length) return null;
  return h('div', { testid: 'detail-notes' }, h('b', {}, '处理记录'),
    h('ul', {}, notes.map((n) => h('li', { testid: 'detail-note-item' },
      h('span', { class: 'note' }, n.text || ''), ' ', h('span', { class: 'muted' }, `${n.by || ''} ${fmtTime(n.at)}`)))));
}

/** The whole record: `d` is a RecordDetail (GET /desk/records/{id} or /desk/incidents/{id}). */
export function recordNode(d, { testid = 'record-detail', categories = null } = {}) {
  const r = d.record || {};
  const isIncident = d.entity === 'incident';
  const grid = d.grid ? `${d.grid.name || ''} ${d.grid.code}${d.grid.community_name ? ` · ${d.grid.community_name}` : ''}${d.grid.street_name ? ` · ${d.grid.street_name}` : ''}` : '未匹配网格';
  const rows = [
    ['网格', grid],
    [isIncident ? '上报人' : '记录人', r.created_by || ''],
    ['时间', fmtTime(r.created_at)],
  ];
  if (isIncident && categories) {
    // The path through the configured tree (市容环境 › 占道经营), as text.
    rows.splice(1, 0, ['类别', h('span', { testid: 'detail-category', 'data-code': r.category || '' }, categoryText(categories, r.category))]);
  }
  if (isIncident) {
    rows.push(['状态', STATUS[r.status] || r.status || '']);
    if (r.department) rows.push(['处置部门', r.department]);
    rows.push(['时限', dueText(r.due_at)]);
  } else if (r.occurred_at) rows.push(['发生时间', fmtTime(r.occurred_at)]);
  return h('div', { class: 'record', testid, 'data-id': d.id, 'data-entity': d.entity, 'data-status': r.status || '', 'data-version': String(r.version || '') },
    h('div', { class: 'record-head' },
      isIncident ? lightDot(d.light) : null, ' ',
      h('b', { testid: 'detail-title' }, isIncident ? (r.title || '（无标题）') : (KIND[r.kind] || r.kind || '记录')),
      r.urgent ? h('span', { class: 'badge urgent' }, '紧急') : null,
      r.conflict === 'hard' ? h('span', { class: 'badge conflict', testid: 'detail-conflict' }, '有冲突') : null),
    h('dl', { class: 'kv' }, rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    (r.description || r.note) ? h('div', { class: 'note', testid: 'detail-text' }, r.description || r.note) : null,
    photosNode(d.photos),
    notesNode(r.notes),
    h('details', { open: true }, h('summary', {}, `历史（${(d.history || []).length}）`), historyNode(d.history)));
}
