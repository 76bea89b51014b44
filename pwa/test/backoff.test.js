import { describe, expect, it } from 'vitest';
import { Backoff } from '../src/backoff.js';

describe('Backoff', () => {
  it('doubles from the base with equal jitter, up to the cap', () => {
    const b = new Backoff({ base: 1000, cap: 8000, random: () => 0 });
    // equal jitter with random() = 0: half of the exponential step
    expect([1, 2, 3, 4, 5].map(() => b.fail(0))).toEqual([500, 1000, 2000, 4000, 4000]);
  });

  it('never waits longer than the cap, whatever the jitter', () => {
    const b = new Backoff({ base: 1000, cap: 8000, random: () => 0.999999 });
    for (let i = 0; i < 50; i += 1) expect(b.fail(0)).toBeLessThanOrEqual(8000);
  });

  it('is ready again once the delay has passed, and reset clears it', () => {
    const b = new Backoff({ base: 1000, random: () => 1 });
    const delay = b.fail(10_000);
    expect(delay).toBe(1000);
    expect(b.ready(10_999)).toBe(false);
    expect(b.remaining(10_500)).toBe(500);
    expect(b.ready(11_000)).toBe(true);
    b.reset();
    expect(b.ready(0)).toBe(true);
    expect(b.failures).toBe(0);
  });

  it('does not overflow after many failures', () => {
    const b = new Backoff({ base: 2000, cap: 300_000, random: () => 0.5 });
    for (let i = 0; i < 1000; i += 1) b.fail(0);
    expect(Number.isFinite(b.until)).toBe(true);
    expect(b.until).toBeLessThanOrEqual(300_000);
  });
});
