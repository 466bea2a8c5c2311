// A send that waits inside the mail client must not block the event loop. The client returns only
// once input.release exists (OXYMAIL_MAPI_WAIT_FOR), and only a setInterval callback creates it,
// after input.releaseAfterTicks ticks: the send can finish only if the loop kept running, however
// slow the machine.
'use strict';
const fs = require('fs');
const { scenario, request } = require('./common');

scenario(async (addon, input) => {
  process.env.OXYMAIL_MAPI_WAIT_FOR = input.release;
  let ticks = 0;
  let ticksAtRelease;
  const timer = setInterval(() => {
    if (++ticks === input.releaseAfterTicks) {
      ticksAtRelease = ticks;
      fs.writeFileSync(input.release, '');
    }
  }, 50);
  const result = await addon.sendSimple(request(input.request));
  clearInterval(timer);
  return { result, ticks, ticksAtRelease };
});
