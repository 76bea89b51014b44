import { h, mount } from '../dom.js';
import { login, lastUsername } from '../auth.js';
import { counts } from '../outbox.js';
import { NetworkError } from '../api.js';

export async function loginScreen(root, { onLogin, title = '网格巡查 · 登录' } = {}) {
  const last = await lastUsername();
  const c = await counts();
  const err = h('p', { class: 'err', testid: 'login-error', role: 'alert' });
  const user = h('input', { type: 'text', id: 'login-username', testid: 'login-username', autocomplete: 'username', value: last || '', autocapitalize: 'off' });
  const pass = h('input', { type: 'password', id: 'login-password', testid: 'login-password', autocomplete: 'current-password' });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'login-submit', style: { width: '100%', marginTop: '16px' } }, '登录');
  const form = h('form', { testid: 'login-form' },
    h('label', { for: 'login-username' }, '用户名'), user,
    h('label', { for: 'login-password' }, '密码'), pass,
    submit, err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    submit.disabled = true;
    submit.textContent = '正在登录…';
    try {
      await login(user.value.trim(), pass.value);
      onLogin && onLogin();
    } catch (ex) {
      if (ex instanceof NetworkError) err.textContent = '无法连接服务器，请联网后登录。';
      else if (ex.status === 401) err.textContent = '用户名或密码不正确。';
      else err.textContent = `登录失败：${ex.message}`;
    } finally {
      submit.disabled = false;
      submit.textContent = '登录';
    }
  });
  mount(root,
    h('header', { class: 'bar' }, h('h1', {}, title)),
    h('main', {},
      c.unsent ? h('p', { class: 'loc', testid: 'login-unsent' }, `本机还有 ${c.unsent} 条未上传的记录，记录它们的用户登录后会自动上传，不会丢失。`) : null,
      form));
  (last ? pass : user).focus();
}
