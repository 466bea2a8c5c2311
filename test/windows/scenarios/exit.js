// Sends input.sends mails (0: only loads the addon) and then leaves nothing
// for the event loop: the process must exit by itself, which it cannot do if
// the MAPI thread's ThreadSafeFunction stays referenced.
// With input.exitAfterMs, starts one send and calls process.exit() while the
// mail client is still busy: env teardown must not wait for it or crash.
// With input.extended, the sends go through sendExtended.
'use strict';
const { scenario, request, extendedRequest, finish } = require('./common');

scenario(async (addon, input) => {
  const send = input.extended ? (r) => addon.sendExtended(extendedRequest(r)) : (r) => addon.sendSimple(request(r));
  if (input.exitAfterMs !== undefined) {
    send(input.request);
    await new Promise((resolve) => setTimeout(resolve, input.exitAfterMs));
    finish({ exiting: true });
    process.exit(7);
  }
  const results = [];
  for (let i = 0; i < input.sends; i++) results.push(await send(input.request));
  return { results };
});
