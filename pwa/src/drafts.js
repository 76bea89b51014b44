// Autosave of half-filled forms: survives reload, crash and app updates.
import { db } from './store.js';

export async function loadDraft(key) {
  const d = await db.drafts.get(key);
  return d ? d.data : null;
}

export async function saveDraft(key, data) {
  await db.drafts.put({ key, data, updated_at: Date.now() });
}

export async function dropDraft(key) {
  await db.drafts.delete(key);
}

/** Save collect() on every input/change (debounced). Returns a flush(). */
export function autosave(form, key, collect, delay = 250) {
  let t = null;
  let stopped = false;
  const flush = async () => { clearTimeout(t); t = null; if (!stopped) await saveDraft(key, collect()); };
  const kick = () => { if (stopped) return; clearTimeout(t); t = setTimeout(flush, delay); };
  form.addEventListener('input', kick);
  form.addEventListener('change', kick);
  /** Stop autosaving (the form was saved or abandoned). */
  flush.stop = () => { stopped = true; clearTimeout(t); };
  return flush;
}
