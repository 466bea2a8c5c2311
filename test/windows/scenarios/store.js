// The settings store under Windows: secrets sealed with DPAPI on disk, opened by get().
'use strict';
const fs = require('fs');
const { scenario, pkg } = require('./common');
const { openSettingsStore } = pkg();

scenario(async (_addon, input) => {
  const store = openSettingsStore(input.file);
  await store.set('alice', {
    email: 'alice@example.com',
    customize: true,
    protocol: 'smtp',
    smtp: { host: 'smtp.example.com', port: 587, username: 'alice', password: input.password },
    mapi: { profile: 'Outlook', password: input.mapiPassword },
  });
  const disk = fs.readFileSync(input.file, 'utf8');
  const got = await store.get('alice');
  const listed = await store.list();
  // A blob from another user/machine (here: corrupted) must fail with a clear code, not garbage.
  const doc = JSON.parse(disk);
  doc.users.alice.smtp.password.dpapi = Buffer.from('not a dpapi blob').toString('base64');
  fs.writeFileSync(input.file, JSON.stringify(doc));
  const broken = await store.get('alice').then(
    () => null,
    (e) => ({ code: e.code, message: e.message, hint: e.hint }),
  );
  return { kind: store.secrets, disk, password: got.smtp.password, mapiPassword: got.mapi.password, listed, broken };
});
