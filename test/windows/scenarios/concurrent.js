// Starts every request of input.requests at once, without awaiting between
// them, and notes the order in which the promises settle.
'use strict';
const { scenario, request } = require('./common');

scenario(async (addon, input) => {
  const settled = [];
  const results = await Promise.all(
    input.requests.map((r, i) =>
      addon.sendSimple(request(r)).then((result) => {
        settled.push(i);
        return result;
      }),
    ),
  );
  return { results, settled };
});
