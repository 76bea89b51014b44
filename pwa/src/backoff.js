// Capped exponential backoff with "equal jitter".
export class Backoff {
  constructor({ base = 2000, cap = 5 * 60 * 1000, random = Math.random } = {}) {
    this.base = base;
    this.cap = cap;
    this.random = random;
    this.failures = 0;
    this.until = 0;
  }
  /** Record a failure; returns the delay in ms before the next try. */
  fail(now = Date.now()) {
    const exp = Math.min(this.cap, this.base * 2 ** Math.min(this.failures, 20));
    this.failures += 1;
    const delay = Math.round(exp / 2 + (this.random() * exp) / 2);
    this.until = now + delay;
    return delay;
  }
  reset() {
    this.failures = 0;
    this.until = 0;
  }
  ready(now = Date.now()) {
    return now >= this.until;
  }
  remaining(now = Date.now()) {
    return Math.max(0, this.until - now);
  }
}
