import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';
import { decide, retryAfterSeconds, RETRY, SHOW, LOGIN } from '../src/syncpolicy.js';

const fresh = () => new Backoff({ base: 1000, cap: 60_000, random: () => 0 });
const http = (status, extra = {}) => ({ status, message: `HTTP ${status}`, ...extra });

describe('syncpolicy.decide', () => {
  it('retries with backoff when there is no answer at all', () => {
    const b = fresh();
    const d = decide({ name: 'NetworkError', message: '网络不可用' }, { backoff: b, now: 0 });
    expect(d).toMatchObject({ action: RETRY, state: 'offline', delay: 500 });
    expect(decide({}, { backoff: b, now: 0 }).delay).toBe(1000); // and backs off
  });

  it.each([500, 502, 503, 408, 429])('retries a %i', (status) => {
    expect(decide(http(status), { backoff: fresh(), now: 0 }).action).toBe(RETRY);
  });

  it('never retries sooner than Retry-After', () => {
    const b = fresh();
    const d = decide(http(503, { retryAfter: '30' }), { backoff: b, now: 1000 });
    expect(d.delay).toBe(30_000);
    expect(b.ready(30_999)).toBe(false);
    expect(b.ready(31_000)).toBe(true);
  });

  it('keeps the longer backoff when Retry-After is shorter', () => {
    const b = fresh();
    for (let i = 0; i < 6; i += 1) b.fail(0);
    expect(decide(http(429, { retryAfter: '1' }), { backoff: b, now: 0 }).delay).toBe(30_000);
  });

  it.each([400, 403, 404, 413, 415, 422])('shows a %i and does not loop on it', (status) => {
    const b = fresh();
    const d = decide(http(status, { message: '坏请求' }), { backoff: b, now: 0 });
    expect(d).toMatchObject({ action: SHOW, state: 'error', delay: null });
    expect(d.message).toContain('坏请求');
    expect(b.ready(0)).toBe(true);
  });

  it.each([
    [401, undefined], [403, 'device_mismatch'], [403, 'device_revoked'],
    [403, 'password_change_required'],
  ])('asks to sign in again after %i %s', (status, code) => {
    const d = decide(http(status, { code }), { backoff: fresh(), now: 0 });
    expect(d.action).toBe(LOGIN);
    expect(d.message).toContain('未上传的记录仍保存在本机');
  });
});

describe('retryAfterSeconds', () => {
  it('reads seconds and HTTP dates', () => {
    expect(retryAfterSeconds('5')).toBe(5);
    expect(retryAfterSeconds('Wed, 21 Oct 2026 07:28:00 GMT', Date.parse('Wed, 21 Oct 2026 07:27:00 GMT'))).toBe(60);
    expect(retryAfterSeconds(null)).toBe(null);
    expect(retryAfterSeconds('soon')).toBe(null);
  });
});
