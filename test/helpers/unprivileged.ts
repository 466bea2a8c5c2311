/**
 * A child process that file modes apply to, for EACCES tests that must also pass as root (CI): as
 * root, the unprivileged uid 65534 (nobody), or, when that uid cannot read `entry` (a checkout under
 * /root), root without the capabilities that override file modes (setpriv drops CAP_DAC_OVERRIDE
 * and CAP_DAC_READ_SEARCH); as a normal user, the user itself (chmod is enough).
 */
import { spawnSync } from 'node:child_process';

export const NOBODY = 65534;

export interface Unprivileged {
  /** How the child is made subject to file modes, for test names. */
  how: string;
  command: string;
  /** Arguments before node's own. */
  prefix: string[];
  /** spawn's uid/gid, when the child runs as nobody. */
  ids?: { uid: number; gid: number };
}

/** How to start `node <entry> ...` so that file modes apply to it. */
export function unprivileged(entry: string): Unprivileged {
  const root = process.platform !== 'win32' && process.getuid?.() === 0;
  if (!root) return { how: 'this user (not root): file modes apply', command: process.execPath, prefix: [] };
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(entry)}, require('fs').constants.R_OK)`], {
    uid: NOBODY,
    gid: NOBODY,
  });
  if (probe.status === 0) return { how: 'uid 65534 (nobody)', command: process.execPath, prefix: [], ids: { uid: NOBODY, gid: NOBODY } };
  const caps = '-dac_override,-dac_read_search';
  return { how: 'root without CAP_DAC_OVERRIDE (setpriv)', command: 'setpriv', prefix: [`--inh-caps=${caps}`, `--bounding-set=${caps}`, process.execPath] };
}
