// 长辈模式 (elder mode), after MIIT's 适老化 rules: main text >= 18 px, main
// function buttons 30 px, tap targets >= 60x60, line height >= 1.3, contrast
// >= 4.5:1. It is one attribute, <html data-elder="1">, and field.css does the rest.
// The choice is kept in localStorage (read synchronously at start, so the first
// paint is already large) and mirrored in IndexedDB with the other settings.
import './field.css';
import { kvSet } from './store.js';

const KEY = 'gp.elder';

export function elderMode() {
  return document.documentElement.dataset.elder === '1';
}

export function setElderMode(on) {
  const v = on ? '1' : '0';
  document.documentElement.dataset.elder = v;
  try { localStorage.setItem(KEY, v); } catch { /* private mode: this session only */ }
  kvSet('elder_mode', !!on).catch(() => {});
  return !!on;
}

/** Apply the saved choice; `?elder=1` / `?elder=0` in the URL sets it (support staff, tests). */
export function initElderMode() {
  let v = null;
  try { v = new URLSearchParams(location.search).get('elder'); } catch { /* no location */ }
  if (v === '1' || v === '0') { setElderMode(v === '1'); return; }
  let saved = null;
  try { saved = localStorage.getItem(KEY); } catch { /* ignore */ }
  document.documentElement.dataset.elder = saved === '1' ? '1' : '0';
}

/** A checkbox that switches elder mode, for the settings screen and the first-run offer. */
export function elderToggle(h) {
  const cb = h('input', { type: 'checkbox', testid: 'elder-toggle', id: 'elder-toggle', checked: elderMode(),
    onchange: () => setElderMode(cb.checked) });
  return h('label', { class: 'check', for: 'elder-toggle' }, cb, '长辈模式（大字、大按钮）');
}

initElderMode();
