// Sends input.sends mails (0: only loads the addon) and then leaves nothing
// for the event loop: the process must exit by itself, which it cannot do if
// the MAPI thread's ThreadSafeFunction stays referenced.
// With input.exitAfterMs, starts one send and calls process.exit() while the
// mail client is still busy: env teardown must not wait for it or crash.
'use strict';
const { scenario, request, finish } = require('./common');

scenario(async (addon, input) => {
  if (input.exitAfterMs !== undefined) {
    addon.sendSimple(request(input.request));
    await new Promise((resolve) => setTimeout(resolve, input.exitAfterMs));
    finish({ exiting: true });
    process.exit(7);
  }
  const results = [];
  for (let i = 0; i < input.sends; i++) results.push(await addon.sendSimple(request(input.request)));
  return { results };
});
