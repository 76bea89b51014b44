// 巡 每日巡: start / pause / end a patrol, findings along the way, distance,
// time and the grids crossed.
import { h, mount, toast } from '../dom.js';
import { on } from '../bus.js';
import {
  activePatrol, startPatrol, pausePatrol, resumePatrol, endPatrol, addFinding,
  trackPoints, lengthOf, elapsedMs, gridsCrossed, gpsStatus, gpsState, retryGps, clock, MAX_ACCURACY_M,
} from '../tracker.js';
import { counts } from '../outbox.js';

function fmtDuration(ms) {
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return `${hh ? `${hh} 小时 ` : ''}${mm} 分 ${ss} 秒`;
}

const DENIED_HELP = '没有定位权限，轨迹无法记录。请打开手机「设置」中的「位置信息」，并允许浏览器使用位置；'
  + '再点地址栏左侧的锁形图标 →「权限」→「位置」→「允许」，然后点「重新定位」。';

/** One line on what the GPS is doing: the patrol must never claim a track it is not getting. */
export function gpsText(state, s, now = clock.now()) {
  const acc = s.last && s.last.accuracy != null ? `±${Math.round(s.last.accuracy)} 米` : '未知';
  switch (state) {
    case 'denied': return DENIED_HELP;
    case 'nofix': return `已超过 1 分钟没有定位${s.last ? `（上次精度 ${acc}）` : ''}：请到室外开阔处，确认手机已打开位置信息（GPS）。轨迹暂未记录。`;
    case 'waiting': return `正在等待卫星定位…（已等待 ${Math.max(0, Math.round((now - (s.since || now)) / 1000))} 秒）`;
    case 'poor': return `定位精度太差（${acc}，需好于 ±${MAX_ACCURACY_M} 米），暂不记录轨迹点：请到开阔处。已收到 ${s.fixes} 次定位`;
    default: return `定位正常：精度 ${acc}，已收到 ${s.fixes} 次定位`;
  }
}

export async function patrolScreen(root, { go }) {
  const gpsLine = h('p', { testid: 'patrol-gps', role: 'status' });
  const gpsRetry = h('button', { testid: 'patrol-gps-retry', onclick: async () => { await retryGps(); render(); } }, '重新定位');
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
    gpsLine, h('div', { class: 'row' }, gpsRetry),
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
      state.dataset.state = p.paused ? 'paused' : 'running';
      pauseBtn.textContent = p.paused ? '继续' : '暂停';
      const pts = await trackPoints(p.id);
      const g = gpsStatus();
      const gs = p.paused ? 'paused' : gpsState(g);
      const recording = gs === 'ok';
      state.textContent = p.paused ? '已暂停'
        : recording ? '巡查中，正在记录轨迹'
          : gs === 'denied' ? '巡查中，但没有定位权限，轨迹无法记录'
            : gs === 'waiting' ? '巡查中，正在等待定位' : '巡查中，但轨迹暂未记录';
      state.className = `grid-name ${recording || p.paused ? '' : 'err'}`;
      gpsLine.textContent = p.paused ? '' : gpsText(gs, g);
      gpsLine.dataset.state = gs;
      gpsLine.dataset.fixes = String(g.fixes);
      gpsLine.dataset.accuracy = g.last && g.last.accuracy != null ? String(Math.round(g.last.accuracy)) : '';
      gpsLine.className = ['denied', 'nofix', 'poor'].includes(gs) ? 'err' : 'muted';
      gpsRetry.style.display = ['denied', 'nofix'].includes(gs) ? '' : 'none';
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
  const offs = [on('track', render), on('patrol', render), on('gps', render)];
  return () => { clearInterval(timer); offs.forEach((f) => f()); };
}
