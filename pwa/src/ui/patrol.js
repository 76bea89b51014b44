// 巡 每日巡: start / pause / end a patrol, findings along the way, distance,
// time and the grids crossed.
import { h, mount, toast } from '../dom.js';
import { on } from '../bus.js';
import {
  activePatrol, startPatrol, pausePatrol, resumePatrol, endPatrol, addFinding,
  trackPoints, lengthOf, elapsedMs, gridsCrossed, gpsStatus, gpsState, retryGps, clock, MAX_ACCURACY_M,
} from '../tracker.js';
import { counts } from '../outbox.js';
import { photoPicker } from '../capture.js';

/**
 * Track points (lon/lat) scaled into a w×h box with a margin, north up, aspect kept.
 *
 * >>> trackPath([{lon: 0, lat: 0}, {lon: 1, lat: 1}], 100, 100, 0)   // (doc only)
 * [[0, 100], [100, 0]]
 */
export function trackPath(pts, w, h, pad) {
  if (!pts.length) return [];
  const k = Math.cos(((pts[0].lat || 0) * Math.PI) / 180);
  const xs = pts.map((p) => p.lon * k);
  const ys = pts.map((p) => p.lat);
  const minX = Math.min(...xs); const maxX = Math.max(...xs);
  const minY = Math.min(...ys); const maxY = Math.max(...ys);
  const span = Math.max(maxX - minX, maxY - minY, 1e-6);
  const s = Math.min((w - 2 * pad) / span, (h - 2 * pad) / span);
  const ox = (w - (maxX - minX) * s) / 2;
  const oy = (h - (maxY - minY) * s) / 2;
  return pts.map((_, i) => [Math.round(ox + (xs[i] - minX) * s), Math.round(h - oy - (ys[i] - minY) * s)]);
}

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
  // Ending is final (the patrol is sent as one record), so it asks once, with what
  // is at stake: the points and minutes recorded.
  const confirmBox = h('div', { class: 'card confirm', testid: 'patrol-end-ask', role: 'alertdialog', hidden: true });
  const endBtn = h('button', { class: 'danger', testid: 'patrol-end', onclick: async () => {
    const p = await activePatrol();
    if (!p) return;
    const n = (await trackPoints(p.id)).length;
    const min = Math.round(elapsedMs(p) / 60000);
    confirmBox.dataset.points = String(n);
    confirmBox.dataset.minutes = String(min);
    const yes = h('button', { class: 'danger', testid: 'patrol-end-confirm', onclick: async () => {
      yes.disabled = true;
      try {
        await endPatrol(endNote.value.trim());
        const c = await counts();
        toast(`巡查已结束并保存（${c.unsent} 条未上传）`);
        go('');
      } finally { yes.disabled = false; }
    } }, '结束巡查');
    const no = h('button', { testid: 'patrol-end-cancel', onclick: () => { confirmBox.hidden = true; endBtn.hidden = false; } }, '继续巡查');
    mount(confirmBox, h('p', {}, h('b', {}, `结束本次巡查？已记录 ${n} 个点、${min} 分钟`)), h('div', { class: 'row' }, no, yes));
    confirmBox.hidden = false;
    endBtn.hidden = true;
    yes.focus();
  } }, '结束巡查');
  // The track so far, drawn live: a polyline of the recorded points, no map library.
  const trackSvg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  trackSvg.setAttribute('class', 'track');
  trackSvg.setAttribute('viewBox', '0 0 320 160');
  trackSvg.setAttribute('role', 'img');
  trackSvg.setAttribute('aria-label', '本次巡查轨迹');
  trackSvg.dataset.testid = 'patrol-track';
  function drawTrack(pts) {
    trackSvg.replaceChildren();
    const d = trackPath(pts, 320, 160, 12);
    trackSvg.dataset.points = String(pts.length);
    if (!d.length) return;
    const ns = 'http://www.w3.org/2000/svg';
    const line = document.createElementNS(ns, 'polyline');
    line.setAttribute('points', d.map(([x, y]) => `${x},${y}`).join(' '));
    trackSvg.appendChild(line);
    const [x, y] = d[d.length - 1];
    const dot = document.createElementNS(ns, 'circle');
    dot.setAttribute('cx', String(x)); dot.setAttribute('cy', String(y)); dot.setAttribute('r', '6');
    trackSvg.appendChild(dot);
  }
  // Photos on a finding: the same capture widget as 报 (capture.js).
  const findingPhotos = photoPicker('patrol-finding-photo', '照片');
  const addBtn = h('button', { testid: 'patrol-finding-add', onclick: async () => {
    const t = findingNote.value.trim();
    if (!t && !findingPhotos.get().length) return;
    if (findingPhotos.busy()) return;
    const photos = findingPhotos.get();
    await addFinding(t || '（照片）', photos);
    findingNote.value = '';
    findingPhotos.set([]);
    render();
  } }, '记录发现');
  const running = h('div', {},
    gpsLine, h('div', { class: 'row' }, gpsRetry),
    h('p', {}, '里程：', dist, ' · 用时：', time, ' · 轨迹点：', npts),
    trackSvg,
    h('label', {}, '经过的网格'), grids,
    h('label', { for: 'patrol-finding-note' }, '沿途发现'), findingNote, findingPhotos.el, h('div', { class: 'row' }, addBtn),
    findings,
    h('label', { for: 'patrol-note' }, '小结'), endNote,
    h('div', { class: 'row' }, pauseBtn, endBtn), confirmBox);
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
      drawTrack(pts);
      const crossed = await gridsCrossed(pts);
      grids.textContent = crossed.length ? crossed.map((g) => g.name).join('、') : '（暂无）';
      grids.dataset.codes = crossed.map((g) => g.code).join(',');
      mount(findings, p.findings.map((f) => h('li', { class: 'note', testid: 'patrol-finding', 'data-photos': String((f.photos || []).length) },
        f.note, f.photos && f.photos.length ? h('span', { class: 'muted' }, `（${f.photos.length} 张照片）`) : null)));
    } finally { busy = false; }
  }
  await render();
  const timer = setInterval(render, 1000);
  const offs = [on('track', render), on('patrol', render), on('gps', render)];
  return () => { clearInterval(timer); offs.forEach((f) => f()); };
}
