import { describe, it, expect } from 'vitest';
import { recordFeatures, trackFeatures, statusGroup, startOfDay } from '../src/mylayers.js';

const pt = (lon, lat) => ({ type: 'Point', coordinates: [lon, lat] });

describe('mylayers', () => {
  it('groups statuses', () => {
    expect([statusGroup('dispatched'), statusGroup('closed'), statusGroup(undefined), statusGroup('void')]).toEqual(['open', 'done', 'open', 'stopped']);
  });
  it('overlays the outbox on pulled rows and marks it unsent', () => {
    const fc = recordFeatures({
      inspections: [{ id: 'a', data: { kind: 'visit', location: pt(118.7, 32.0) } }, { id: 'nowhere', data: { kind: 'visit' } }],
      incidents: [{ id: 'b', data: { status: 'closed', location: pt(118.71, 32.01) } }],
      outbox: [{ device_seq: 1, entity: 'incident', id: 'c', action: 'create', data: { status: 'reported', location: pt(118.72, 32.02) } },
        { device_seq: 2, entity: 'inspection', id: 'a', action: 'update', data: { note: 'x' } },
        { device_seq: 3, entity: 'household', id: 'h', action: 'create', data: { location: pt(1, 2) } }],
    });
    const by = Object.fromEntries(fc.features.map((f) => [f.properties.id, f.properties]));
    expect(Object.keys(by).sort()).toEqual(['a', 'b', 'c']);
    expect(by.a).toMatchObject({ kind: 'visit', unsent: 1 });
    expect(by.b).toMatchObject({ kind: 'report', group: 'done', unsent: 0 });
    expect(by.c).toMatchObject({ kind: 'report', group: 'open', unsent: 1 });
  });
  it('keeps a point picked on the basemap in its datum, shifts a WGS-84 one', () => {
    const fc = recordFeatures({ outbox: [
      { device_seq: 1, entity: 'incident', id: 'g', action: 'create', data: { location: pt(118.7, 32.0), location_datum: 'gcj02' } },
      { device_seq: 2, entity: 'incident', id: 'w', action: 'create', data: { location: pt(118.7, 32.0) } }] }, 'gcj02');
    const by = Object.fromEntries(fc.features.map((f) => [f.properties.id, f.geometry.coordinates]));
    expect(by.g).toEqual([118.7, 32.0]);
    expect(by.w[0]).not.toBe(118.7);
  });
  it('draws only today\'s fixes, one line per patrol', () => {
    const now = new Date(2026, 11, 1, 15, 0).getTime();
    const today = startOfDay(now);
    const fc = trackFeatures([
      { n: 1, patrol_id: 'p', lon: 1, lat: 1, t: today + 1000 },
      { n: 2, patrol_id: 'p', lon: 1.001, lat: 1, t: today + 2000 },
      { n: 3, patrol_id: 'old', lon: 2, lat: 2, t: today - 1000 },
      { n: 4, patrol_id: 'q', lon: 3, lat: 3, t: today + 3000 }], 'wgs84', now);
    expect(fc.features.map((f) => [f.properties.patrol_id, f.properties.points])).toEqual([['p', 2], ['q', 1]]);
    expect(fc.features[1].geometry.coordinates).toHaveLength(2);
  });
});
