// Tiny change bus: same-tab listeners plus a BroadcastChannel for other tabs
// and the service worker.
const listeners = new Map();
let channel = null;
try { channel = new BroadcastChannel('gridpatrol'); } catch { channel = null; }
if (channel) {
  channel.onmessage = (e) => fire(e.data && e.data.topic, e.data && e.data.payload, false);
}

function fire(topic, payload, broadcast) {
  for (const fn of listeners.get(topic) || []) {
    try { fn(payload); } catch (err) { console.error(err); }
  }
  if (broadcast && channel) {
    try { channel.postMessage({ topic, payload }); } catch { /* ignore */ }
  }
}

export function notify(topic, payload = null) { fire(topic, payload, true); }

export function on(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  return () => listeners.get(topic).delete(fn);
}
