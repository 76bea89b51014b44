// 发件箱: every op not yet acknowledged (未上传 / 被退回), and what happened to
// the sent ones (已上传 / 冲突 / 等待前序记录).
import { h, mount, fmtTime, toast } from '../dom.js';
import { db } from '../store.js';
import { discard, resubmit } from '../outbox.js';
import { manualSync } from '../scheduler.js';
import { syncState, onSyncState, progressText } from '../syncstate.js';
import { fmtBytes } from '../storage.js';

const STATUS_TEXT = {
  pending: '未上传', rejected: '被退回', applied: '已上传', merged: '已上传（已合并）', duplicate: '已上传',
  held: '已上传（等待前序记录）', conflict: '冲突（待主管处理）', discarded: '已放弃', replaced: '已修改重发',
};
const CODE_TEXT = {
  validation: '内容不合格', forbidden: '无权限（不在您的网格）', unknown_record: '服务器上没有这条记录',
  base_ahead: '版本异常', op_id_reused: '编号重复', seq_reused: '序号重复', concurrent_edit: '他人同时修改了相同内容',
  illegal_transition: '状态已变化，不能这样改', record_deleted: '记录已被删除', stale_delete: '删除时记录已变化', device_mismatch: '设备与登录不符',
};

function describe(op) {
  const d = op.data || {};
  return op.note || d.note || d.title || d.address || d.head_name || (d.status ? `状态改为 ${d.status}` : '') || '';
}

export async function outboxScreen(root) {
  const list = h('div', { testid: 'outbox-list' });
  const sent = h('div', { testid: 'outbox-history' });
  const photoLine = h('p', { class: 'muted', testid: 'outbox-photos' });

  let editing = false;
  let stillMissing = (shas) => shas || [];
  async function render() {
    if (editing) return;
    const ops = await db.outbox.orderBy('device_seq').toArray();
    const hist = await db.history.orderBy('device_seq').reverse().limit(100).toArray();
    const st = await syncState();
    const pc = st.photos;
    // Photos a sent record still lacks on the server: those not uploaded from here yet.
    const photos = new Map((await db.photos.toArray()).map((p) => [p.sha, p.uploaded]));
    stillMissing = (shas) => (shas || []).filter((sha) => photos.get(sha) !== 1);
    const busy = st.progress && st.progress.phase === 'photos' ? progressText(st.progress) : '';
    photoLine.textContent = [
      pc.unsent ? `${pc.unsent} 张照片未上传（${fmtBytes(pc.unsent_bytes)}）` : '',
      pc.failed ? `${pc.failed} 张照片无法上传` : '',
      !pc.unsent && !pc.failed && pc.total ? '照片已全部上传' : '',
      busy,
    ].filter(Boolean).join(' · ');
    photoLine.dataset.unsent = String(pc.unsent);
    photoLine.dataset.failed = String(pc.failed);
    photoLine.className = pc.unsent || pc.failed ? 'err' : 'muted';
    mount(list, ops.length ? ops.map(opCard) : h('p', { class: 'ok', testid: 'outbox-empty' }, '没有未上传的记录'));
    mount(sent, hist.map(histCard));
  }

  function opCard(op) {
    const errors = op.errors || {};
    const errs = Object.entries(errors).map(([k, v]) => h('li', {}, `${k}：${Array.isArray(v) ? v.join('；') : typeof v === 'object' ? JSON.stringify(v) : v}`));
    const card = h('div', { class: `card ${op.status}`, testid: 'outbox-item', 'data-status': op.status, 'data-seq': String(op.device_seq), 'data-id': op.id },
      h('div', {}, h('span', { class: `badge ${op.status}`, testid: 'outbox-item-status' }, STATUS_TEXT[op.status] || op.status), ' ',
        h('b', {}, op.label || op.entity), ' ', h('span', { class: 'muted' }, `#${op.device_seq} · ${fmtTime(op.created_at)}`)),
      h('div', { class: 'note', testid: 'outbox-item-note' }, describe(op)));
    if (op.status === 'rejected') {
      card.appendChild(h('div', { class: 'err', testid: 'outbox-reason' }, `退回原因：${CODE_TEXT[op.code] || op.code || '内容不合格'}`));
      if (errs.length) card.appendChild(h('ul', { testid: 'outbox-errors' }, errs));
      card.appendChild(h('div', { class: 'row' },
        h('button', { testid: 'outbox-fix', onclick: () => fixForm(card, op) }, '修改后重发'),
        h('button', { class: 'danger', testid: 'outbox-discard', onclick: (e) => {
          e.target.replaceWith(h('button', { class: 'danger', testid: 'outbox-discard-confirm', onclick: async () => {
            await discard(op.device_seq); toast('已放弃'); editing = false; render();
          } }, '确认放弃（无法恢复）'));
        } }, '放弃')));
    }
    return card;
  }

  function fixForm(card, op) {
    if (card.querySelector('form')) return;
    editing = true;
    const data = JSON.parse(JSON.stringify(op.data || {}));
    const names = Object.keys(op.errors || {}).map((k) => k.replace(/^data\./, '')).filter((k) => k in data || !k.includes('.'));
    const fields = names.length ? names : Object.keys(data).filter((k) => typeof data[k] === 'string');
    const inputs = {};
    const box = h('form', { testid: 'outbox-fix-form' },
      fields.map((k) => {
        const v = data[k];
        const input = typeof v === 'string' || v == null
          ? h('textarea', { testid: `fix-${k}`, id: `fix-${k}` }) : h('textarea', { testid: `fix-${k}`, id: `fix-${k}` });
        input.value = typeof v === 'string' ? v : v == null ? '' : JSON.stringify(v);
        inputs[k] = { input, json: !(typeof v === 'string' || v == null) };
        return h('div', {}, h('label', { for: `fix-${k}` }, k), input);
      }),
      h('div', { class: 'row' }, h('button', { type: 'submit', class: 'primary', testid: 'outbox-resend' }, '重新提交')));
    box.addEventListener('submit', async (e) => {
      e.preventDefault();
      for (const [k, { input, json }] of Object.entries(inputs)) {
        if (json) { try { data[k] = JSON.parse(input.value); } catch { data[k] = input.value; } } else data[k] = input.value;
      }
      await resubmit(op.device_seq, data);
      toast('已修改，等待上传');
      editing = false;
      render();
      manualSync();
    });
    card.appendChild(box);
  }

  function histCard(r) {
    return h('div', { class: `card ${r.status}`, testid: 'history-item', 'data-status': r.status, 'data-id': r.id },
      h('span', { class: `badge ${r.status}` }, STATUS_TEXT[r.status] || r.status), ' ', h('b', {}, r.label || r.entity), ' ',
      h('span', { class: 'muted' }, `#${r.device_seq}${r.grid_code ? ` · 网格 ${r.grid_code}` : ''}${r.acked_at ? ` · ${fmtTime(r.acked_at)}` : ''}`),
      r.note ? h('div', { class: 'note' }, r.note) : null,
      r.status === 'conflict' ? h('div', { class: 'muted', testid: 'history-conflict' }, `与他人的修改冲突（${CODE_TEXT[r.code] || r.code || ''}），您的内容已保存，由主管处理`) : null,
      stillMissing(r.missing_attachments).length ? h('div', { class: 'muted', testid: 'history-missing-photos', 'data-count': String(stillMissing(r.missing_attachments).length) }, `还有 ${stillMissing(r.missing_attachments).length} 张照片待上传`) : null);
  }

  mount(root, h('h2', {}, '发件箱'), h('div', { class: 'row' }, h('button', { class: 'primary', testid: 'outbox-sync', onclick: () => manualSync() }, '立即同步')),
    photoLine, list, h('h2', {}, '最近已发送'), sent);
  await render();
  const off = onSyncState(render);
  return off;
}
