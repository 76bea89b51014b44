// 管理: people, the roster import, devices, grid layers and the audit log, for the
// grid centre's staff (admins everything; supervisors the grid workers of their own
// area). Everything goes through /api/v1/admin (and /audit); the server decides what
// each caller may see and do, this page only shows it. One-time passwords are shown
// once, and can be printed as login slips with a QR code the field app reads.
import qrcode from 'qrcode-generator';
import { h, mount, fmtTime } from '../dom.js';
import { call, blob, qs, explain } from './session.js';
import { areaPicker } from './areas.js';
import { ROLE } from './labels.js';
import './admin.css';

const FIELD_ROLES = ['patroller', 'grid_leader'];
const ALL_ROLES = ['patroller', 'grid_leader', 'supervisor', 'department', 'admin'];
const OUTCOME = { created: '新建', updated: '更新', unchanged: '无变化', refused: '拒绝' };
const COLUMN = { username: '账号', display_name: '姓名', phone: '手机', role: '角色', grids: '网格', areas: '区域', dept: '部门', file: '文件' };

const TABS = [
  ['people', '人员', null],
  ['roster', '名单导入', null],
  ['devices', '设备', null],
  ['layers', '网格图层', ['admin']],
  ['audit', '审计日志', null],
];

function status(testid) {
  return h('p', { testid, role: 'status', 'aria-live': 'polite', class: 'muted' });
}

function say(el, text, kind = 'muted') {
  el.className = kind;
  el.textContent = text;
}

function codes(text) {
  return String(text || '').split(/[、,，;；\s]+/).map((s) => s.trim()).filter(Boolean);
}

/** A login slip per user: server address, username, one-time password and a QR code of
 * the field app's address with the username, which the field app fills in. */
function slips(users) {
  const origin = location.origin;
  return h('section', { class: 'print-slips', testid: 'login-slips' },
    users.map((u) => {
      const link = `${origin}/?u=${encodeURIComponent(u.username)}`;
      const qr = qrcode(0, 'M');
      qr.addData(link);
      qr.make();
      return h('article', { class: 'slip', testid: 'login-slip', 'data-username': u.username },
        h('img', { src: qr.createDataURL(4, 2), alt: `扫码打开网格巡查并填入账号 ${u.username}`, width: 132, height: 132 }),
        h('div', {},
          h('h3', {}, `网格巡查 · ${u.display_name || u.username}`),
          h('p', {}, '地址：', h('b', {}, origin)),
          h('p', {}, '账号：', h('b', {}, u.username)),
          h('p', {}, '一次性密码：', h('b', { class: 'otp' }, u.one_time_password)),
          h('p', { class: 'muted' }, '首次登录后须设置自己的新密码。扫码即可打开并填好账号。')));
    }));
}

function printSlips(host, users) {
  const node = slips(users);
  mount(host, node);
  window.print();
}

/** A button that acts on its second press: the first turns it into "确认…?" for 5 s.
 * (No browser dialogs: they block the page and are easy to confirm by reflex.) */
function twoStep(btn, question, action) {
  const label = btn.textContent;
  let armed = null;
  btn.addEventListener('click', async () => {
    if (!armed) {
      btn.textContent = question;
      btn.classList.add('armed');
      btn.dataset.armed = '1';
      armed = setTimeout(() => { armed = null; btn.textContent = label; btn.classList.remove('armed'); delete btn.dataset.armed; }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    btn.textContent = label;
    btn.classList.remove('armed');
    delete btn.dataset.armed;
    await action();
  });
  return btn;
}

function errorsText(errors) {
  return Object.entries(errors || {}).map(([k, v]) => `${COLUMN[k] || k}：${[].concat(v).join('；')}`).join('  ');
}

// --- 人员 ------------------------------------------------------------------------------

function peopleTab(root, me) {
  const q = h('input', { type: 'search', testid: 'admin-user-q', placeholder: '账号、姓名或手机', 'aria-label': '搜索' });
  const role = h('select', { testid: 'admin-user-role', 'aria-label': '角色' }, h('option', { value: '' }, '全部角色'),
    (me.role === 'admin' ? ALL_ROLES : FIELD_ROLES).map((r) => h('option', { value: r }, ROLE[r])));
  const grid = h('input', { type: 'text', testid: 'admin-user-grid', placeholder: '网格编码', 'aria-label': '网格', size: 16 });
  const area = areaPicker('admin-user', () => load());
  const search = h('button', { class: 'primary', testid: 'admin-user-search' }, '查询');
  const add = h('button', { testid: 'admin-user-new' }, '新建人员');
  const msg = status('admin-user-message');
  const form = h('div', { testid: 'admin-user-form-host' });
  const table = h('div', { class: 'table-wrap', testid: 'admin-users', 'data-state': 'empty' });
  const more = h('button', { testid: 'admin-user-more', hidden: true }, '下一页');
  const printHost = h('div');
  let cursor = null;

  mount(root, h('section', { class: 'filters' }, q, role, area.node, grid, search, add), msg, form, table, more, printHost);

  function params(next) {
    return { q: q.value.trim(), role: role.value, grid: grid.value.trim(), ...area.value(), limit: 50, cursor: next || undefined };
  }

  async function load(next = null) {
    table.dataset.state = 'loading';
    try {
      const page = await call(`/admin/users${qs(params(next))}`);
      cursor = page.cursor;
      more.hidden = !page.more;
      render(page.users, Boolean(next));
      say(msg, page.users.length ? '' : '没有符合条件的人员。');
    } catch (e) {
      table.dataset.state = 'failed';
      say(msg, `查询失败：${explain(e)}`, 'err');
    }
  }

  function row(u) {
    const reset = h('button', { testid: 'admin-user-reset' }, '重置密码');
    const toggle = h('button', { testid: 'admin-user-toggle' }, u.disabled ? '启用' : '停用');
    const edit = h('button', { testid: 'admin-user-edit' }, '编辑');
    twoStep(reset, '确认重置？', async () => {
      try {
        const out = await call(`/admin/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', json: { password: null } });
        showPassword(out);
      } catch (e) { say(msg, `重置失败：${explain(e)}`, 'err'); }
    });
    toggle.onclick = async () => {
      try {
        await call(`/admin/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', json: { disabled: !u.disabled } });
        say(msg, `${u.username} 已${u.disabled ? '启用' : '停用'}`, 'ok');
        load();
      } catch (e) { say(msg, `操作失败：${explain(e)}`, 'err'); }
    };
    edit.onclick = () => editForm(u);
    return h('tr', { testid: 'admin-user-row', 'data-username': u.username, class: u.disabled ? 'disabled' : '' },
      h('td', {}, u.username), h('td', {}, u.display_name || ''), h('td', {}, ROLE[u.role] || u.role),
      h('td', { class: 'codes' }, (u.grids || []).join('、') || (u.areas || []).join('、') || u.dept || ''),
      h('td', {}, u.phone || ''),
      h('td', {}, u.disabled ? '已停用' : u.must_change_password ? '待首次登录' : '正常'),
      h('td', {}, u.last_seen ? fmtTime(u.last_seen) : '从未'),
      h('td', { class: 'actions' }, edit, reset, toggle));
  }

  function render(users, append) {
    let body = table.querySelector('tbody');
    if (!append || !body) {
      body = h('tbody');
      mount(table, h('table', { class: 'admin-table' },
        h('thead', {}, h('tr', {}, ['账号', '姓名', '角色', '网格 / 区域', '手机', '状态', '最近在线', '操作'].map((t) => h('th', { scope: 'col' }, t)))), body));
    }
    for (const u of users) body.appendChild(row(u));
    table.dataset.state = 'ready';
    table.dataset.rows = String(body.children.length);
  }

  function showPassword(out) {
    mount(form, h('div', { class: 'card otp-card', testid: 'admin-otp', role: 'alert' },
      h('p', {}, `${out.display_name || out.username} 的一次性密码（只显示这一次）：`),
      h('p', { class: 'otp', testid: 'admin-otp-value' }, out.one_time_password),
      h('button', { testid: 'admin-otp-print', onclick: () => printSlips(printHost, [out]) }, '打印登录条'),
      h('button', { onclick: () => mount(form) }, '关闭')));
  }

  function editForm(u = null) {
    const creating = !u;
    const f = {
      username: h('input', { type: 'text', testid: 'admin-form-username', value: u ? u.username : '', disabled: !creating, required: true }),
      display_name: h('input', { type: 'text', testid: 'admin-form-name', value: (u && u.display_name) || '' }),
      role: h('select', { testid: 'admin-form-role' }, (me.role === 'admin' ? ALL_ROLES : FIELD_ROLES).map((r) => h('option', { value: r, selected: u && u.role === r }, ROLE[r]))),
      grids: h('input', { type: 'text', testid: 'admin-form-grids', value: u ? (u.grids || []).join('、') : '', placeholder: '网格编码，用顿号或空格分隔' }),
      areas: h('input', { type: 'text', testid: 'admin-form-areas', value: u ? (u.areas || []).join('、') : '', placeholder: '街道或社区编码（主管）' }),
      dept: h('input', { type: 'text', testid: 'admin-form-dept', value: (u && u.dept) || '', placeholder: '城管、市政…（部门）' }),
      phone: h('input', { type: 'tel', testid: 'admin-form-phone', value: (u && u.phone) || '' }),
    };
    const err = h('p', { class: 'err', testid: 'admin-form-error', role: 'alert' });
    const save = h('button', { class: 'primary', testid: 'admin-form-save', type: 'submit' }, creating ? '创建' : '保存');
    const el = h('form', { class: 'card admin-form', testid: 'admin-user-form' },
      h('h3', {}, creating ? '新建人员' : `编辑 ${u.username}`),
      ...Object.entries({ username: '账号', display_name: '姓名', role: '角色', grids: '网格', areas: '区域', dept: '部门', phone: '手机' })
        .map(([k, t]) => h('label', {}, t, f[k])),
      h('p', { class: 'muted' }, creating ? '不填密码：系统生成一次性密码，首次登录时须修改。' : ''),
      save, h('button', { type: 'button', onclick: () => mount(form) }, '取消'), err);
    el.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      const body = { display_name: f.display_name.value.trim() || null, role: f.role.value, grids: codes(f.grids.value),
        areas: codes(f.areas.value), dept: f.dept.value.trim() || null, phone: f.phone.value.replace(/\s/g, '') || null };
      try {
        const out = creating
          ? await call('/admin/users', { method: 'POST', json: { username: f.username.value.trim(), ...body } })
          : await call(`/admin/users/${encodeURIComponent(u.username)}`, { method: 'PATCH', json: body });
        if (out.one_time_password) showPassword(out); else mount(form);
        say(msg, `${out.username} 已${creating ? '创建' : '保存'}`, 'ok');
        load();
      } catch (ex) {
        err.textContent = `${explain(ex)} ${errorsText(ex.details)}`;
      }
    });
    mount(form, el);
    (creating ? f.username : f.display_name).focus();
  }

  search.onclick = () => load();
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') load(); });
  add.onclick = () => editForm();
  more.onclick = () => load(cursor);
  load();
  return { refresh: () => load() };
}

// --- 名单导入 ---------------------------------------------------------------------------

function rosterTab(root) {
  const file = h('input', { type: 'file', testid: 'roster-file', accept: '.xlsx,.csv', 'aria-label': '选择名单文件' });
  const preview = h('button', { class: 'primary', testid: 'roster-preview' }, '预览（不写入）');
  const apply = h('button', { testid: 'roster-apply', disabled: true }, '确认导入');
  const template = h('button', { testid: 'roster-template' }, '下载模板');
  const msg = status('roster-message');
  const out = h('div', { testid: 'roster-result', 'data-state': 'empty' });
  const printHost = h('div');
  mount(root, h('section', { class: 'filters' }, h('label', { class: 'inline' }, '名单（.xlsx 或 .csv）', file), preview, apply, template),
    h('p', { class: 'muted' }, '先预览：每一行的结果都会列出，被拒绝的行写明原因；确认后才写入，且要么全部写入、要么都不写。同一文件再次导入不会改变任何人。'),
    msg, out, printHost);

  async function send(dryRun) {
    if (!file.files.length) { say(msg, '请先选择名单文件。', 'err'); return; }
    const form = new FormData();
    form.append('file', file.files[0]);
    form.append('dry_run', dryRun ? 'true' : 'false');
    say(msg, dryRun ? '正在检查名单…' : '正在导入…');
    out.dataset.state = 'loading';
    try {
      const r = await call('/admin/users/import', { method: 'POST', body: form });
      render(r);
      apply.disabled = !dryRun || (r.created + r.updated === 0);
      say(msg, `${dryRun ? '预览' : '已导入'}：新建 ${r.created}，更新 ${r.updated}，无变化 ${r.unchanged}，拒绝 ${r.refused}。`, r.refused ? 'warn' : 'ok');
    } catch (e) {
      out.dataset.state = 'failed';
      say(msg, `无法读取名单：${explain(e)} ${errorsText(e.details)}`, 'err');
    }
  }

  function render(r) {
    const created = r.rows.filter((x) => x.one_time_password);
    const rows = [...r.rows].sort((a, b) => (a.outcome === 'refused' ? -1 : 0) - (b.outcome === 'refused' ? -1 : 0) || a.row - b.row);
    mount(out,
      r.ignored_columns && r.ignored_columns.length ? h('p', { class: 'muted' }, `未使用的列：${r.ignored_columns.join('、')}`) : null,
      created.length ? h('p', {}, h('button', { class: 'primary', testid: 'roster-print', onclick: () => printSlips(printHost, created) }, `打印 ${created.length} 张登录条`)) : null,
      h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table', testid: 'roster-table' },
        h('thead', {}, h('tr', {}, ['行号', '账号', '结果', '原因', '一次性密码'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows.map((x) => h('tr', { testid: 'roster-row', 'data-row': String(x.row), 'data-outcome': x.outcome, class: `outcome-${x.outcome}` },
          h('td', {}, String(x.row)), h('td', {}, x.username || '（空）'),
          h('td', {}, h('span', { class: `badge outcome-${x.outcome}` }, OUTCOME[x.outcome] || x.outcome)),
          h('td', {}, errorsText(x.errors) || (x.notes || []).join('；')),
          h('td', { class: 'otp' }, x.one_time_password || '')))))));
    out.dataset.state = 'ready';
    out.dataset.refused = String(r.refused);
  }

  file.addEventListener('change', () => { apply.disabled = true; mount(out); say(msg, ''); });
  preview.onclick = () => send(true);
  apply.onclick = () => send(false);
  template.onclick = async () => {
    try {
      const { blob: b } = await blob('/admin/users/template.xlsx');
      const a = h('a', { href: URL.createObjectURL(b), download: 'gridpatrol-roster-template.xlsx' });
      a.click();
    } catch (e) { say(msg, `下载失败：${explain(e)}`, 'err'); }
  };
  return {};
}

// --- 设备 ------------------------------------------------------------------------------

function devicesTab(root) {
  const user = h('input', { type: 'search', testid: 'devices-user', placeholder: '账号', 'aria-label': '账号' });
  const search = h('button', { class: 'primary', testid: 'devices-search' }, '查询');
  const msg = status('devices-message');
  const table = h('div', { class: 'table-wrap', testid: 'devices', 'data-state': 'empty' });
  mount(root, h('section', { class: 'filters' }, user, search),
    h('p', { class: 'muted' }, '手机丢失：点“注销”，它的登录立即失效，再也不能上传。换人使用：点“释放”，原用户在这台手机上退出，下一位用户可以登录。'),
    msg, table);

  async function load() {
    table.dataset.state = 'loading';
    try {
      const r = await call(`/admin/devices${qs({ user: user.value.trim() })}`);
      const act = (d, what, label) => twoStep(h('button', { testid: `device-${what}`, disabled: d.revoked }, label), `确认${label}？`, async () => {
        try { await call(`/admin/devices/${encodeURIComponent(d.device_id)}/${what}`, { method: 'POST' }); say(msg, `已${label} ${d.user} 的设备`, 'ok'); load(); } catch (e) { say(msg, `${label}失败：${explain(e)}`, 'err'); }
      });
      mount(table, h('table', { class: 'admin-table' },
        h('thead', {}, h('tr', {}, ['用户', '设备', '最近在线', '最近上传', '应用版本', '等待补齐', '状态', '操作'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.devices.map((d) => h('tr', { testid: 'device-row', 'data-device': d.device_id, 'data-revoked': String(d.revoked) },
          h('td', {}, d.user), h('td', { class: 'codes' }, d.device_id), h('td', {}, d.last_seen ? fmtTime(d.last_seen) : '—'),
          h('td', {}, d.last_push ? fmtTime(d.last_push) : '—'), h('td', {}, d.app_version || '—'),
          h('td', {}, d.held_ops ? `${d.held_ops} 条` : '无'),
          h('td', {}, d.revoked ? '已注销' : d.released ? '已释放' : '使用中'),
          h('td', { class: 'actions' }, act(d, 'revoke', '注销'), act(d, 'release', '释放')))))));
      table.dataset.state = 'ready';
      say(msg, r.devices.length ? '' : '没有设备。');
    } catch (e) {
      table.dataset.state = 'failed';
      say(msg, `查询失败：${explain(e)}`, 'err');
    }
  }
  search.onclick = load;
  user.addEventListener('keydown', (e) => { if (e.key === 'Enter') load(); });
  load();
  return { refresh: load };
}

// --- 网格图层 --------------------------------------------------------------------------

function layersTab(root) {
  const file = h('input', { type: 'file', testid: 'layer-file', accept: '.geojson,.json,.zip,.gpkg', 'aria-label': '图层文件' });
  const name = h('input', { type: 'text', testid: 'layer-name', value: 'default', size: 12, 'aria-label': '图层名' });
  const datum = h('select', { testid: 'layer-datum', 'aria-label': '坐标系' },
    [['wgs84', 'WGS-84 / GPS'], ['cgcs2000', 'CGCS2000'], ['gcj02', 'GCJ-02（高德、腾讯）'], ['bd09', 'BD-09（百度）']].map(([v, t]) => h('option', { value: v }, t)));
  const encoding = h('select', { testid: 'layer-encoding', 'aria-label': '属性编码' },
    [['', '自动识别'], ['gbk', 'GBK'], ['utf-8', 'UTF-8']].map(([v, t]) => h('option', { value: v }, t)));
  const fieldMap = h('input', { type: 'text', testid: 'layer-map', placeholder: 'code=WGBM,name=WGMC', size: 22, 'aria-label': '字段对应' });
  const preview = h('button', { class: 'primary', testid: 'layer-preview' }, '预览');
  const apply = h('button', { testid: 'layer-apply', disabled: true }, '导入并启用');
  const msg = status('layer-message');
  const report = h('div', { testid: 'layer-report' });
  const versions = h('div', { class: 'table-wrap', testid: 'layer-versions' });
  mount(root, h('section', { class: 'filters' }, file, h('label', { class: 'inline' }, '图层 ', name), h('label', { class: 'inline' }, '坐标系 ', datum),
    h('label', { class: 'inline' }, '编码 ', encoding), h('label', { class: 'inline' }, '字段 ', fieldMap), preview, apply),
  h('p', { class: 'muted' }, '支持 GeoJSON、GeoPackage 和打包成 .zip 的 Shapefile（.shp、.shx、.dbf，最好带 .prj、.cpg）。预览不写入；导入生成新版本并启用，旧版本保留，已有记录仍指向它们匹配时的网格。'),
  msg, report, h('h3', {}, '版本'), versions);

  async function send(dryRun) {
    if (!file.files.length) { say(msg, '请先选择图层文件。', 'err'); return; }
    const form = new FormData();
    form.append('file', file.files[0]);
    for (const [k, el] of [['layer', name], ['datum', datum], ['encoding', encoding], ['map', fieldMap]]) if (el.value) form.append(k, el.value.trim());
    form.append('dry_run', dryRun ? 'true' : 'false');
    say(msg, '正在检查图层…');
    try {
      const r = await call('/admin/layers/import', { method: 'POST', body: form });
      const s = r.summary || {};
      const bad = (r.features || []).filter((x) => x.status !== 'imported');
      mount(report, h('p', { testid: 'layer-summary', 'data-imported': String(s.imported), 'data-refused': String(s.refused) },
        `共 ${s.total} 个：导入 ${s.imported}（其中修复 ${s.repaired}），拒绝 ${s.refused}。`),
      bad.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table', testid: 'layer-problems' },
        h('thead', {}, h('tr', {}, ['序号', '编码', '结果', '说明'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, bad.slice(0, 500).map((x) => h('tr', { class: `outcome-${x.status}`, 'data-outcome': x.status },
          h('td', {}, String(x.index)), h('td', {}, x.code || ''), h('td', {}, x.status === 'refused' ? '拒绝' : '已修复'),
          h('td', {}, (x.reasons || []).join('；'))))))) : null);
      apply.disabled = !dryRun || !s.imported;
      say(msg, dryRun ? '预览完成，确认无误后点“导入并启用”。' : `已导入为第 ${r.version} 版并启用。`, 'ok');
      if (!dryRun) loadVersions();
    } catch (e) { say(msg, `无法导入：${explain(e)}`, 'err'); }
  }

  async function loadVersions() {
    try {
      const r = await call('/admin/layers');
      mount(versions, h('table', { class: 'admin-table' },
        h('thead', {}, h('tr', {}, ['图层', '版本', '网格数', '导入时间', '状态', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.layers.map((v) => h('tr', { testid: 'layer-version', 'data-layer': v.layer, 'data-version': String(v.version), 'data-active': String(v.active) },
          h('td', {}, v.layer), h('td', {}, `第 ${v.version} 版`), h('td', {}, String(v.grids)), h('td', {}, fmtTime(v.created_at)),
          h('td', {}, v.active ? '使用中' : ''),
          h('td', {}, v.active ? '' : twoStep(h('button', { testid: 'layer-activate' }, '启用此版本'), '确认切换？', async () => {
            try { await call(`/admin/layers/${encodeURIComponent(v.layer)}/versions/${v.version}/activate`, { method: 'POST' }); say(msg, `图层 ${v.layer} 已切换到第 ${v.version} 版`, 'ok'); loadVersions(); } catch (e) { say(msg, `切换失败：${explain(e)}`, 'err'); }
          })))))));
    } catch (e) { say(msg, `无法读取版本：${explain(e)}`, 'err'); }
  }
  file.addEventListener('change', () => { apply.disabled = true; mount(report); });
  preview.onclick = () => send(true);
  apply.onclick = () => send(false);
  loadVersions();
  return { refresh: loadVersions };
}

// --- 审计日志 --------------------------------------------------------------------------

function auditTab(root) {
  const today = new Date().toISOString().slice(0, 10);
  const from = h('input', { type: 'date', testid: 'audit-from', 'aria-label': '开始日期' });
  const to = h('input', { type: 'date', testid: 'audit-to', value: today, 'aria-label': '结束日期' });
  const user = h('input', { type: 'search', testid: 'audit-user', placeholder: '账号', 'aria-label': '账号' });
  const action = h('input', { type: 'search', testid: 'audit-action', placeholder: '动作，如 auth.signin', 'aria-label': '动作' });
  const search = h('button', { class: 'primary', testid: 'audit-search' }, '查询');
  const csv = h('button', { testid: 'audit-csv' }, '导出 CSV');
  const msg = status('audit-message');
  const table = h('div', { class: 'table-wrap', testid: 'audit-entries' });
  mount(root, h('section', { class: 'filters' }, h('label', { class: 'inline' }, '从 ', from), h('label', { class: 'inline' }, '到 ', to), user, action, search, csv), msg, table);
  const params = () => ({ from: from.value, to: to.value, user: user.value.trim(), action: action.value.trim() });
  async function load() {
    try {
      const r = await call(`/audit${qs({ ...params(), limit: 200 })}`);
      mount(table, h('table', { class: 'admin-table' },
        h('thead', {}, h('tr', {}, ['时间', '用户', '设备', '地址', '动作', '对象', '结果'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, r.entries.map((x) => h('tr', { testid: 'audit-row' },
          h('td', {}, fmtTime(x.at)), h('td', {}, x.user || ''), h('td', { class: 'codes' }, x.device_id || ''), h('td', {}, x.ip || ''),
          h('td', {}, x.action), h('td', {}, x.object || ''), h('td', {}, x.result || ''))))));
      say(msg, r.more ? '只显示最近 200 条；缩小范围或导出 CSV 查看全部。' : `${r.entries.length} 条`);
    } catch (e) { say(msg, `查询失败：${explain(e)}`, 'err'); }
  }
  csv.onclick = async () => {
    try {
      const { blob: b } = await blob(`/audit${qs({ ...params(), format: 'csv' })}`);
      h('a', { href: URL.createObjectURL(b), download: 'gridpatrol-audit.csv' }).click();
    } catch (e) { say(msg, `导出失败：${explain(e)}`, 'err'); }
  };
  search.onclick = load;
  load();
  return { refresh: load };
}

const MAKERS = { people: peopleTab, roster: rosterTab, devices: devicesTab, layers: layersTab, audit: auditTab };

export function adminView(root, { user }) {
  const tabs = TABS.filter(([, , roles]) => !roles || roles.includes(user.role));
  const nav = h('nav', { class: 'subtabs', testid: 'admin-tabs' });
  const body = h('div', { testid: 'admin-body' });
  mount(root, nav, body);
  let current = null;
  function open(name) {
    for (const b of nav.children) b.classList.toggle('active', b.dataset.tab === name);
    body.dataset.tab = name;
    current = MAKERS[name](body, user) || {};
  }
  for (const [name, label] of tabs) nav.appendChild(h('button', { testid: `admin-tab-${name}`, 'data-tab': name, onclick: () => open(name) }, label));
  open(tabs[0][0]);
  return { refresh: () => current && current.refresh && current.refresh() };
}
