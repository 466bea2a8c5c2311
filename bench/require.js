#!/usr/bin/env node
/**
 * Start-up cost of `require('oxymail')`: whole Node processes, `node -e "require('oxymail')"`
 * against a bare `node -e 0`, alternating, 20 of each (after a warm-up); prints the medians and
 * the ratio of the medians (target <= 1.2). Run alone with `node bench/require.js [--runs 20]`.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const { arg, median } = require('./sink');

const ROOT = path.join(__dirname, '..');

function wall(code) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node -e ${code} exited with ${r.status}`);
  return ms;
}

function requireBench(runs = 20) {
  // The package by its own name (package.json "exports" self-reference), as an application requires it.
  const load = "require('oxymail')";
  wall('0');
  wall(load);
  const bare = [];
  const ox = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      bare.push(wall('0'));
      ox.push(wall(load));
    } else {
      ox.push(wall(load));
      bare.push(wall('0'));
    }
  }
  const ratio = median(ox) / median(bare);
  console.log(`require: ${runs} processes each, alternating`);
  console.log(`  node -e 0                      median ${median(bare).toFixed(1)} ms`);
  console.log(`  node -e "require('oxymail')"   median ${median(ox).toFixed(1)} ms`);
  console.log(`  require('oxymail') / node -e 0 wall-time ratio: ${ratio.toFixed(3)} (target <= 1.2)`);
  return ratio;
}

module.exports = { requireBench };

if (require.main === module) {
  requireBench(arg('runs', 20));
}
