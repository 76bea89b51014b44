// Unit tests of the field app's pure logic and its IndexedDB outbox (fake-indexeddb),
// in Node: seconds, no browser. The browser tests in tests/browser cover the rest.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.js'],
    environment: 'node',
    setupFiles: ['test/setup.js'],
  },
});
