// Calls sendSimple (or input.fn: sendExtended, listProfiles) with broken
// requests: each must throw a TypeError synchronously (never return a promise).
'use strict';
const { scenario, request, extendedRequest } = require('./common');

scenario(async (addon, input) => {
  const fn = input.fn || 'sendSimple';
  const build = { sendSimple: request, sendExtended: extendedRequest, listProfiles: (r) => ({ ...r }) }[fn];
  const outcomes = [];
  for (const c of input.cases) {
    let arg;
    if (c.raw !== undefined) arg = c.raw;
    else {
      arg = build(c.request || {});
      for (const [k, v] of Object.entries(c.override || {})) arg[k] = v;
      if (c.uiParamNumber !== undefined) arg.uiParam = c.uiParamNumber;
      if (c.uiParamBig !== undefined) arg.uiParam = BigInt(c.uiParamBig);
      for (const k of c.remove || []) delete arg[k];
    }
    try {
      const value = addon[fn](arg);
      outcomes.push({ name: c.name, threw: false, promise: value instanceof Promise });
      if (value instanceof Promise) await value.catch(() => {});
    } catch (e) {
      outcomes.push({ name: c.name, threw: true, errorName: e.name, message: e.message });
    }
  }
  return { outcomes };
});
