// Field app entry: shell (header, status line, update banner), router, and
// the automatic sync schedule.
import './style.css';
import './field.css';
import { h, mount, toast } from './dom.js';
import { currentUser, TAB } from './auth.js';
import { onAuthLost } from './api.js';
import { on, notify } from './bus.js';
import { syncState, onSyncState, countText, progressText } from './syncstate.js';
import { startAutoSync, manualSync, syncStatusText } from './scheduler.js';
import { registerSW } from './swreg.js';
import { connectionState } from './connection.js';
import * as store from './store.js';
import { kvGet, useActiveUser } from './store.js';
import { requestPersistence } from './storage.js';
import { resumeTrackingIfActive } from './tracker.js';
import { enqueue } from './outbox.js';

import { loginScreen } from './ui/login.js';
import { roleName, userName } from './labels.js';
import { homeScreen } from './ui/home.js';
import { reportScreen } from './ui/report.js';
import { outboxScreen } from './ui/outbox.js';

const screens = {
  '': homeScreen,
  report: reportScreen,
  handle: (m, c) => reportScreen(m, c, { kind: 'handle' }),
  outbox: outboxScreen,
};

/** Screens that are loaded on demand (keeps the first load small). */
const lazy = {
  patrol: () => import('./ui/patrol.js').then((m) => m.patrolScreen),
  visit: () => import('./ui/visit.js').then((m) => m.visitScreen),
  record: () => import('./ui/household.js').then((m) => m.recordScreen),
  incidents: () => import('./ui/incidents.js').then((m) => m.incidentsScreen),
  map: () => import('./ui/mapscreen.js').then((m) => m.mapScreen),
  settings: () => import('./ui/settings.js').then((m) => m.settingsScreen),
};

const app = document.getElementById('app');
let cleanup = null;
let user = null;

export function go(route) {
  const target = `#/${route || ''}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function routeName() {
  const r = (location.hash || '#/').replace(/^#\/?/, '');
  return r.split('?')[0];
}

function routeParams() {
  const r = (location.hash || '').split('?')[1] || '';
  return Object.fromEntries(new URLSearchParams(r));
}

function shell() {
  // One compact row at 360 px (it used to wrap to two rows and take 30% of the
  // screen): home mark, network, what is unsent over the last sync, and 同步.
  const count = h('span', { class: 'count', testid: 'outbox-count', 'aria-live': 'polite' }, '…');
  const msg = h('span', { class: 'msg', testid: 'sync-status', 'data-state': 'idle' }, '');
  const conn = h('span', { class: 'conn', testid: 'conn-state' }, '');
  const syncBtn = h('button', { class: 'primary sync', testid: 'sync-now', onclick: () => manualSync() }, '同步');
  const status = h('div', { class: 'status', testid: 'status-line' }, conn, h('span', { class: 'state' }, count, msg), syncBtn);
  const banner = h('div', { id: 'update-banner' });
  const header = h('header', { class: 'bar' },
    h('h1', {}, h('a', { href: '#/', testid: 'nav-home', 'aria-label': '网格巡查 首页' }, '巡查')),
    // Who is signed in stays readable for screen readers and support; 设置 shows it too.
    h('span', { class: 'who sr-only', testid: 'whoami', 'data-username': user ? user.username : '' }, user ? `${userName(user)}（${roleName(user.role)}）` : ''),
    status,
  );
  const main = h('main', { id: 'screen' });
  const tabs = tabBar();
  tabsApi = tabs;
  mount(app, banner, header, main, tabs.el);
  document.body.classList.add('has-tabs');

  // One source for both: records and photos together (syncstate.js).
  let seq = 0;
  async function refreshCount() {
    const my = ++seq;
    const st = await syncState();
    if (my !== seq) return;
    count.textContent = countText(st);
    count.dataset.count = String(st.ops.unsent);
    count.dataset.rejected = String(st.ops.rejected);
    count.dataset.photos = String(st.photos.unsent + st.photos.failed);
    count.dataset.all = st.all ? '1' : '0';
    count.className = `count ${st.all ? 'zero' : 'some'}`;
    const p = progressText(st.progress);
    if (p) { msg.textContent = p; msg.dataset.progress = st.progress.phase; } else delete msg.dataset.progress;
  }
  function refreshConn(s = connectionState()) {
    conn.textContent = s === 'offline' ? '离线' : s === 'online' ? '在线' : '网络?';
    conn.className = `conn ${s}`;
    conn.dataset.state = s;
  }
  async function refreshSync(s) {
    s = s || (await kvGet('sync_status', null));
    const t = syncStatusText(s);
    msg.dataset.state = (s && s.state) || 'idle';
    if (!(s && s.state === 'syncing' && msg.dataset.progress)) msg.textContent = t;
  }
  onSyncState(refreshCount);
  on('pulled', tabs.refreshNews);
  on('connection', refreshConn);
  on('sync', (s) => { refreshSync(s); });
  refreshCount();
  refreshConn();
  refreshSync();
  setInterval(() => refreshSync(), 15000);
  return main;
}

// Bottom tab bar: the main sections one tap away from every screen (the home
// screen keeps the five duties). Icons are drawn inline: no icon font to download.
const TABS = [
  ['', 'tab-home', '首页', 'M3 11l9-7 9 7M5 10v10h14V10'],
  ['incidents', 'nav-incidents', '事件', 'M5 4h14v16H5zM8 9h8M8 13h8M8 17h5'],
  ['map', 'nav-map', '地图', 'M12 21s-7-6.5-7-12a7 7 0 0 1 14 0c0 5.5-7 12-7 12zM12 11.5a2.5 2.5 0 1 0 0-5 2.5 2.5 0 0 0 0 5'],
  ['outbox', 'nav-outbox', '发件箱', 'M3 13l3-8h12l3 8v6H3zM3 13h5l1 3h6l1-3h5'],
  ['settings', 'nav-settings', '设置', 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6M19 12a7 7 0 0 0-.1-1.2l2-1.6-2-3.4-2.4 1a7 7 0 0 0-2-1.2L14 3h-4l-.5 2.6a7 7 0 0 0-2 1.2l-2.4-1-2 3.4 2 1.6a7 7 0 0 0 0 2.4l-2 1.6 2 3.4 2.4-1a7 7 0 0 0 2 1.2L10 21h4l.5-2.6a7 7 0 0 0 2-1.2l2.4 1 2-3.4-2-1.6c.1-.4.1-.8.1-1.2'],
];

function tabIcon(d) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'tab-icon');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  svg.appendChild(path);
  return svg;
}

function tabBar() {
  const news = h('span', { class: 'badge new dot', testid: 'incidents-badge', hidden: true });
  const links = TABS.map(([route, testid, label, icon]) => h('a', { href: `#/${route}`, testid, class: 'tab', 'data-route': route },
    tabIcon(icon), h('span', { class: 'tab-label' }, label), route === 'incidents' ? news : null));
  const el = h('nav', { class: 'tabbar', 'aria-label': '主要栏目' }, links);
  function select(name) {
    for (const a of links) {
      if (a.dataset.route === name) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
  }
  async function refreshNews() {
    if (!user) return;
    const pending = await import('./notices.js').then((m) => m.pendingNews(user)).catch(() => null);
    const count = pending ? pending.changed.length : 0;
    news.hidden = !count;
    news.textContent = count ? String(count) : '';
    news.setAttribute('aria-label', count ? `${count} 件有新进展` : '');
  }
  return { el, select, refreshNews };
}

let screenEl = null;
let tabsApi = null;

async function render() {
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  user = await currentUser();
  if (!user) {
    screenEl = null;
    document.body.classList.remove('has-tabs');
    loginScreen(app, { onLogin: () => { user = null; go(''); boot(); manualSync(); } });
    return;
  }
  if (!screenEl || !document.body.contains(screenEl)) screenEl = shell();
  const name = routeName();
  let fn = screens[name];
  if (!fn && lazy[name]) {
    mount(screenEl, h('p', { class: 'loading' }, '正在打开…'));
    try { fn = await lazy[name](); } catch (e) { mount(screenEl, h('p', { class: 'err' }, `无法打开：${e.message}`)); return; }
  }
  if (!fn) fn = homeScreen;
  if (tabsApi) { tabsApi.select(name in screens || name in lazy ? name : ''); tabsApi.refreshNews(); }
  const ctx = { user, go, params: routeParams(), toast };
  window.scrollTo(0, 0);
  cleanup = (await fn(screenEl, ctx)) || null;
}

let booted = false;
function boot() {
  if (booted) { render(); return; }
  booted = true;
  window.addEventListener('hashchange', render);
  // Another tab signed in or out: this one must not keep showing the old user's data.
  on('session', (s) => { if (!s || s.tab !== TAB) window.location.reload(); });
  // Tell the reporter when a status changes or a 核查 waits (notices.js).
  import('./notices.js').then((m) => m.startIncidentWatch(() => currentUser())).catch(() => {});
  onAuthLost(() => { toast('登录已失效，请重新登录。未上传的记录仍在本机。', 'error'); render(); });
  startAutoSync();
  resumeTrackingIfActive();
  requestPersistence();
  render();
}

registerSW({
  onUpdateReady: (apply) => {
    const b = document.getElementById('update-banner') || document.body;
    const banner = h('div', { class: 'banner', testid: 'update-ready' },
      h('span', {}, '新版本已就绪。未上传的记录和草稿不会丢失。'),
      h('button', { testid: 'update-apply', onclick: apply }, '更新'));
    b.appendChild(banner);
  },
});
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.ready.then(() => { document.body.dataset.sw = 'ready'; });
  navigator.serviceWorker.addEventListener('message', (e) => { if (e.data && e.data.type === 'sync') manualSync(); });
}

// The basemap of my grids for offline use, fetched on Wi-Fi once the grids are here
// (basemap_offline.js; the settings button calls the same module).
on('grids', () => { import('./basemap_offline.js').then((m) => m.autoDownloadBasemap()).catch(() => {}); });

// A handle for tests and support staff (read-only helpers plus the db).
window.gridpatrol = { get db() { return store.db; }, notify, go, enqueue, basemap: () => import('./basemap_offline.js') };
useActiveUser().catch((e) => console.error(e)).then(boot);
