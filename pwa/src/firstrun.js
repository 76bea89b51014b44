// First run: offer 长辈模式 once, in plain words, before anything else on the home
// screen. For the lead to wire in ui/home.js: `offerElderMode(root)` after mounting.
import { h } from './dom.js';
import { kvGet, kvSet } from './store.js';
import { setElderMode } from './elder.js';

/** Shows the offer once per device; resolves true if it was shown. */
export async function offerElderMode(root) {
  if (await kvGet('elder_offered', false)) return false;
  const yes = h('button', { type: 'button', class: 'primary', testid: 'elder-offer-yes' }, '用大字');
  const no = h('button', { type: 'button', testid: 'elder-offer-no' }, '不用，保持现在');
  const box = h('div', { class: 'card elder-offer', testid: 'elder-offer', role: 'dialog', 'aria-label': '字太小看不清？' },
    h('h2', {}, '字太小看不清？'),
    h('p', {}, '可以换成“长辈模式”：字更大，按钮更大。以后也能在“备份与设置”里改。'),
    h('div', { class: 'row' }, no, yes));
  const done = async (on) => { setElderMode(on); await kvSet('elder_offered', true); box.remove(); };
  yes.onclick = () => done(true);
  no.onclick = () => done(false);
  root.prepend(box);
  return true;
}
