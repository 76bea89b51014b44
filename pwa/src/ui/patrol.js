// 巡 每日巡: start / pause / end a patrol, findings along the way, distance,
// time and the grids crossed.
import { h, mount, toast } from '../dom.js';
import { on } from '../bus.js';
import {
  activePatrol, startPatrol, pausePatrol, resumePatrol, endPatrol, addFinding,
  trackPoints, lengthOf, elapsedMs, gridsCrossed,
} from '../tracker.js';
import { counts } from '../outbox.js';

function fmtDuration(ms) {
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return `${hh ? `${hh} 小时 ` : ''}${mm} 分 ${ss} 秒`;
}

export async function patrolScreen(root, { go }) {
  const state = h('p', { class: 'grid-name', testid: 'patrol-state' });
  const dist = h('span', { testid: 'patrol-distance' });
  const time = h('span', { testid: 'patrol-time' });
  const npts = h('span', { testid: 'patrol-points' });
  const grids = h('div', { testid: 'patrol-grids' });
  const findings = h('ol', { testid: 'patrol-findings' });
  const findingNote = h('textarea', { testid: 'patrol-finding-note', id: 'patrol-finding-note', placeholder: '发现的问题（隐患、秩序等）' });
  const endNote = h('textarea', { testid: 'patrol-note', id: 'patrol-note', placeholder: '巡查小结（可不填）' });
  const startBtn = h('button', { class: 'primary', testid: 'patrol-start', onclick: async () => { await startPatrol(); render(); } }, '开始巡查');
  const pauseBtn = h('button', { testid: 'patrol-pause', onclick: async () => {
    const p = await activePatrol();
    if (p && p.paused) await resumePatrol(); else await pausePatrol();
    render();
  } }, '暂停');
  const endBtn = h('button', { class: 'danger', testid: 'patrol-end', onclick: async () => {
    endBtn.disabled = true;
    try {
      await endPatrol(endNote.value.trim());
      const c = await counts();
      toast(`巡查已结束并保存（${c.unsent} 条未上传）`);
      go('');
    } finally { endBtn.disabled = false; }
  } }, '结束巡查');
  const addBtn = h('button', { testid: 'patrol-finding-add', onclick: async () => {
    const t = findingNote.value.trim();
    if (!t) return;
    await addFinding(t);
    findingNote.value = '';
    render();
  } }, '记录发现');
  const running = h('div', {},
    h('p', {}, '里程：', dist, ' · 用时：', time, ' · 轨迹点：', npts),
    h('label', {}, '经过的网格'), grids,
    h('label', { for: 'patrol-finding-note' }, '沿途发现'), findingNote, h('div', { class: 'row' }, addBtn),
    findings,
    h('label', { for: 'patrol-note' }, '小结'), endNote,
    h('div', { class: 'row' }, pauseBtn, endBtn));
  mount(root, h('h2', {}, '巡 · 每日巡查'), state, h('div', { class: 'row' }, startBtn), running,
    h('div', { class: 'row' }, h('button', { testid: 'patrol-back', onclick: () => go('') }, '返回首页（巡查继续记录）')));

  let busy = false;
  async function render() {
    if (busy) return;
    busy = true;
    try {
      const p = await activePatrol();
      startBtn.style.display = p ? 'none' : '';
      running.style.display = p ? '' : 'none';
      if (!p) { state.textContent = '未在巡查'; state.dataset.state = 'idle'; return; }
      state.textContent = p.paused ? '已暂停' : '巡查中，正在记录轨迹';
      state.dataset.state = p.paused ? 'paused' : 'running';
      pauseBtn.textContent = p.paused ? '继续' : '暂停';
      const pts = await trackPoints(p.id);
      dist.textContent = `${Math.round(lengthOf(pts))} 米`;
      time.textContent = fmtDuration(elapsedMs(p));
      npts.textContent = String(pts.length);
      npts.dataset.count = String(pts.length);
      const crossed = await gridsCrossed(pts);
      grids.textContent = crossed.length ? crossed.map((g) => g.name).join('、') : '（暂无）';
      grids.dataset.codes = crossed.map((g) => g.code).join(',');
      mount(findings, p.findings.map((f) => h('li', { class: 'note', testid: 'patrol-finding' }, f.note)));
    } finally { busy = false; }
  }
  await render();
  const timer = setInterval(render, 1000);
  const offs = [on('track', render), on('patrol', render)];
  return () => { clearInterval(timer); offs.forEach((f) => f()); };
}
