// The field app's rules for older hands: location advice, "changed since I looked",
// the status trail, and places in words (fake-indexeddb, no browser).
import { beforeEach, describe, expect, it } from 'vitest';
import { db, kvSet } from '../src/store.js';
import { browserKind, failureAdvice, permissionSteps } from '../src/location.js';
import { changeKey, isChanged, markSeen, loadSeen, observe, trailOf, waitsForVerify } from '../src/notices.js';
import { placeOf, isMyGrid, roleName } from '../src/labels.js';
import { distanceToBoundary } from '../src/geo.js';
import { categoryName } from '../src/categories.js';

beforeEach(async () => {
  await Promise.all(db.tables.map((t) => t.clear()));
});

describe('location advice', () => {
  it('knows WeChat, Huawei, Safari and Chrome', () => {
    expect(browserKind('Mozilla/5.0 (Linux; Android 12; V2) AppleWebKit Chrome/116 Mobile Safari MicroMessenger/8.0.40')).toBe('wechat');
    expect(browserKind('Mozilla/5.0 (Linux; Android 10; HUAWEI P40) HuaweiBrowser/14.0 Chrome/99 Mobile Safari')).toBe('huawei');
    expect(browserKind('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit Version/17.0 Mobile Safari')).toBe('safari');
    expect(browserKind('Mozilla/5.0 (Linux; Android 13) AppleWebKit Chrome/120 Mobile Safari')).toBe('chrome');
    expect(permissionSteps('wechat').join()).toContain('微信');
  });
  it('never tells a refused permission to go outside', () => {
    const a = failureAdvice('denied');
    expect(a.title).toBe('定位权限已关闭');
    expect(`${a.title}${a.text}`).not.toMatch(/开阔|室外|窗边/);
    expect(failureAdvice('timeout').text).toContain('地图上点选');
  });
});

describe('what changed since I looked', () => {
  const inc = (status, notes = 0, extra = {}) => ({ id: 'i1', version: 2, status, data: { status, notes: Array.from({ length: notes }, () => ({})) }, ...extra });
  it('a never-opened incident is news only once it left its first status', () => {
    expect(isChanged(inc('reported'), {})).toBe(false);
    expect(isChanged(inc('self_handled'), {})).toBe(false);
    expect(isChanged(inc('accepted'), {})).toBe(true);
    expect(isChanged(inc('accepted', 0, { local: true }), {})).toBe(false);
  });
  it('opening it clears the badge until the status or the notes change', async () => {
    await markSeen(inc('accepted'));
    const seen = await loadSeen();
    expect(seen.i1).toBe(changeKey(inc('accepted')));
    expect(isChanged(inc('accepted'), seen)).toBe(false);
    expect(isChanged(inc('accepted', 1), seen)).toBe(true);
    expect(isChanged(inc('filed'), seen)).toBe(true);
  });
  it('keeps a trail of each status seen, once each', async () => {
    await observe([inc('reported')]);
    await observe([inc('reported')]);
    await observe([inc('accepted')]);
    expect((await trailOf('i1')).map((t) => t.status)).toEqual(['reported', 'accepted']);
  });
  it('a 核查 waits for handled incidents in my grids', () => {
    expect(waitsForVerify({ status: 'handled', grid_code: 'A' }, ['A'])).toBe(true);
    expect(waitsForVerify({ status: 'handled', grid_code: 'B' }, ['A'])).toBe(false);
    expect(waitsForVerify({ status: 'verified', grid_code: 'A' }, ['A'])).toBe(false);
  });
});

describe('names, not codes', () => {
  const square = { type: 'Polygon', coordinates: [[[118.70, 32.02], [118.71, 32.02], [118.71, 32.03], [118.70, 32.03], [118.70, 32.02]]] };
  it('says which grid and how far its edge is', async () => {
    await db.grids.put({ code: '320105001001001', properties: { name: '示范01街道第01社区01网格' }, geometry: square });
    await kvSet('user', { username: 'u', role: 'patroller', grids: ['320105001001001'] });
    const p = await placeOf(118.7002, 32.025);
    expect(p.code).toBe('320105001001001');
    // 0.0002° of longitude at 32° N is about 18.9 m
    expect(Math.round(p.edge_m)).toBe(19);
    expect(p.text).toBe('示范01街道第01社区01网格，距网格边界 19 米');
    expect(await placeOf(118.72, 32.025)).toBe(null);
    expect(await isMyGrid('320105001001001')).toBe(true);
    expect(await isMyGrid('320105001001002')).toBe(false);
  });
  it('measures to the nearest edge', () => {
    expect(Math.round(distanceToBoundary(118.705, 32.0201, square))).toBe(11);
  });
  it('roles and categories in Chinese', async () => {
    expect(roleName('grid_leader')).toBe('网格长');
    expect(await categoryName('0301')).toBe('安全隐患 / 消防通道堵塞');
    expect(await categoryName('zz.unknown')).toBe('其他类别');
  });
});
