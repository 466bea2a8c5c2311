// Sends input.steps one after the other. Each step may first set (or, with
// null, delete) environment variables that the recording client reads at
// each call, then sends step.request.
'use strict';
const { scenario, request } = require('./common');

scenario(async (addon, input) => {
  const results = [];
  for (const step of input.steps) {
    for (const [name, value] of Object.entries(step.env || {})) {
      if (value === null) delete process.env[name];
      else process.env[name] = String(value);
    }
    results.push(await addon.sendSimple(request(step.request)));
  }
  return { results };
});
