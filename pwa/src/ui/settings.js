// 备份与设置: storage status, export/import backup, logout.
import { h, mount, toast } from '../dom.js';
import { exportBackup, importBackup } from '../backup.js';
import { storageInfo, persistText, fmtBytes, requestPersistence } from '../storage.js';
import { deviceId } from '../store.js';
import { logout } from '../auth.js';
import { counts } from '../outbox.js';
import { manualSync } from '../scheduler.js';

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
  mount(root,
    h('h2', {}, '备份与设置'),
    h('div', { class: 'card' },
      h('b', {}, '本机存储'),
      h('p', { testid: 'storage-persist', 'data-persisted': String(s.persisted) }, persistText(s.persisted)),
      h('p', { testid: 'storage-usage' }, `已用 ${fmtBytes(s.usage)}，可用上限 ${fmtBytes(s.quota)}`),
      s.low ? h('p', { class: 'err', testid: 'storage-low' }, '存储空间不足：请尽快同步或导出备份') : null,
      s.persisted ? null : h('button', { testid: 'storage-persist-retry', onclick: async () => { await requestPersistence(); go('settings'); } }, '再次申请持久保存')),
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
    h('div', { class: 'card' },
      h('b', {}, '账号与设备'),
      h('p', {}, `用户：${user.username}（${user.role}）`),
      h('p', { class: 'muted', testid: 'device-id' }, `设备编号：${await deviceId()}`),
      h('div', { class: 'row' }, h('button', { testid: 'logout', onclick: async () => {
        await logout();
        toast(c.unsent ? '已退出。未上传的记录仍保存在本机，下次登录后上传。' : '已退出');
        go('');
      } }, '退出登录'))),
    h('div', { class: 'row' }, h('button', { onclick: () => go('') }, '返回')));
}
