// 访 经常访: pick (or add) a household, record who was met, their concerns
// and a note -> a `visit` inspection.
import { h, mount, toast } from '../dom.js';
import { uuid, nowRfc3339 } from '../store.js';
import { enqueue, counts } from '../outbox.js';
import { loadDraft, autosave, dropDraft } from '../drafts.js';
import { locationWidget, textCounter } from './widgets.js';
import { householdPicker, householdForm, createHousehold, hhTitle, pointOf } from './household.js';

export async function visitScreen(root, { go }) {
  showPicker();

  function showPicker() {
    mount(root, h('h2', {}, '访 · 走访住户'),
      householdPicker('visit', { onPick: (r) => showVisit(r), onNew: () => showVisit(null) }),
      h('div', { class: 'row' }, h('button', { onclick: () => go('') }, '返回')));
  }

  async function showVisit(rec) {
    const draftKey = `form:visit:${rec ? rec.id : 'new'}`;
    const hhForm = rec ? null : householdForm({});
    const met = h('input', { type: 'text', testid: 'visit-met', id: 'visit-met', maxlength: 200, placeholder: '例如：户主本人、老伴' });
    const concerns = h('textarea', { testid: 'visit-concerns', id: 'visit-concerns', placeholder: '需求、诉求、困难' });
    const note = h('textarea', { testid: 'visit-note', id: 'visit-note' });
    const concernsCount = textCounter(concerns);
    const noteCount = textCounter(note);
    const loc = locationWidget('visit');
    const err = h('p', { class: 'err', testid: 'visit-error' });
    const save = h('button', { type: 'submit', class: 'primary', testid: 'visit-save' }, '保存');
    const form = h('form', { testid: 'visit-form' },
      h('h2', {}, rec ? `走访：${hhTitle(rec.data || {})}` : '走访新住户'),
      hhForm ? h('div', { class: 'card' }, h('b', {}, '住户信息'), hhForm.el) : null,
      h('label', { for: 'visit-met' }, '见到的人'), met,
      h('label', { for: 'visit-concerns' }, '诉求与需求'), concerns, concernsCount,
      h('label', { for: 'visit-note' }, '走访记录'), note, noteCount,
      h('label', {}, '位置'), loc.el, err,
      h('div', { class: 'row' }, h('button', { type: 'button', testid: 'visit-cancel', onclick: () => showPicker() }, '返回'), save));
    const collect = () => ({ met: met.value, concerns: concerns.value, note: note.value, hh: hhForm ? hhForm.get() : null });
    const draft = await loadDraft(draftKey);
    if (draft) {
      met.value = draft.met || ''; concerns.value = draft.concerns || ''; note.value = draft.note || '';
      concernsCount.update(); noteCount.update();
      if (hhForm && draft.hh) hhForm.set(draft.hh);
      form.dataset.restored = '1';
    }
    const flush = autosave(form, draftKey, collect);
    loc.locate();
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      const v = collect();
      if (!v.met.trim() && !v.note.trim() && !v.concerns.trim()) { err.textContent = '请填写见到的人或走访记录'; return; }
      save.disabled = true;
      try {
        let household = rec;
        if (!household) {
          if (!v.hh.address && !v.hh.head_name) { err.textContent = '请至少填写住户地址或户主'; return; }
          household = (await createHousehold(v.hh, loc.get())).row;
        }
        const l = loc.get();
        await enqueue({ entity: 'inspection', id: uuid(), action: 'create', label: '经常访', data: {
          kind: 'visit', occurred_at: nowRfc3339(), household_id: household.id,
          met: v.met.trim(), concerns: v.concerns.trim(), note: v.note.trim() || v.concerns.trim(),
          location: pointOf(l), location_accuracy_m: l && l.accuracy != null ? Math.round(l.accuracy * 10) / 10 : undefined, photos: [],
        } });
        flush.stop();
        await dropDraft(draftKey);
        toast(`已保存到本机（${(await counts()).unsent} 条未上传）`);
        go('');
      } finally { save.disabled = false; }
    });
    mount(root, form);
  }
}
