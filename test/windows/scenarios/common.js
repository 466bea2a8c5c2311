// Shared by the scenario scripts that the test/windows suites run with a Windows node.exe (under
// Wine on Linux). argv: <installed oxymail package folder> <result .json path> [<input .json path>].
// The addon and the public API come from that package (the packed tarball, installed), as a user
// gets them. Results go through a file because node.exe under Wine fails with EBADF when its
// stdout is a pipe.
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, resultPath, inputPath] = process.argv.slice(2);

/** A module of the installed package: pkg() is require('oxymail'), pkg('dist/testing')... */
function pkg(sub = '') {
  return require(path.join(packageDir, sub));
}

/** Writes the scenario's result (bigints as strings) for the test to read. */
function finish(result) {
  const text = JSON.stringify(result, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  fs.writeFileSync(resultPath, text);
}

/** Runs body(addon, input); any throw or rejection is reported as {error}. */
function scenario(body) {
  let addon;
  try {
    // As lib/native.ts loads it: node-gyp-build picks prebuilds/win32-<arch>/oxymail.node.
    const load = require(require.resolve('node-gyp-build', { paths: [packageDir] }));
    addon = load(packageDir);
  } catch (e) {
    finish({ error: { name: e.name, message: e.message, stage: 'require' } });
    return;
  }
  const input = inputPath ? JSON.parse(fs.readFileSync(inputPath, 'utf8')) : undefined;
  Promise.resolve()
    .then(() => body(addon, input))
    .then(finish, (e) => finish({ error: { name: e.name, message: e.message, stack: e.stack } }));
}

/** A complete sendSimple request; JSON cannot carry a bigint, so uiParam is a string. */
function request(fields) {
  const r = {
    logonUI: false,
    dialog: false,
    uiParam: 0n,
    subject: '',
    body: '',
    readReceipt: false,
    recipients: [],
    attachments: [],
    ...fields,
  };
  r.uiParam = BigInt(r.uiParam);
  return r;
}

/** A complete sendExtended request, filled like request(). */
function extendedRequest(fields) {
  const r = {
    logonUI: false,
    uiParam: 0n,
    subject: '',
    body: '',
    importance: 1,
    readReceipt: false,
    deliveryReport: false,
    saveToSent: true,
    recipients: [],
    attachments: [],
    ...fields,
  };
  r.uiParam = BigInt(r.uiParam);
  return r;
}

/**
 * Sets (or, with null, deletes) environment variables. Node on Windows writes them to the process
 * environment, where the recording client reads them at each MAPI call.
 */
function applyEnv(env = {}) {
  for (const [name, value] of Object.entries(env)) {
    if (value === null) delete process.env[name];
    else process.env[name] = String(value);
  }
}

module.exports = { scenario, request, extendedRequest, finish, applyEnv, pkg };
