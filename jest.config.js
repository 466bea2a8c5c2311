/**
 * openid-client and its dependencies ship ES modules only. Built oxymail loads them with a native
 * import() (tsconfig.build.json keeps it); under Jest on Node 20, which cannot require() an ES
 * module, ts-jest compiles these three packages to CommonJS instead.
 */
const ESM_ONLY = ['openid-client', 'oauth4webapi', 'jose'];

/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  transform: {
    '^.+\\.tsx?$': 'ts-jest',
    [`/node_modules/(${ESM_ONLY.join('|')})/.+\\.js$`]: ['ts-jest', { tsconfig: { allowJs: true, target: 'ES2022', module: 'commonjs' }, diagnostics: false }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
};
