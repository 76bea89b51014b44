// 备份与设置: storage status, export/import backup, logout.
import { h, mount, toast } from '../dom.js';
import { exportBackup, importBackup } from '../backup.js';
import { storageInfo, persistText, fmtBytes, requestPersistence } from '../storage.js';
import { deviceId } from '../store.js';
import { logout } from '../auth.js';
import { db } from '../store.js';
import { notify } from '../bus.js';
import { counts } from '../outbox.js';
import { manualSync } from '../scheduler.js';
import { elderToggle } from '../elder.js';
import { askNotifications } from '../notices.js';
import { roleName, userName } from '../labels.js';
import { offlineBasemapPanel } from '../basemap_offline.js';

export async function settingsScreen(root, { go, user }) {
  const s = await storageInfo();
  const c = await counts();
  const result = h('p', { testid: 'backup-result', role: 'status' });
  const importInput = h('input', { type: 'file', accept: 'application/json,.json', testid: 'backup-import', id: 'backup-import' });
  importInput.addEventListener('change', async () => {
    const f = importInput.files[0];
    if (!f) return;
    try {
      const r = await importBackup(await f.text());
      result.textContent = `已导入：${r.ops} 条记录，${r.photos} 张照片，${r.drafts} 份草稿。重复的记录不会重复上传。`;
      result.dataset.ops = String(r.ops);
      result.className = 'ok';
      manualSync();
    } catch (e) {
      result.textContent = `导入失败：${e.message}`;
      result.className = 'err';
    } finally { importInput.value = ''; }
  });
  const refusal = h('div', {});

  async function signOut(force = false) {
    const r = await logout({ force });
    if (r.refused) { showRefusal(r.unsent); return; }
    toast(r.revoked ? '已退出，本机已清除您的数据' : '已退出，本机已清除您的数据（离线：登录凭证已在本机删除）');
    go('');
  }

  // Signing out deletes this user's data from the phone, so unsent work blocks it:
  // sync it, or take it along in a backup file first.
  function showRefusal(u) {
    const parts = [
      u.ops && `${u.ops} 条记录`, u.photos && `${u.photos} 张照片`,
      u.drafts && `${u.drafts} 份草稿`, u.patrol && '1 次进行中的巡查',
    ].filter(Boolean).join('、');
    const after = h('div', {});
    const backup = h('button', { class: 'primary', testid: 'logout-backup', onclick: async () => {
      const r = await exportBackup();
      result.textContent = `已导出 ${r.ops} 条记录、${r.photos} 张照片`;
      result.className = 'ok';
      mount(after, h('p', {}, '备份文件已保存。退出将删除本机上的这些记录，请先确认备份文件已妥善保存（可在任何手机上导入）。'),
        h('button', { class: 'danger', testid: 'logout-force', onclick: () => signOut(true) }, '已备份，仍然退出并清除'));
    } }, '导出备份');
    const sync = h('button', { testid: 'logout-sync', onclick: async () => {
      await manualSync();
      const again = await logout();
      if (again.refused) showRefusal(again.unsent); else { toast('已退出，本机已清除您的数据'); go(''); }
    } }, '先同步再退出');
    const drop = u.drafts ? h('button', { testid: 'logout-drop-drafts', onclick: async () => {
      await db.drafts.clear();
      notify('drafts');
      signOut();
    } }, `丢弃 ${u.drafts} 份草稿`) : null;
    mount(refusal, h('div', { class: 'card refusal', role: 'alert', testid: 'logout-refused', 'data-ops': String(u.ops), 'data-photos': String(u.photos), 'data-drafts': String(u.drafts), 'data-patrol': String(u.patrol) },
      h('p', {}, h('b', {}, `还不能退出：本机还有 ${parts}没有上传。`)),
      h('p', {}, '退出会删除本机上您的全部数据，以免下一位使用这部手机的人看到。请先联网同步；无法联网时，导出备份后再退出。'),
      h('div', { class: 'row' }, sync, backup, drop), after));
    window.scrollTo(0, 0);
  }

  mount(root,
    h('h2', {}, '备份与设置'),
    refusal,
    h('div', { class: 'card' },
      h('b', {}, '本机存储'),
      h('p', { testid: 'storage-persist', 'data-persisted': String(s.persisted), class: s.persisted ? '' : 'storage-advice' }, persistText(s.persisted)),
      h('p', { testid: 'storage-usage' }, `已用 ${fmtBytes(s.usage)}，可用上限 ${fmtBytes(s.quota)}`),
      s.low ? h('p', { class: 'err', testid: 'storage-low' }, '存储空间不足：请尽快同步或导出备份') : null,
      // Not persisted: the one thing that protects the records is a backup, one tap away.
      s.persisted ? null : h('div', { class: 'row' },
        h('button', { class: 'primary', testid: 'storage-backup', onclick: async () => {
          const r = await exportBackup();
          result.textContent = `已导出 ${r.ops} 条记录、${r.photos} 张照片`;
          result.className = 'ok';
          toast('备份文件已保存');
        } }, '一键备份'),
        h('button', { testid: 'storage-persist-retry', onclick: async () => { await requestPersistence(); go('settings'); } }, '申请保留'))),
    h('div', { class: 'card' },
      h('b', {}, '备份'),
      h('p', {}, `本机有 ${c.unsent} 条未上传的记录。导出的文件包含全部未上传的记录、照片和草稿，可在任何手机上导入。`),
      h('div', { class: 'row' }, h('button', { class: 'primary', testid: 'backup-export', onclick: async () => {
        const r = await exportBackup();
        result.textContent = `已导出 ${r.ops} 条记录、${r.photos} 张照片`;
        result.className = 'ok';
        toast('备份文件已保存');
      } }, '导出备份')),
      h('label', { for: 'backup-import' }, '导入备份'), importInput, result),
    h('div', { class: 'card', testid: 'display-settings' },
      h('b', {}, '显示与提醒'),
      elderToggle(h),
      h('div', { class: 'row' }, h('button', { testid: 'notify-enable', onclick: async () => {
        const r = await askNotifications();
        toast(r === 'granted' ? '已开启事件提醒' : r === 'unsupported' ? '这个浏览器不支持系统提醒，进度会在“我的事件”里显示' : '没有开启系统提醒，进度会在“我的事件”里显示');
      } }, '开启事件提醒'))),
    h('div', { class: 'card' }, offlineBasemapPanel()),
    h('div', { class: 'card' },
      h('b', {}, '账号与设备'),
      h('p', {}, `用户：${userName(user)}（${roleName(user.role)}）`),
      h('p', { class: 'muted', testid: 'device-id' }, `设备编号：${await deviceId()}`),
      h('div', { class: 'row' }, h('button', { testid: 'logout', onclick: () => signOut() }, '退出登录'))),
    h('div', { class: 'row' }, h('button', { onclick: () => go('') }, '返回')));
}
