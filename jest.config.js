// Tests expect English people-facing text whatever the machine's locale (a French test sets its own).
process.env.OXYMAIL_LANG = 'en';
/**
 * openid-client and its dependencies ship ES modules only. Built oxymail loads them with a native
 * import() (tsconfig.build.json keeps it); under Jest on Node 20, which cannot require() an ES
 * module, ts-jest compiles these three packages to CommonJS instead.
 */
const ESM_ONLY = ['openid-client', 'oauth4webapi', 'jose'];

// The Windows (Wine) suites run on the first target of scripts/win/targets.json (x64, Windows Node 22);
// those whose behaviour depends on the arch (the raw addon's marshalling, the doctor's registry view,
// DPAPI) run again on the 32-bit one (ia32, node-win-x86 22 under wine32); test/windows/targets.test.ts
// covers every target (x64 Node 20 too), the public API included. A project's globals.OXYMAIL_WIN_TARGET
// picks the target (test/windows/harness.ts); the environment variable does for a manual run, e.g.
// OXYMAIL_WIN_TARGET=ia32-node22 npx jest --selectProjects windows (every suite passes on ia32 too).
const base = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx?$': 'ts-jest',
    [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['ts-jest', { tsconfig: { allowJs: true, target: 'ES2022', module: 'commonjs' }, diagnostics: false }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};
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
      testMatch: ['native', 'native_extended', 'doctor', 'store'].map((f) => `${WINDOWS}${f}.test.ts`),
      globals: { OXYMAIL_WIN_TARGET: 'ia32-node22' },
    },
  ],
};
