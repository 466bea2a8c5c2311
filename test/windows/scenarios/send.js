// Sends input.steps one after the other. Each step may first set (or, with
// null, delete) environment variables that the recording client reads at
// each call, then sends step.request.
'use strict';
const { scenario, request, applyEnv } = require('./common');

scenario(async (addon, input) => {
  const results = [];
  for (const step of input.steps) {
    applyEnv(step.env);
    results.push(await addon.sendSimple(request(step.request)));
  }
  return { results };
});
