// MapLibre, loaded on demand (it is most of the app's weight), with a
// configurable basemap. With no basemap reachable, the overlays still draw
// on a plain background.
let libPromise = null;

export function loadMapLibre() {
  if (!libPromise) {
    libPromise = Promise.all([import('maplibre-gl'), import('maplibre-gl/dist/maplibre-gl.css')])
      .then(([m]) => m.default || m);
  }
  return libPromise;
}

export const BLANK_STYLE = {
  version: 8,
  sources: {},
  layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f2efe9' } }],
};

/** The basemap style if it is configured and reachable, else the blank one. */
export async function pickStyle(url) {
  if (!url) return BLANK_STYLE;
  try {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 4000);
    const res = await fetch(url, { signal: ctl.signal });
    clearTimeout(t);
    if (!res.ok) return BLANK_STYLE;
    return await res.json();
  } catch {
    return BLANK_STYLE;
  }
}

export function webglAvailable() {
  try {
    const c = document.createElement('canvas');
    return !!(c.getContext('webgl2') || c.getContext('webgl'));
  } catch {
    return false;
  }
}

export function bboxOf(features) {
  let minx = Infinity, miny = Infinity, maxx = -Infinity, maxy = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      minx = Math.min(minx, c[0]); maxx = Math.max(maxx, c[0]);
      miny = Math.min(miny, c[1]); maxy = Math.max(maxy, c[1]);
    } else c.forEach(walk);
  };
  for (const f of features) if (f.geometry) walk(f.geometry.coordinates);
  return Number.isFinite(minx) ? [minx, miny, maxx, maxy] : null;
}

/** Make a map; resolves to null (and says why) when WebGL is missing. */
export async function createMap(container, { styleUrl, bounds, onError } = {}) {
  if (!webglAvailable()) { onError && onError('本机浏览器不支持 WebGL，地图无法显示'); return null; }
  const maplibregl = await loadMapLibre();
  const style = await pickStyle(styleUrl);
  try {
    const map = new maplibregl.Map({
      container,
      style,
      bounds: bounds || [118.62, 31.93, 118.78, 32.10],
      fitBoundsOptions: { padding: 20 },
      attributionControl: false,
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    map.on('error', (e) => console.warn('map error', e && e.error));
    await new Promise((resolve) => { if (map.loaded()) resolve(); else map.once('load', resolve); });
    return { map, maplibregl };
  } catch (e) {
    onError && onError(`地图无法显示：${e.message}`);
    return null;
  }
}
