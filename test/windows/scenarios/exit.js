// Sends input.sends mails (0: only loads the addon) and then leaves nothing
// for the event loop: the process must exit by itself, which it cannot do if
// the MAPI thread's ThreadSafeFunction stays referenced.
'use strict';
const { scenario, request } = require('./common');

scenario(async (addon, input) => {
  const results = [];
  for (let i = 0; i < input.sends; i++) results.push(await addon.sendSimple(request(input.request)));
  return { results };
});
