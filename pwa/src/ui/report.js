// 报 实时报 (report) and 做 随手做 (handle): both create an inspection whose
// server side creates the incident (reported / self_handled).
import { h, mount, toast } from '../dom.js';
import { db, uuid, nowRfc3339 } from '../store.js';
import { enqueue, counts } from '../outbox.js';
import { loadDraft, autosave, dropDraft } from '../drafts.js';
import { locationWidget, photoPicker, categoryPicker, textCounter } from './widgets.js';
import '../elder.js';

export async function reportScreen(root, { go }, { kind = 'report' } = {}) {
  const p = kind; // testid prefix: report-… / handle-…
  const draftKey = `form:${kind}`;
  const isReport = kind === 'report';
  const draft = await loadDraft(draftKey);

  let flush = () => {};
  const changed = () => { if (!restoring) flush(); };
  let restoring = true;
  const cat = await categoryPicker(p, { onChange: changed });
  const title = h('input', { type: 'text', id: `${p}-title`, testid: `${p}-title`, maxlength: 100, placeholder: '一句话说明（可不填）' });
  const note = h('textarea', { id: `${p}-note`, testid: `${p}-note`, maxlength: 4000, placeholder: isReport ? '发生了什么、在哪里' : '做了什么处置' });
  const noteCount = textCounter(note);
  const urgent = h('input', { type: 'checkbox', id: `${p}-urgent`, testid: `${p}-urgent` });
  const loc = locationWidget(p, { onChange: changed });
  const photos = isReport ? photoPicker(`${p}-photo`, '照片', { onChange: changed }) : null;
  const before = !isReport ? photoPicker(`${p}-photo-before`, '处置前照片', { onChange: changed }) : null;
  const after = !isReport ? photoPicker(`${p}-photo-after`, '处置后照片', { onChange: changed }) : null;
  const err = h('p', { class: 'err', testid: `${p}-error`, role: 'alert' });
  const save = h('button', { type: 'submit', class: 'primary', testid: `${p}-save` }, '保存到本机');
  const cancel = h('button', { type: 'button', testid: `${p}-cancel`, onclick: () => go('') }, '返回');

  const form = h('form', { testid: `${p}-form` },
    h('h2', {}, isReport ? '报 · 实时上报事件' : '做 · 随手处置'),
    cat.el,
    h('p', { class: 'field-title' }, '位置'), loc.el,
    photos && photos.el, before && before.el, after && after.el,
    h('label', { for: `${p}-note` }, isReport ? '情况描述' : '处置说明'), note, noteCount,
    h('label', { for: `${p}-title` }, '标题（可不填）'), title,
    isReport ? h('label', { class: 'check' }, urgent, '紧急（有危险或需要马上处理）') : null,
    err,
    h('div', { class: 'row' }, cancel, save));

  const collect = () => ({
    category: cat.get(), title: title.value, note: note.value, urgent: urgent.checked, location: loc.get(),
    photos: photos ? photos.get() : [], before: before ? before.get() : [], after: after ? after.get() : [],
  });
  if (draft) {
    if (draft.category) cat.set(draft.category);
    title.value = draft.title || '';
    note.value = draft.note || '';
    noteCount.update();
    urgent.checked = !!draft.urgent;
    if (photos) photos.set(draft.photos);
    if (before) before.set(draft.before);
    if (after) after.set(draft.after);
    if (draft.location) loc.set(draft.location);
    form.dataset.restored = '1';
  }
  flush = autosave(form, draftKey, collect);
  restoring = false;
  const hasContent = draft && (draft.note || draft.title || (draft.photos || []).length || (draft.before || []).length || (draft.after || []).length);
  if (!hasContent || !draft.location) loc.locate();

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    const v = collect();
    if (!v.location) { err.textContent = '还没有位置：请点“在地图上点选位置”，或打开定位后点“重新定位”'; return; }
    if (!v.note.trim() && !v.title.trim()) { err.textContent = '请填写情况描述'; return; }
    if ((photos && photos.busy()) || (before && before.busy()) || (after && after.busy())) { err.textContent = '照片还在处理，请稍候'; return; }
    save.disabled = true;
    try {
      const incidentId = uuid();
      const inspectionId = uuid();
      const allPhotos = isReport ? v.photos : [...v.before, ...v.after];
      const t = v.title.trim() || cat.name();
      const point = { type: 'Point', coordinates: [v.location.lon, v.location.lat] };
      const data = {
        kind,
        occurred_at: nowRfc3339(),
        location: point,
        location_accuracy_m: v.location.accuracy != null ? Math.round(v.location.accuracy * 10) / 10 : null,
        note: v.note,
        incident_id: incidentId,
        category: v.category,
        title: t,
        urgent: isReport ? v.urgent : false,
        photos: allPhotos,
      };
      if (v.location.datum && v.location.datum !== 'wgs84') data.location_datum = v.location.datum;
      if (!isReport) { data.photos_before = v.before; data.photos_after = v.after; data.description = v.note; }
      await enqueue({ entity: 'inspection', id: inspectionId, action: 'create', data, label: isReport ? '实时报' : '随手做' });
      // Show it in "我的事件" at once; the pull replaces it with the server's copy.
      await db.incidents.put({
        id: incidentId, version: null, local: true, status: isReport ? 'reported' : 'self_handled', grid_code: null,
        data: { category: v.category, title: t, description: v.note, urgent: data.urgent, location: point, photos: allPhotos, status: isReport ? 'reported' : 'self_handled', created_local_at: Date.now() },
      });
      flush.stop();
      await dropDraft(draftKey);
      const c = await counts();
      toast(`已保存到本机（${c.unsent} 条未上传）`);
      go('');
    } catch (ex) {
      err.textContent = `保存失败：${ex.message}`;
    } finally {
      save.disabled = false;
    }
  });
  mount(root, form);
}
