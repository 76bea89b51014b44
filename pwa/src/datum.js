// Datums for drawing: GPS fixes and pulled grids are WGS-84, but a basemap from
// AMap/Tencent is drawn in GCJ-02 and one from Baidu in BD-09. Overlays are shifted
// into the basemap's datum so they line up with it, and a point picked on the map is
// in that datum (the server converts it back: location_datum). The same published
// formulas as the server's geo/datum.py (forward only; nothing here needs the inverse).
const A = 6378245.0;
const EE = 0.006693421622965943; // 0.00669342162296594323, as a double
const X_PI = (Math.PI * 3000.0) / 180.0;

export function outOfChina(lon, lat) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function tLat(x, y) {
  let r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin((y / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((160.0 * Math.sin((y / 12.0) * Math.PI) + 320.0 * Math.sin((y * Math.PI) / 30.0)) * 2.0) / 3.0;
  return r;
}

function tLon(x, y) {
  let r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0) / 3.0;
  r += ((20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin((x / 3.0) * Math.PI)) * 2.0) / 3.0;
  r += ((150.0 * Math.sin((x / 12.0) * Math.PI) + 300.0 * Math.sin((x / 30.0) * Math.PI)) * 2.0) / 3.0;
  return r;
}

function wgsToGcj(lon, lat) {
  if (outOfChina(lon, lat)) return [lon, lat];
  let dLat = tLat(lon - 105.0, lat - 35.0);
  let dLon = tLon(lon - 105.0, lat - 35.0);
  const rad = (lat / 180.0) * Math.PI;
  const magic = 1 - EE * Math.sin(rad) ** 2;
  const sq = Math.sqrt(magic);
  dLat = (dLat * 180.0) / (((A * (1 - EE)) / (magic * sq)) * Math.PI);
  dLon = (dLon * 180.0) / ((A / sq) * Math.cos(rad) * Math.PI);
  return [lon + dLon, lat + dLat];
}

function gcjToBd(lon, lat) {
  const z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * X_PI);
  const theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * X_PI);
  return [z * Math.cos(theta) + 0.0065, z * Math.sin(theta) + 0.006];
}

/** The datum a basemap is drawn in, normalised ('wgs84' for CGCS2000 or unknown). */
export function mapDatum(d) {
  const k = String(d || '').toLowerCase().replace(/[^a-z0-9]/g, '');
  if (k === 'gcj02' || k === 'gcj') return 'gcj02';
  if (k === 'bd09' || k === 'bd09ll') return 'bd09';
  return 'wgs84';
}

/** WGS-84 [lon, lat] in the given datum. */
export function fromWgs84(lon, lat, datum) {
  const d = mapDatum(datum);
  if (d === 'gcj02') return wgsToGcj(lon, lat);
  if (d === 'bd09') return gcjToBd(...wgsToGcj(lon, lat));
  return [lon, lat];
}

/** A GeoJSON geometry (WGS-84) with every position moved into the datum. */
export function geometryFromWgs84(geom, datum) {
  if (!geom || mapDatum(datum) === 'wgs84') return geom;
  const walk = (c) => (typeof c[0] === 'number' ? fromWgs84(c[0], c[1], datum) : c.map(walk));
  return { ...geom, coordinates: walk(geom.coordinates) };
}
