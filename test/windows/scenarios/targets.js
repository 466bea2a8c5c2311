// The core MAPI scenarios every Windows node runs (test/windows/targets.test.ts): Wine's node.exe of
// each target on Linux, process.execPath on a Windows runner. The recording client is registered
// through oxymail/testing, as a user's CI would (HKLM and HKCU, in this process's registry view),
// and unregistered at the end, whatever happened (what it restores is tested in mapi.test.ts; here the
// sends reaching the client prove the registration). input.dll registers another DLL instead (the
// other arch's client: the bitness-mismatch case). Steps, one after the other, each with its own
// record file and the client's controls cleared:
//   { simple: request }        the raw addon's sendSimple (loaded by node-gyp-build)
//   { extended: request }      the raw addon's sendExtended
//   { api: { settings, message }, profiles?: true }   the public API (createMailer().send / listProfiles)
'use strict';
const fs = require('fs');
const { scenario, request, extendedRequest, applyEnv, pkg } = require('./common');
const oxymail = pkg();
const testing = pkg('dist/testing');

const errorOf = (e) => ({ code: e.code, message: e.message, hint: e.hint, name: e.name });

scenario(async (addon, input) => {
  const host = { execPath: process.execPath, arch: process.arch, version: process.version };
  const registration = await testing.registerRecordingClient(input.dll ? { dll: input.dll } : {});
  const steps = [];
  try {
    for (const step of input.steps) {
      applyEnv({ ...testing.recordingEnv(step.record), ...step.env });
      let outcome;
      try {
        if (step.simple) outcome = { result: await addon.sendSimple(request(step.simple)) };
        else if (step.extended) outcome = { result: await addon.sendExtended(extendedRequest(step.extended)) };
        else if (step.profiles) outcome = { result: await oxymail.listProfiles() };
        else {
          const mailer = oxymail.createMailer(step.api.settings);
          outcome = { result: await mailer.send(step.api.message) };
          mailer.close();
        }
      } catch (e) {
        outcome = { error: errorOf(e) };
      }
      steps.push({ ...outcome, recordExists: fs.existsSync(step.record), records: testing.readRecords(step.record) });
    }
  } finally {
    await registration.unregister();
  }
  return { host, dll: registration.dll, steps };
});
