// Extended MAPI through the raw addon: runs input.steps one after the other.
// Each step may first set (or, with null, delete) environment variables the
// fake provider reads at each call, then does one of:
//   send: request        sendExtended(request)
//   profiles: request    listProfiles(request)
//   concurrent: [requests]  every sendExtended started at once; notes the
//                        order in which the promises settle
// With step.sampleMemory, the RSS is sampled every 10 ms during the step.
// Before each step a {"fn":"step","i":n} line goes to the record file, so the
// test can tell which step each provider call belongs to.
'use strict';
const fs = require('fs');
const { scenario, extendedRequest, applyEnv } = require('./common');

async function sampled(body) {
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const started = Date.now();
  const value = await body();
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { value, memory: { before, peak, maxRSS: process.resourceUsage().maxRSS * 1024, ms: Date.now() - started } };
}

scenario(async (addon, input) => {
  const results = [];
  for (const [i, step] of input.steps.entries()) {
    // The MAPI thread is idle between awaited steps: no line can mix.
    if (process.env.OXYMAIL_MAPI_RECORD) fs.appendFileSync(process.env.OXYMAIL_MAPI_RECORD, JSON.stringify({ fn: 'step', i }) + '\n');
    applyEnv(step.env);
    const run = async () => {
      if (step.send) return addon.sendExtended(extendedRequest(step.send));
      if (step.profiles) return addon.listProfiles(step.profiles);
      const settled = [];
      const all = await Promise.all(
        step.concurrent.map((r, i) =>
          addon.sendExtended(extendedRequest(r)).then((result) => {
            settled.push(i);
            return result;
          }),
        ),
      );
      return { results: all, settled };
    };
    if (step.sampleMemory) {
      const { value, memory } = await sampled(run);
      results.push({ ...value, memory });
    } else {
      results.push(await run());
    }
  }
  return { results };
});
