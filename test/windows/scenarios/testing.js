// oxymail/testing as a user's CI would use it on a bare Windows runner: register the recording
// client, send through the public API, read what it recorded, unregister.
'use strict';
const fs = require('fs');
const path = require('path');
const { scenario } = require('./common');
const dist = path.join(__dirname, '..', '..', '..', 'dist');
const { createMailer } = require(dist);
const testing = require(path.join(dist, 'testing'));

scenario(async (_addon, input) => {
  const before = await testing.defaultMailClient();
  const client = await testing.registerRecordingClient();
  const during = await testing.defaultMailClient();
  Object.assign(process.env, testing.recordingEnv(input.record, { returnCode: 0 }));
  const mailer = createMailer({ email: 'ci@example.com', customize: true, protocol: 'mapi' });
  const result = await mailer.send({ to: 'qa@example.com', subject: 'Smoke test ✓', text: 'from CI' });
  const records = testing.readRecords(input.record);
  await client.unregister();
  const after = await testing.defaultMailClient();
  return { before, during, after, dll: client.dll, dllExists: fs.existsSync(client.dll), result, records };
});
