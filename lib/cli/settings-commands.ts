/**
 * `oxymail settings ...`: the administrator's view of the settings store.
 */
import { promises as fs } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { smtpHandshake } from '../doctor/smtp-probe';
import { MailError } from '../errors';
import { parseSettingsJson, SECRET_PATHS, settingKind, UserMailSettings } from '../settings';
import { openSettingsStore, SettingsStore, STORE_VERSION } from '../store/store';
import { green, print, progress, readStdin, table, yellow } from './output';

/** The store named by the global --store option (else OXYMAIL_SETTINGS or the default path). */
export function storeFrom(cmd: Command): SettingsStore {
  return openSettingsStore(cmd.optsWithGlobals().store);
}

const usage = (message: string) => new CommanderError(2, 'oxymail.usage', message);

/** `smtp.port=587` -> ['smtp.port', 587], typed by the settings schema. */
function parseAssignment(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq < 1) throw usage(`'${text}' is not key=value (example: smtp.port=587)`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  if (SECRET_PATHS.includes(key)) throw usage(`${key} cannot be given on the command line (it would stay in the shell history): use --password-stdin`);
  const kind = settingKind(key);
  if (kind === 'boolean' && (raw === 'true' || raw === 'false')) return [key, raw === 'true'];
  if (kind === 'number' && /^\d+$/.test(raw)) return [key, Number(raw)];
  return [key, raw];
}

function setPath(o: Record<string, unknown>, key: string, value: unknown): void {
  const keys = key.split('.');
  let node = o;
  for (const k of keys.slice(0, -1)) {
    if (!node[k] || typeof node[k] !== 'object') {
      if (value === undefined) return;
      node[k] = {};
    }
    node = node[k] as Record<string, unknown>;
  }
  if (value === undefined) delete node[keys[keys.length - 1]];
  else node[keys[keys.length - 1]] = value;
}

function withoutSecrets(s: UserMailSettings): UserMailSettings {
  const copy = structuredClone(s) as unknown as Record<string, unknown>;
  for (const p of SECRET_PATHS) setPath(copy, p, undefined);
  return copy as unknown as UserMailSettings;
}

function summary(s: UserMailSettings): string[] {
  const protocol = s.customize ? (s.protocol ?? '?') : 'managed';
  const where = protocol === 'smtp' ? `${s.smtp?.host}:${s.smtp?.port}` : protocol === 'mapi' ? `profile ${s.mapi?.profile || '(default)'}` : 'suite relay';
  return [s.label ?? '', s.email ?? '', protocol, where];
}

async function required(store: SettingsStore, user: string): Promise<UserMailSettings> {
  const s = await store.get(user);
  if (!s) throw new MailError('SETTINGS_NOT_FOUND', `settings: no user '${user}' in ${store.path}`, { hint: 'oxymail settings list shows the users.' });
  return s;
}

/** Adds `settings` and its sub-commands to the program. */
export function addSettingsCommands(cli: Command): void {
  const settings = cli
    .command('settings')
    .description("manage users' sending settings (the store: OXYMAIL_SETTINGS, or --store FILE)")
    .addHelpText(
      'after',
      `
Examples:
  $ oxymail settings set alice label="Alice Martin" email=alice@example.com customize=true protocol=smtp \\
      smtp.host=smtp.example.com smtp.port=587 smtp.username=alice@example.com
  $ printf '%s' "$PASSWORD" | oxymail settings set alice --password-stdin
  $ oxymail settings test alice --to me@example.com
  $ oxymail settings list --json`,
    );

  settings
    .command('list')
    .description('list the users (secrets masked)')
    .option('--json', 'print as JSON')
    .action(async (opts, cmd) => {
      const users = await storeFrom(cmd).list();
      print(
        opts.json,
        users,
        users.length
          ? table([['user', 'label', 'email', 'protocol', 'where'], ...users.map((u) => [u.userId, ...summary(u.settings)])])
          : 'No users yet: oxymail settings set USER key=value ...',
      );
    });

  settings
    .command('show <user>')
    .description("show one user's settings (secrets masked)")
    .option('--json', 'print as JSON')
    .action(async (user, opts, cmd) => {
      const listed = (await storeFrom(cmd).list()).find((u) => u.userId === user);
      if (!listed) throw new MailError('SETTINGS_NOT_FOUND', `settings: no user '${user}'`, { hint: 'oxymail settings list shows the users.' });
      print(opts.json, listed.settings, JSON.stringify(listed.settings, null, 2));
    });

  settings
    .command('set <user> [assignments...]')
    .description('create or change a user: key=value with dotted keys (smtp.port=587); validated before anything is written')
    .option('--password-stdin', 'read the password from stdin (smtp.password, or mapi.password for a MAPI user)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ oxymail settings set bob email=bob@example.com customize=true protocol=mapi mapi.profile=Outlook\n  $ oxymail settings set alice smtp.port=465 smtp.security=tls',
    )
    .action(async (user, assignments: string[], opts, cmd) => {
      if (!assignments.length && !opts.passwordStdin) throw usage('nothing to set: give key=value pairs or --password-stdin');
      const store = storeFrom(cmd);
      const next = structuredClone((await store.get(user)) ?? {}) as Record<string, unknown>;
      for (const a of assignments) setPath(next, ...parseAssignment(a));
      if (opts.passwordStdin) {
        const key = next.protocol === 'mapi' ? 'mapi.password' : 'smtp.password';
        setPath(next, key, await readStdin());
      }
      const saved = await store.set(user, next);
      print(false, null, `${green('saved')} ${user}: ${summary(saved).filter(Boolean).join(', ')} (${store.path})`);
    });

  settings
    .command('unset <user> <key>')
    .description('remove one setting (its default applies again)')
    .action(async (user, key, _opts, cmd) => {
      const store = storeFrom(cmd);
      const next = structuredClone(await required(store, user)) as unknown as Record<string, unknown>;
      setPath(next, key, undefined);
      await store.set(user, next);
      print(false, null, `${green('unset')} ${user}: ${key}`);
    });

  settings
    .command('remove <user>')
    .description('remove a user')
    .action(async (user, _opts, cmd) => {
      if (!(await storeFrom(cmd).remove(user))) throw new MailError('SETTINGS_NOT_FOUND', `settings: no user '${user}'`);
      print(false, null, `${green('removed')} ${user}`);
    });

  settings
    .command('export <user>')
    .description('print a user as an importable JSON file (secrets left out)')
    .action(async (user, _opts, cmd) => {
      const s = await required(storeFrom(cmd), user);
      print(true, { version: STORE_VERSION, users: { [user]: withoutSecrets(s) } }, '');
      process.stderr.write(`${yellow('note')}: passwords are not exported; an import keeps the ones already stored.\n`);
    });

  settings
    .command('import <file>')
    .description('add or replace the users of an export file; every user is validated before anything is written')
    .action(async (file, _opts, cmd) => {
      let text: string;
      try {
        text = await fs.readFile(file, 'utf8');
      } catch (err) {
        throw new MailError('INVALID_SETTINGS', `settings: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      }
      const doc = parseSettingsJson(text, file) as { users?: Record<string, Record<string, unknown>> };
      if (!doc.users || typeof doc.users !== 'object') throw new MailError('INVALID_SETTINGS', `settings: ${file} has no "users" object`);
      const store = storeFrom(cmd);
      for (const [user, s] of Object.entries(doc.users)) {
        const existing = (await store.get(user).catch(() => undefined)) as unknown as Record<string, unknown> | undefined;
        for (const p of SECRET_PATHS) {
          const kept = p.split('.').reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], existing);
          const given = p.split('.').reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], s);
          if (kept !== undefined && given === undefined) setPath(s, p, kept);
        }
      }
      const saved = await store.setMany(doc.users);
      print(false, null, `${green('imported')} ${Object.keys(saved).join(', ')}`);
    });

  settings
    .command('test <user>')
    .description("check a user's settings for real: connect, TLS, login (sends nothing), then optionally send a test message")
    .option('--to <address>', 'also send a test message to this address')
    .option('--json', 'print as JSON')
    .action(async (user, opts, cmd) => {
      const mailer = await storeFrom(cmd).mailerFor(user);
      try {
        progress(`Checking ${user} (${mailer.protocol})...`);
        const verified = await mailer.verify();
        const lines: string[] = [];
        if ('server' in verified) {
          lines.push(`${green('ok')} connected to ${verified.server} (${verified.protocol})`);
          lines.push(`${green('ok')} TLS: ${verified.tls}`);
          lines.push(verified.authenticatedAs ? `${green('ok')} authenticated as ${verified.authenticatedAs}` : `${yellow('--')} no login configured`);
        } else {
          lines.push(`${green('ok')} MAPI (${verified.interface}) is available on this machine`);
        }
        let dsn: boolean | undefined;
        if (mailer.protocol === 'smtp' && mailer.settings.smtp) {
          // What the server advertises decides which receipts can work (nodemailer drops DSN silently).
          const handshake = await smtpHandshake(mailer.settings.smtp);
          if (handshake.ok) {
            dsn = handshake.extensions.some((e) => /^DSN\b/i.test(e));
            lines.push(
              dsn
                ? `${green('ok')} the server offers DSN: delivery receipts will work`
                : `${yellow('--')} the server does not offer DSN: delivery receipts will not work (read receipts still can)`,
            );
          }
        }
        lines.push(`   read receipts: requested with Disposition-Notification-To; the recipient's mail client decides whether to send one`);
        for (const w of verified.warnings) lines.push(`${yellow('warn')} ${w.message}`);
        let sent;
        if (opts.to) {
          progress(`Sending a test message to ${opts.to}...`);
          sent = await mailer.send({
            to: opts.to,
            subject: `oxymail test (${user})`,
            text: `This is a test message sent with ${user}'s settings.`,
            readReceipt: true,
            deliveryReceipt: mailer.protocol !== 'mapi',
          });
          lines.push(`${green('ok')} test message sent to ${sent.accepted.join(', ')}${sent.messageId ? ` (${sent.messageId})` : ''}`);
          lines.push(`   read receipt: ${sent.receipts.read} (the recipient's mail client decides whether to send it)`);
          lines.push(
            `   delivery receipt: ${sent.receipts.delivery === 'unsupported-by-server' ? 'the server does not offer DSN: delivery receipts will not work' : sent.receipts.delivery}`,
          );
          for (const w of sent.warnings) lines.push(`${yellow('warn')} ${w.message}`);
        }
        print(opts.json, { user, verify: verified, dsnOffered: dsn, sent }, lines.join('\n'));
      } finally {
        mailer.close();
      }
    });
}
