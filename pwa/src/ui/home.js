import { h, mount } from '../dom.js';
import { kvGet } from '../store.js';
import { storageInfo, fmtBytes } from '../storage.js';
import { on } from '../bus.js';
import { db } from '../store.js';
import { myGridNames } from '../labels.js';
import { firstRunGuide } from '../firstrun.js';

const DUTIES = [
  ['patrol', '巡', '每日巡 · 巡查'],
  ['visit', '访', '经常访 · 走访'],
  ['record', '记', '及时记 · 信息'],
  ['handle', '做', '随手做 · 处置'],
  ['report', '报', '实时报 · 上报'],
];

export async function homeScreen(root, { user, go }) {
  // Names, not codes: "示范01社区01网格" (labels.js reads the pulled grids).
  const grids = (await myGridNames(user).catch(() => user.grids || [])).join('、');
  const quota = h('p', { class: 'err', testid: 'storage-low' });
  const review = h('p', { testid: 'home-review' });
  // What this phone holds for offline work, so the user knows it is ready before leaving.
  const ready = h('p', { class: 'muted', testid: 'home-ready' });
  async function refreshReady() {
    const [hh, inc, grids] = await Promise.all([db.households.count(), db.incidents.count(), db.grids.count()]);
    ready.dataset.households = String(hh);
    ready.dataset.grids = String(grids);
    ready.textContent = grids || hh || inc
      ? `本机已有 ${hh} 户住户、${inc} 件事件、${grids} 个网格，可离线工作`
      : '本机还没有数据：请联网同步后再外出';
  }
  async function refreshStorage() {
    const s = await storageInfo();
    // Whether the browser granted persistent storage is advice for 设置, not a
    // permanent alarm here: home speaks only when space is really running out.
    quota.textContent = s.low ? `存储空间不足（剩余 ${fmtBytes(s.quota - s.usage)}）：请尽快同步或导出备份` : '';
    quota.dataset.low = s.low ? '1' : '0';
  }
  async function refreshReview() {
    const n = await db.incidents.where('status').equals('handled').count();
    review.textContent = n ? `有 ${n} 件事件待核查` : '';
  }
  mount(root,
    h('p', { class: 'muted', testid: 'home-grids' }, grids ? `我的网格：${grids}` : ''),
    h('div', { class: 'duties' },
      DUTIES.map(([k, big, small]) => h('button', { testid: `duty-${k}`, class: k === 'report' ? 'primary' : '', onclick: () => go(k) },
        h('span', {}, big), h('small', {}, small)))),
    review, ready,
    quota);
  refreshStorage();
  refreshReview();
  firstRunGuide(root).catch(() => {});
  refreshReady();
  const off = [on('storage', refreshStorage), on('pulled', refreshReview), on('pulled', refreshReady), on('grids', refreshReady)];
  void kvGet;
  return () => off.forEach((f) => f());
}
