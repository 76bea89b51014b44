// First run: a guide of at most three short screens at the top of home, shown once
// per device: what works offline, how 同步 works, and the 长辈模式 offer. It is a
// card, not a modal, so nothing on home is blocked while it is there.
import { h, mount } from './dom.js';
import { kvGet, kvSet } from './store.js';
import { setElderMode } from './elder.js';

const STEPS = [
  ['没有信号也能用', '巡查、走访、上报都先存在这部手机上。没有信号照常记录，记录不会丢。'],
  ['同步：有信号时自动上传', '顶部显示还有几条没上传；有信号时会自动上传，也可以点“同步”马上上传。显示“全部已上传”就都交上去了。'],
];

/** Shows the guide once; resolves true if it was shown. */
export async function firstRunGuide(root) {
  const seen = await kvGet('firstrun_done', false);
  const offered = await kvGet('elder_offered', false);
  // For tests and support: whether this home showed the guide.
  document.body.dataset.firstrun = seen && offered ? 'done' : 'shown';
  if (seen && offered) return false;
  const steps = seen ? [] : STEPS.map(([title, text]) => ({ title, text }));
  if (!offered) steps.push({ title: '字太小看不清？', text: '可以换成“长辈模式”：字更大，按钮更大。以后也能在“备份与设置”里改。', elder: true });
  const box = h('div', { class: 'card elder-offer firstrun', testid: 'firstrun', role: 'dialog', 'aria-label': '使用说明' });
  let i = 0;
  const finish = async () => { box.remove(); await kvSet('firstrun_done', true); };
  const chooseElder = async (on) => { setElderMode(on); await kvSet('elder_offered', true); await finish(); };
  function show() {
    const s = steps[i];
    box.dataset.step = String(i + 1);
    box.setAttribute('aria-label', s.title);
    const dots = steps.length > 1 ? h('p', { class: 'muted', testid: 'firstrun-step' }, `${i + 1} / ${steps.length}`) : null;
    const buttons = s.elder
      ? [h('button', { type: 'button', testid: 'elder-offer-no', onclick: () => chooseElder(false) }, '不用，保持现在'),
        h('button', { type: 'button', class: 'primary', testid: 'elder-offer-yes', onclick: () => chooseElder(true) }, '用大字')]
      : [h('button', { type: 'button', testid: 'firstrun-skip', onclick: () => {
          // Skipping the explanations still leaves the 长辈模式 question: it is the one that matters most.
          const last = steps.length - 1;
          if (steps[last].elder && i < last) { i = last; show(); } else finish();
        } }, '跳过'),
        h('button', { type: 'button', class: 'primary', testid: 'firstrun-next', onclick: () => {
          if (i + 1 < steps.length) { i += 1; show(); } else finish();
        } }, i + 1 < steps.length ? '下一步' : '知道了')];
    mount(box, dots, h('h2', {}, s.title), h('p', {}, s.text), h('div', { class: 'row' }, buttons));
  }
  show();
  // Home can render twice in a row (sign-in, then boot): one guide only.
  for (const old of document.querySelectorAll('.firstrun')) old.remove();
  root.prepend(box);
  return true;
}

/** The 长辈模式 offer alone (kept for callers of the old name): the guide's last screen. */
export const offerElderMode = firstRunGuide;
