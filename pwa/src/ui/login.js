import { h, mount } from '../dom.js';
import { login, lastUsername, changePassword } from '../auth.js';
import { counts } from '../outbox.js';
import { NetworkError } from '../api.js';

/** The username a login slip's QR code carries (`/?u=NAME`), else the last one used here. */
function slipUsername() {
  try { return new URLSearchParams(location.search).get('u') || ''; } catch { return ''; }
}

const PASSWORD_RULE = '至少 10 位，含字母、数字、符号中的两种，不要用生日、手机号或 123456 这类常见密码。';

/** After signing in with a one-time password: choose one's own before anything else. */
function newPasswordScreen(root, old, onDone) {
  const err = h('p', { class: 'err', testid: 'password-error', role: 'alert' });
  const fresh = h('input', { type: 'password', id: 'new-password', testid: 'new-password', autocomplete: 'new-password' });
  const again = h('input', { type: 'password', id: 'new-password-again', testid: 'new-password-again', autocomplete: 'new-password' });
  const submit = h('button', { type: 'submit', class: 'primary', testid: 'password-submit', style: { width: '100%', marginTop: '16px' } }, '设置新密码');
  const form = h('form', { testid: 'password-form' },
    h('p', {}, '您用的是一次性密码。请设置自己的新密码，以后用它登录。'),
    h('p', { class: 'muted' }, PASSWORD_RULE),
    h('label', { for: 'new-password' }, '新密码'), fresh,
    h('label', { for: 'new-password-again' }, '再输入一次'), again, submit, err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    if (fresh.value !== again.value) { err.textContent = '两次输入的新密码不一样，请重新输入。'; return; }
    submit.disabled = true;
    try {
      await changePassword(old, fresh.value);
      onDone();
    } catch (ex) {
      if (ex instanceof NetworkError) err.textContent = '无法连接服务器，请联网后再设置。';
      else if (ex.code === 'weak_password') err.textContent = `这个密码太简单：${PASSWORD_RULE}`;
      else err.textContent = `设置失败：${ex.message}`;
    } finally { submit.disabled = false; }
  });
  mount(root, h('header', { class: 'bar' }, h('h1', {}, '设置新密码')), h('main', {}, form));
  fresh.focus();
}

export async function loginScreen(root, { onLogin, title = '网格巡查 · 登录' } = {}) {
  const last = slipUsername() || await lastUsername();
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
      const me = await login(user.value.trim(), pass.value);
      if (me.must_change_password) newPasswordScreen(root, pass.value, () => onLogin && onLogin());
      else if (onLogin) onLogin();
    } catch (ex) {
      if (ex instanceof NetworkError) err.textContent = '无法连接服务器，请联网后登录。';
      else if (ex.status === 401) err.textContent = '用户名或密码不正确。';
      else if (ex.status === 429) err.textContent = '密码错误次数太多，账号暂时锁定。请过 15 分钟再试，或请管理员解锁。';
      else if (ex.code === 'device_revoked') err.textContent = '这台手机已被管理员停用。请联系管理员。';
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
