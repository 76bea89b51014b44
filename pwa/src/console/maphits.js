// Which features a click on the console map means: pure helpers, so the rule is tested
// without a map.

/** A small box around a click (px), so a dot drawn under another one is still hit. */
export function hitBox(point, r = 4) {
  return [[point.x - r, point.y - r], [point.x + r, point.y + r]];
}

/**
 * Rendered features, one per record: a point can come back once per tile it touches.
 * Incidents first, then the rest, each in the order drawn.
 */
export function distinctHits(features) {
  const seen = new Set();
  const out = [];
  for (const f of features) {
    const id = f.properties && f.properties.id;
    const key = `${f.layer && f.layer.id}:${id}`;
    if (id == null || seen.has(key)) continue;
    seen.add(key);
    out.push(f);
  }
  const inc = (f) => (f.layer && f.layer.id === 'inc-points' ? 0 : 1);
  return out.map((f, i) => [f, i]).sort((a, b) => inc(a[0]) - inc(b[0]) || a[1] - b[1]).map(([f]) => f);
}
