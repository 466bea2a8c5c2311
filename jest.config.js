// The Windows (Wine) suites run twice: on the first target of scripts/win/targets.json (x64, Windows
// Node 22) and again on the 32-bit one (ia32, node-win-x86 22 under wine32); test/windows/targets.test.ts
// covers every target (x64 Node 20 too) by itself. A project's `globals.OXYMAIL_WIN_TARGET` picks the
// target (test/windows/harness.ts); the OXYMAIL_WIN_TARGET environment variable does for a manual run.
const base = { preset: 'ts-jest', testEnvironment: 'node' };
const WINDOWS = '<rootDir>/test/windows/';

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 30000,
  projects: [
    { ...base, displayName: 'main', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/', WINDOWS] },
    { ...base, displayName: 'windows', testMatch: [`${WINDOWS}**/*.test.ts`] },
    {
      ...base,
      displayName: 'windows ia32',
      testMatch: [`${WINDOWS}**/*.test.ts`],
      // Target-independent files run once, in the project above.
      testPathIgnorePatterns: ['/node_modules/', `${WINDOWS}(targets|package|prefix-lock)\\.test\\.ts$`],
      globals: { OXYMAIL_WIN_TARGET: 'ia32-node22' },
    },
  ],
};
