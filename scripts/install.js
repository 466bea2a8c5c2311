#!/usr/bin/env node
// npm install hook. Off Windows there is nothing to build (MAPI is Windows-only): exit at once, so
// Linux/macOS installs need no compiler. On Windows, use the shipped prebuild for this arch, or
// build from source with node-gyp (needs the Outlook MAPI headers: OXYMAIL_MAPI_INCLUDE); a failed
// build leaves SMTP and managed sending working, and `mapi` reports MAPI_UNAVAILABLE.
'use strict';
if (process.platform !== 'win32') process.exit(0);
const { spawnSync } = require('node:child_process');
const bin = require.resolve('node-gyp-build/bin.js');
const run = spawnSync(process.execPath, [bin], { stdio: 'inherit', cwd: require('node:path').join(__dirname, '..') });
if (run.status !== 0) {
  console.warn('oxymail: the MAPI addon could not be built for this Node.js; SMTP and managed sending work, MAPI reports MAPI_UNAVAILABLE.');
}
