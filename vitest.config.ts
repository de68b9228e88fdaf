import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: test files that start worker pools should not all run at once.
    maxWorkers: 2,
    reporters: ['default', './tests/summary-reporter.ts'],
  },
});
