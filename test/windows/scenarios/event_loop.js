// A send that sleeps inside the mail client (OXYMAIL_MAPI_SLEEP_MS) must not
// block the event loop: count setInterval ticks while it runs.
'use strict';
const { scenario, request } = require('./common');

scenario(async (addon, input) => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 50);
  const started = Date.now();
  const result = await addon.sendSimple(request(input.request));
  const elapsed = Date.now() - started;
  clearInterval(timer);
  return { result, ticks, elapsed };
});
