// Runs `oxymail doctor` (dist/doctor) with the REAL probe in Windows node.exe under Wine: reg.exe
// reads the prefix's registry, the DLLs are read from disk. argv: <installed package> <result .json> <input .json>.
// Each case sets (or, with null, removes) environment variables first: SESSIONNAME and friends.
'use strict';
const { scenario, applyEnv, pkg } = require('./common');
const doctor = pkg('dist/doctor');

scenario(async (_addon, input) => {
  const outcomes = [];
  for (const c of input.cases) {
    applyEnv(c.env);
    const report = await doctor.runDoctor(c.options || {});
    outcomes.push({ name: c.name, report, text: doctor.formatDoctorReport(report, { color: false }) });
  }
  return { platform: process.platform, arch: process.arch, outcomes };
});
