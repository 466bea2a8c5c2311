// oxymail/testing as a user's CI would use it on a bare Windows runner: register the recording
// client, send through the public API, read what it recorded, unregister. The default mail client
// is read in HKLM and in HKCU (the user's own choice) before, during and after.
'use strict';
const fs = require('fs');
const { scenario, pkg } = require('./common');
const { createMailer } = pkg();
const testing = pkg('dist/testing');

const defaults = async () => ({ machine: await testing.defaultMailClient(), user: await testing.defaultMailClient(undefined, 'HKCU') });

scenario(async (_addon, input) => {
  const before = await defaults();
  const client = await testing.registerRecordingClient();
  const during = await defaults();
  Object.assign(process.env, testing.recordingEnv(input.record, { returnCode: 0, ...input.control }));
  const mailer = createMailer({ email: 'ci@example.com', customize: true, protocol: 'mapi', mapi: input.mapi });
  const result = await mailer.send({ to: 'qa@example.com', subject: 'Smoke test ✓', text: 'from CI' });
  const records = testing.readRecords(input.record);
  await client.unregister();
  const after = await defaults();
  return {
    before,
    during,
    after,
    previous: client.previous,
    previousUser: client.previousUser,
    dll: client.dll,
    dllExists: fs.existsSync(client.dll),
    result,
    records,
  };
});
