// 网格化综合管理中心: the supervisors' console. Login, then four views, each
// loaded on demand: 地图 (map layers), 工单 (work-order desk), 冲突 (conflict
// review) and 统计 (statistics). Its session is kept apart from the field app's
// (own token and device id in localStorage). All data goes in as text nodes.
import '../style.css';
import { h, mount } from '../dom.js';
import { call, session, saveSession, deviceId, onSessionLost } from './session.js';
import { ROLE } from './labels.js';
import { resetAreas } from './areas.js';

const root = document.getElementById('console');

const VIEWS = {
  map: { name: '地图', roles: null, load: () => import('./map.js').then((m) => m.mapView) },
  desk: { name: '工单', roles: ['supervisor', 'admin', 'department'], load: () => import('./desk.js').then((m) => m.deskView) },
  conflicts: { name: '冲突', roles: ['supervisor', 'admin', 'grid_leader'], load: () => import('./conflicts.js').then((m) => m.conflictsView) },
  stats: { name: '统计', roles: ['supervisor', 'admin', 'grid_leader', 'patroller'], load: () => import('./stats.js').then((m) => m.statsView) },
  admin: { name: '管理', roles: ['supervisor', 'admin'], load: () => import('./admin.js').then((m) => m.adminView) },
};

let current = null; // {name, view}

function allowed(user) {
  return Object.keys(VIEWS).filter((k) => !VIEWS[k].roles || VIEWS[k].roles.includes(user.role));
}

function showLogin(msg = '') {
  teardown();
  const err = h('p', { class: 'err', testid: 'login-error', role: 'alert' }, msg);
  const user = h('input', { type: 'text', id: 'login-username', testid: 'login-username', autocomplete: 'username' });
  const pass = h('input', { type: 'password', id: 'login-password', testid: 'login-password', autocomplete: 'current-password' });
  const btn = h('button', { type: 'submit', class: 'primary', testid: 'login-submit', style: { width: '100%', marginTop: '16px' } }, '登录');
  const form = h('form', { testid: 'login-form', class: 'login' }, h('label', { for: 'login-username' }, '用户名'), user, h('label', { for: 'login-password' }, '密码'), pass, btn, err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      const res = await call('/auth/token', { method: 'POST', json: { username: user.value.trim(), password: pass.value, device_id: deviceId() } });
      saveSession({ token: res.token, user: res.user });
      resetAreas();
      if (res.must_change_password) showPasswordChange(pass.value); else showConsole();
    } catch (ex) {
      err.textContent = ex.status === 401 ? '用户名或密码不正确。' : `登录失败：${ex.message}`;
    } finally { btn.disabled = false; }
  });
  mount(root, h('header', { class: 'bar' }, h('h1', {}, '网格化综合管理中心 · 登录')), h('main', {}, form));
}

/** A one-time password must be replaced before anything else (403 password_change_required). */
function showPasswordChange(old) {
  teardown();
  const err = h('p', { class: 'err', testid: 'password-error', role: 'alert' });
  const fresh = h('input', { type: 'password', id: 'new-password', testid: 'new-password', autocomplete: 'new-password' });
  const again = h('input', { type: 'password', id: 'new-password-again', testid: 'new-password-again', autocomplete: 'new-password' });
  const btn = h('button', { type: 'submit', class: 'primary', testid: 'password-submit', style: { width: '100%', marginTop: '16px' } }, '设置新密码');
  const form = h('form', { class: 'login', testid: 'password-form' },
    h('p', {}, '这是一次性密码，请先设置您自己的新密码：至少 10 位，含字母、数字、符号中的两种，不要用常见密码。'),
    h('label', { for: 'new-password' }, '新密码'), fresh, h('label', { for: 'new-password-again' }, '再输入一次'), again, btn, err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (fresh.value !== again.value) { err.textContent = '两次输入的新密码不一致。'; return; }
    btn.disabled = true;
    try {
      await call('/auth/password', { method: 'POST', json: { old, new: fresh.value } });
      showConsole();
    } catch (ex) {
      err.textContent = ex.message || '无法设置新密码';
    } finally { btn.disabled = false; }
  });
  mount(root, h('header', { class: 'bar' }, h('h1', {}, '网格化综合管理中心 · 设置新密码')), h('main', {}, form));
}

function teardown() {
  if (current && current.view && current.view.destroy) { try { current.view.destroy(); } catch { /* ignore */ } }
  current = null;
}

function viewFromHash(user) {
  const name = (location.hash.replace(/^#\/?/, '').split(/[/?]/)[0]) || '';
  const ok = allowed(user);
  if (ok.includes(name)) return name;
  return user.role === 'department' ? 'desk' : ok[0];
}

let shell = null;

function showConsole() {
  const s = session();
  const u = s.user;
  const panel = h('div', { testid: 'console-panel', class: 'panel' });
  const tabs = allowed(u).map((k) => h('a', { href: `#/${k}`, class: 'tab', testid: `console-tab-${k}`, 'data-view': k }, VIEWS[k].name));
  mount(root,
    h('header', { class: 'bar' }, h('h1', {}, '网格化综合管理中心'),
      h('nav', { class: 'tabs', testid: 'console-tabs' }, tabs),
      h('span', { class: 'who', testid: 'whoami', 'data-role': u.role }, `${u.username}（${ROLE[u.role] || u.role}${u.dept ? ` · ${u.dept}` : ''}）`),
      h('button', { testid: 'console-refresh', onclick: () => current && current.view && current.view.refresh && current.view.refresh() }, '刷新'),
      h('button', { testid: 'logout', onclick: async () => { try { await call('/auth/token', { method: 'DELETE' }); } catch { /* ignore */ } saveSession(null); showLogin(); } }, '退出')),
    h('main', {}, panel));
  shell = { panel, tabs };
  route();
}

async function route() {
  const s = session();
  if (!s || !shell || !document.body.contains(shell.panel)) return;
  const name = viewFromHash(s.user);
  if (current && current.name === name) {
    if (current.view && current.view.onHash) current.view.onHash(location.hash);
    return;
  }
  teardown();
  const mine = { name, view: null };
  current = mine;
  for (const t of shell.tabs) {
    t.classList.toggle('active', t.dataset.view === name);
    if (t.dataset.view === name) t.setAttribute('aria-current', 'page'); else t.removeAttribute('aria-current');
  }
  shell.panel.dataset.view = name;
  shell.panel.dataset.ready = '0';
  mount(shell.panel, h('p', { class: 'loading' }, '正在打开…'));
  try {
    const make = await VIEWS[name].load();
    if (current !== mine) return;
    const host = h('div', { class: `view view-${name}`, testid: `view-${name}` });
    mount(shell.panel, host);
    mine.view = make(host, { user: s.user });
    shell.panel.dataset.ready = '1';
  } catch (e) {
    if (current === mine) mount(shell.panel, h('p', { class: 'err' }, `无法打开：${e.message}`));
  }
}

window.addEventListener('hashchange', route);
onSessionLost((msg) => showLogin(msg));
if (session()) showConsole(); else showLogin();
