// Capture for older hands: a big 拍照 button (the file input is laid over it,
// invisible, so there is no bare "No file chosen"), thumbnails each with a
// 删除 button, and text boxes that show how much room is left.
import './field.css';
import { h, mount } from './dom.js';
import { addPhoto, photoUrl } from './photos.js';

/** The server refuses longer text fields (PROTOCOL: notes and descriptions). */
export const MAX_TEXT = 4000;

/**
 * Photo picker: each picked image is downscaled, hashed and stored at once.
 * testid is on the file input (tests open its chooser); `<testid>-list` holds the
 * thumbnails (`img[data-sha]`), `<testid>-remove` their 删除 buttons.
 */
export function photoPicker(testid, label, { onChange } = {}) {
  let shas = [];
  const list = h('div', { class: 'photos', testid: `${testid}-list`, 'data-count': '0' });
  const status = h('p', { class: 'muted', testid: `${testid}-status`, 'aria-live': 'polite' });
  const input = h('input', { type: 'file', accept: 'image/*', capture: 'environment', multiple: true, testid, id: testid,
    style: { position: 'absolute', inset: '0', width: '100%', height: '100%', opacity: '0', cursor: 'pointer' } });
  const btnText = h('span', {}, '拍照 / 选照片');
  const btn = h('label', { class: 'cap-btn', for: testid, style: { position: 'relative' } }, cameraIcon(), btnText, input);
  input.addEventListener('change', async () => {
    const files = [...input.files];
    if (!files.length) return;
    status.textContent = '正在处理照片，请稍候…';
    status.dataset.busy = '1';
    try {
      for (const f of files) {
        const sha = await addPhoto(f);
        if (!shas.includes(sha)) shas.push(sha);
      }
      status.textContent = `已保存 ${shas.length} 张照片`;
    } catch (e) {
      status.textContent = `这张照片无法保存：${e.message}。请再拍一次`;
    } finally {
      status.dataset.busy = '0';
      input.value = '';
      await render();
      onChange && onChange(shas);
    }
  });
  async function render() {
    const items = [];
    let i = 0;
    for (const sha of shas) {
      i += 1;
      const url = await photoUrl(sha);
      const n = i;
      items.push(h('div', { class: 'thumb' },
        h('img', { src: url || '', alt: `${label}第 ${n} 张`, 'data-sha': sha }),
        h('button', { type: 'button', testid: `${testid}-remove`, 'data-sha': sha, 'aria-label': `删除${label}第 ${n} 张`,
          onclick: () => { shas = shas.filter((s) => s !== sha); status.textContent = `已删除 1 张，还有 ${shas.length} 张`; render(); onChange && onChange(shas); } }, '删除')));
    }
    mount(list, items);
    list.dataset.count = String(shas.length);
    btnText.textContent = shas.length ? `再拍一张（已有 ${shas.length} 张）` : '拍照 / 选照片';
  }
  const el = h('div', { class: 'capture' }, h('p', { class: 'cap-title' }, label), btn, status, list);
  return { el, get: () => [...shas], set: (s) => { shas = [...(s || [])]; render(); }, busy: () => status.dataset.busy === '1' };
}

/** A camera drawn inline (phones without an emoji font show a box for 📷). */
function cameraIcon() {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', 'cap-icon');
  for (const [tag, attrs] of [['path', { d: 'M4 7h3l2-3h6l2 3h3a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V8a1 1 0 0 1 1-1z' }], ['circle', { cx: 12, cy: 13, r: 4 }]]) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.appendChild(el);
  }
  return svg;
}

/**
 * A visible "还可输入 N 字" under a text box, with maxlength so typing stops at
 * the server's limit instead of failing at upload. Returns the counter element.
 */
export function textCounter(box, max = MAX_TEXT) {
  box.setAttribute('maxlength', String(max));
  const id = `${box.id || box.dataset.testid || 'text'}-counter`;
  const c = h('p', { class: 'counter', id, testid: `${box.dataset.testid || box.id}-counter`, 'aria-live': 'polite' });
  box.setAttribute('aria-describedby', id);
  const update = () => {
    const n = box.value.length;
    const left = max - n;
    c.textContent = left <= 0 ? `已到 ${max} 字上限` : `已写 ${n} 字，还可写 ${left} 字`;
    c.dataset.left = String(left);
    c.className = left <= 200 ? 'counter near' : 'counter';
  };
  box.addEventListener('input', update);
  c.update = update;
  update();
  return c;
}
