// Smoke test of the installed addon on a Windows machine without a mail client (CI runners):
// the addon loads and runs MAPI calls on its thread, yet no mail client is ever called. Calling
// the system MAPI32 there could show Windows' "no mail client" message box and wait forever, so
// OXYMAIL_MAPI_DLL names a DLL that does not exist: a send and a profile list must both fail with
// MAPI_UNAVAILABLE at LoadLibraryW (Win32 error 126), which only the loaded addon can report.
//   node scripts/win/smoke.js [<installed oxymail folder>]   (exit 0: the addon works; 1: it does not)
// Without a folder it checks this checkout (dist/ and prebuilds/).
'use strict';
const path = require('path');

process.env.OXYMAIL_MAPI_DLL = 'C:\\oxymail-smoke\\no-such-mapi.dll';
const { createMailer, listProfiles } = require(process.argv[2] || path.join(__dirname, '..', '..'));

const expectLoadFailure = (what) => (err) => {
  const ok = err && err.code === 'MAPI_UNAVAILABLE' && /\(LoadLibraryW\): cannot load .*\(Win32 error 126\)/.test(err.message);
  console.log(`${ok ? 'ok' : 'FAILED'} ${what}: ${err && err.code} ${err && err.message}`);
  return ok;
};

async function main() {
  const results = [];
  for (const iface of ['simple', 'extended']) {
    const mailer = createMailer({ email: 'ci@example.com', customize: true, protocol: 'mapi', mapi: { interface: iface } });
    results.push(
      await mailer.send({ to: 'qa@example.com', subject: 'smoke', text: 'x' }).then(
        () => {
          console.log(`FAILED ${iface} send: it succeeded`);
          return false;
        },
        expectLoadFailure(`${iface} send`),
      ),
    );
  }
  results.push(
    await listProfiles().then(() => {
      console.log('FAILED profiles: it succeeded');
      return false;
    }, expectLoadFailure('profiles')),
  );
  process.exitCode = results.every(Boolean) ? 0 : 1;
}

main().catch((err) => {
  console.log(`FAILED: ${err.stack || err}`);
  process.exitCode = 1;
});
