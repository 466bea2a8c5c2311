// Tests expect English people-facing text whatever the machine's locale (a French test sets its own).
process.env.OXYMAIL_LANG = 'en';

/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
};
