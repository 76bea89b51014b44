// Patrol track recording. Each accepted fix is written to IndexedDB at once,
// so a crash or a closed tab loses at most the fix in flight. Fixes worse
// than MAX_ACCURACY_M and impossible jumps (faster than MAX_SPEED) are dropped.
import { db, kvGet, kvSet, kvDel, uuid, nowRfc3339 } from './store.js';
import { haversine, pointInGeometry } from './geo.js';
import { notify } from './bus.js';
import { enqueue } from './outbox.js';

export const MAX_ACCURACY_M = 50;
export const MAX_SPEED_MS = 30; // ~108 km/h: anything faster is a GPS jump
export const MIN_STEP_M = 2;

let watchId = null;
let lastAccepted = null;

export async function activePatrol() {
  return kvGet('patrol_active', null);
}

export async function startPatrol() {
  let p = await activePatrol();
  if (p) return p;
  p = { id: uuid(), started_at: nowRfc3339(), started_ms: Date.now(), paused: false, paused_ms: 0, pause_started: null, findings: [] };
  await kvSet('patrol_active', p);
  lastAccepted = null;
  watch();
  notify('patrol');
  return p;
}

export async function pausePatrol() {
  const p = await activePatrol();
  if (!p || p.paused) return p;
  p.paused = true;
  p.pause_started = Date.now();
  await kvSet('patrol_active', p);
  unwatch();
  notify('patrol');
  return p;
}

export async function resumePatrol() {
  const p = await activePatrol();
  if (!p || !p.paused) return p;
  p.paused = false;
  p.paused_ms += Date.now() - (p.pause_started || Date.now());
  p.pause_started = null;
  await kvSet('patrol_active', p);
  watch();
  notify('patrol');
  return p;
}

export async function addFinding(note, photos = []) {
  const p = await activePatrol();
  if (!p) return null;
  const last = await lastPoint(p.id);
  p.findings.push({ id: uuid(), at: nowRfc3339(), note, photos: [...photos], location: last ? { type: 'Point', coordinates: [last.lon, last.lat] } : null });
  await kvSet('patrol_active', p);
  notify('patrol');
  return p;
}

export async function trackPoints(patrolId) {
  return db.trackpoints.where('patrol_id').equals(patrolId).sortBy('n');
}

async function lastPoint(patrolId) {
  const pts = await trackPoints(patrolId);
  return pts[pts.length - 1] || null;
}

/** Accept or drop one fix; returns true if it was stored. */
export async function onFix(fix) {
  const p = await activePatrol();
  if (!p || p.paused) return false;
  if (fix.accuracy != null && fix.accuracy > MAX_ACCURACY_M) return false;
  if (!lastAccepted) lastAccepted = await lastPoint(p.id);
  if (lastAccepted) {
    const d = haversine(lastAccepted, fix);
    const dt = Math.max(0.001, (fix.t - lastAccepted.t) / 1000);
    if (d / dt > MAX_SPEED_MS && d > 100) return false;
    if (d < MIN_STEP_M) return false;
  }
  const pt = { patrol_id: p.id, lon: fix.lon, lat: fix.lat, acc: fix.accuracy, t: fix.t };
  await db.trackpoints.add(pt);
  lastAccepted = pt;
  notify('track', pt);
  return true;
}

// What the GPS is doing, for the patrol screen: never claim a track is being
// recorded when no fix arrives. `error` is 'denied', 'unavailable' or 'timeout'.
const gps = { watching: false, since: null, fixes: 0, last: null, error: null };
/** The clock the 60 s "no fix" warning runs on (tests may swap it). */
export const clock = { now: () => Date.now() };
export const NO_FIX_WARN_MS = 60 * 1000;

export function gpsStatus() {
  return { ...gps, last: gps.last && { ...gps.last } };
}

/**
 * The state the patrol screen shows: 'denied', 'waiting' (no fix yet, under 60 s),
 * 'nofix' (none for 60 s), 'poor' (fixes too inexact to record) or 'ok'.
 */
export function gpsState(s = gps, now = clock.now()) {
  if (s.error === 'denied') return 'denied';
  const lastAt = s.last ? s.last.at : s.since;
  if (lastAt != null && now - lastAt >= NO_FIX_WARN_MS) return 'nofix';
  if (!s.last) return 'waiting';
  if (s.last.accuracy != null && s.last.accuracy > MAX_ACCURACY_M) return 'poor';
  return 'ok';
}

function watch() {
  if (watchId != null || typeof navigator === 'undefined') return;
  gps.watching = true;
  gps.since = clock.now();
  gps.error = null;
  if (!navigator.geolocation) { gps.error = 'unavailable'; notify('gps'); return; }
  watchId = navigator.geolocation.watchPosition(
    (pos) => {
      gps.fixes += 1;
      gps.error = null;
      gps.last = { at: clock.now(), accuracy: pos.coords.accuracy };
      notify('gps');
      onFix({ lon: pos.coords.longitude, lat: pos.coords.latitude, accuracy: pos.coords.accuracy, t: Date.now() });
    },
    (err) => {
      // Permission denied will not fix itself: stop and say so; anything else may pass.
      gps.error = err && err.code === 1 ? 'denied' : err && err.code === 3 ? 'timeout' : 'unavailable';
      if (gps.error === 'denied') unwatch();
      notify('gps');
    },
    { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 },
  );
  notify('gps');
}

/** After the user allowed location: start watching again. */
export async function retryGps() {
  unwatch();
  const p = await activePatrol();
  if (p && !p.paused) watch();
}

function unwatch() {
  if (watchId != null) navigator.geolocation.clearWatch(watchId);
  watchId = null;
  gps.watching = false;
}

/** On app start: keep recording a patrol that was running when the app closed. */
export async function resumeTrackingIfActive() {
  const p = await activePatrol();
  if (p && !p.paused) watch();
}

export function lengthOf(points) {
  let d = 0;
  for (let i = 1; i < points.length; i++) d += haversine(points[i - 1], points[i]);
  return d;
}

export function elapsedMs(p, now = Date.now()) {
  if (!p) return 0;
  const paused = p.paused_ms + (p.paused && p.pause_started ? now - p.pause_started : 0);
  return Math.max(0, now - p.started_ms - paused);
}

export async function gridsCrossed(points) {
  const grids = await db.grids.toArray();
  const seen = [];
  for (const pt of points) {
    const g = grids.find((x) => pointInGeometry(pt.lon, pt.lat, x.geometry));
    if (g && !seen.some((s) => s.code === g.code)) seen.push({ code: g.code, name: g.properties.name || g.code });
  }
  return seen;
}

/** End the patrol: one `patrol` inspection with the whole track. */
export async function endPatrol(note = '') {
  const p = await activePatrol();
  if (!p) return null;
  unwatch();
  const pts = await trackPoints(p.id);
  const coords = pts.map((x) => [x.lon, x.lat]);
  const first = pts[0];
  const crossed = await gridsCrossed(pts);
  const findingsText = p.findings.map((f, i) => `发现${i + 1}：${f.note}`).join('\n');
  const data = {
    kind: 'patrol',
    occurred_at: p.started_at,
    started_at: p.started_at,
    ended_at: nowRfc3339(),
    note: [note, findingsText].filter(Boolean).join('\n'),
    findings: p.findings,
    distance_m: Math.round(lengthOf(pts)),
    duration_s: Math.round(elapsedMs(p) / 1000),
    grids_crossed: crossed.map((g) => g.code),
    // A finding's photos travel with the patrol record, so the usual photo upload sends them.
    photos: [...new Set(p.findings.flatMap((f) => f.photos || []))],
  };
  if (coords.length) {
    data.track = { type: 'LineString', coordinates: coords.length === 1 ? [coords[0], coords[0]] : coords };
    data.location = { type: 'Point', coordinates: coords[0] };
    if (first.acc != null) data.location_accuracy_m = Math.round(first.acc * 10) / 10;
  }
  await enqueue({ entity: 'inspection', id: p.id, action: 'create', data, label: '每日巡' });
  await db.transaction('rw', db.trackpoints, db.kv, async () => {
    await db.trackpoints.where('patrol_id').equals(p.id).delete();
    await kvDel('patrol_active');
  });
  lastAccepted = null;
  notify('patrol');
  return data;
}
