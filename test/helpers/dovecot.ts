/**
 * A real IMAP server for the copy in Sent: Debian's Dovecot, run standalone on loopback with its
 * own config, base_dir and passwd-file user database, started by the test and stopped after it.
 * What it holds is read back with doveadm (not with the IMAP client under test).
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './fixtures';

const run = promisify(execFile);

export const DOVECOT = '/usr/sbin/dovecot';
export const DOVEADM = '/usr/bin/doveadm';

export interface Dovecot {
  port: number;
  user: string;
  password: string;
  dir: string;
  /** Stops the server (the port stays reserved for start()). */
  stop(): Promise<void>;
  /** Starts it again on the same port, same mail. */
  start(): Promise<void>;
  /** The messages of a folder whose Message-ID header is `messageId`: flags and the full text. */
  find(folder: string, messageId: string): Promise<{ flags: string; text: string }[]>;
  /** The folders and their SPECIAL-USE flags, as doveadm lists them. */
  folders(): Promise<string>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('data', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/**
 * Starts Dovecot with one user. `sentFolder` names the folder flagged \Sent; `flagSent: false`
 * keeps a folder of that name without the flag (the fallback by name).
 */
export async function startDovecot(options: { sentFolder?: string; flagSent?: boolean } = {}): Promise<Dovecot> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oxymail-dovecot-'));
  const port = await freePort();
  const user = 'alice@example.com';
  const password = 'imap-secret';
  const root = process.getuid?.() === 0;
  // As root, mail belongs to nobody (Dovecot refuses uid 0 for mail); otherwise to us.
  const uid = root ? 65534 : (process.getuid?.() ?? 1000);
  const gid = root ? 65534 : (process.getgid?.() ?? 1000);
  const me = os.userInfo().username;
  for (const d of ['run', 'state', 'mail', 'home']) mkdirSync(path.join(dir, d), { recursive: true });
  if (root) {
    // mkdtemp makes a 0700 folder: the mail user must be able to reach its mail inside it.
    chmodSync(dir, 0o755);
    for (const d of ['mail', 'home']) chownSync(path.join(dir, d), uid, gid);
  }
  writeFileSync(path.join(dir, 'passwd'), `${user}:{PLAIN}${password}::::::\n`, { mode: 0o644 });
  const sent = options.sentFolder ?? 'Sent';
  const flag = options.flagSent === false ? '' : 'special_use = \\Sent\n      ';
  const conf = `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
${root ? '' : `default_login_user = ${me}\ndefault_internal_user = ${me}\n`}
mail_location = maildir:${dir}/mail/%u
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/home/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox "${sent}" {
      ${flag}auto = create
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = create
  }
}
`;
  const file = path.join(dir, 'dovecot.conf');
  writeFileSync(file, conf);
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(DOVECOT, ['-F', '-c', file], { stdio: 'ignore' });
    const exited = new Promise<never>((_, reject) => proc?.once('exit', (code) => reject(new Error(`dovecot exited (${code}); see ${dir}/dovecot.log`))));
    const up = (async () => {
      while (!(await accepts(port))) await new Promise((r) => setTimeout(r, 20));
    })();
    await Promise.race([up, exited]);
    proc.removeAllListeners('exit');
  };
  const stop = async () => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
    while (await accepts(port)) await new Promise((r) => setTimeout(r, 20));
  };
  await start();
  return {
    port,
    user,
    password,
    dir,
    stop,
    start,
    async find(folder, messageId) {
      const { stdout } = await run(DOVEADM, [
        '-c',
        file,
        '-f',
        'flow',
        'fetch',
        '-u',
        user,
        'flags text',
        'mailbox',
        folder,
        'header',
        'Message-ID',
        messageId,
      ]);
      return stdout
        .split(/\n(?=flags=)/)
        .filter((l) => l.startsWith('flags='))
        .map((l) => {
          const m = /^flags=(.*?) text=([\s\S]*)$/.exec(l.trimEnd());
          return { flags: m?.[1] ?? '', text: m?.[2] ?? '' };
        });
    },
    async folders() {
      const { stdout } = await run(DOVEADM, ['-c', file, 'mailbox', 'list', '-u', user]);
      return stdout;
    },
  };
}
