import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  test: {
    include: ['test/**/*.test.{ts,tsx}'],
    // One real PostgreSQL for the whole run (each test file gets its own database), and one
    // build of the web console for the browser tests.
    globalSetup: ['test/setup/global-postgres.ts', 'test/setup/build-console.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
