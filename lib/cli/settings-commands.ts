/**
 * `oxymail settings ...`: the administrator's view of the settings store.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { MailError } from '../errors';
import { format, text } from '../i18n';
import { createMailer, Mailer } from '../mailer';
import { MASK, parseSettingsJson, SECRET_PATHS, settingKind, unknownSettingText, UserMailSettings, validateSettings } from '../settings';
import { canonical, getPath, isObject, Obj as Node, setPath } from '../store/paths';
import { openSettingsStore, SettingsStore, STORE_VERSION, userIdProblem } from '../store/store';
import { green, print, progress, readSecret, readStdinText, t, table, usage, yellow } from './output';
import { testUser } from './test-command';

/** The store named by the global --store option (else OXYMAIL_SETTINGS or the default path). */
export function storeFrom(cmd: Command): SettingsStore {
  return openSettingsStore(cmd.optsWithGlobals().store, {
    onLockWait: (holder) => progress(t('cli.lockWait', { holder })),
  });
}

/**
 * A JSON file of settings (a user's, or an export), comments allowed; '-' reads stdin (a pipe from a
 * secrets manager). INVALID_SETTINGS when it cannot be read or parsed; the error never quotes the text.
 */
export async function readSettingsFile(file: string): Promise<unknown> {
  let content: string;
  try {
    content = file === '-' ? await readStdinText() : await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.cannotRead', { file, error: (err as NodeJS.ErrnoException).code ?? String(err) }));
  }
  return parseSettingsJson(content, file === '-' ? 'stdin' : file, { comments: true });
}

/** Where a command takes the user's settings from: --user (the store) or --settings (a file); a usage error for both. */
export function userSource(f: { user?: string; settings?: string }): 'user' | 'settings' | undefined {
  if (f.user !== undefined && f.settings !== undefined) throw usage(t('cli.usage.userOrSettings'));
  return f.user !== undefined ? 'user' : f.settings !== undefined ? 'settings' : undefined;
}

/**
 * A settings file is not written back: when the provider rotates the refresh token, say that the
 * file's one may stop working (the store, --user, saves it).
 */
function rotatedInFile(file: string) {
  return () => {
    process.stderr.write(`${t('cli.rotatedInFile', { file })}\n`);
  };
}

/** The mailer for --user or --settings; with `required`, a usage error when neither is given. */
export async function mailerFrom(f: { user?: string; settings?: string }, cmd: Command, required = false): Promise<Mailer | undefined> {
  const source = userSource(f);
  if (!source && required) throw usage(t('cli.usage.whichUser'));
  if (source === 'user') return storeFrom(cmd).mailerFor(checkUser(f.user as string));
  if (source === 'settings') return createMailer((await readSettingsFile(f.settings as string)) as object, { onTokens: rotatedInFile(f.settings as string) });
  return undefined;
}

/** A user id from the command line, or a usage error. */
export function checkUser(user: string): string {
  const problem = userIdProblem(user);
  if (problem) throw usage(problem);
  return user;
}

/** SETTINGS_NOT_FOUND for a user id the store does not hold. */
export function userNotFound(user: string, store: SettingsStore): MailError {
  return new MailError('SETTINGS_NOT_FOUND', text('SETTINGS_NOT_FOUND', { user, file: store.path }), { hint: text('SETTINGS_NOT_FOUND.hint.list') });
}

/**
 * What a dotted key names: one setting ('leaf'), a group of settings ('section': smtp, smtp.tls)
 * or nothing. Names every object inherits (constructor, __proto__) are nothing, whatever the
 * schema lookup says; a group is told from an unknown name by the validator itself.
 */
export function keyKind(key: string): 'leaf' | 'section' | undefined {
  const parts = key.split('.');
  if (parts.some((k) => !/^[A-Za-z][A-Za-z0-9]*$/.test(k) || k in Object.prototype)) return undefined;
  if (settingKind(key)) return 'leaf';
  const probe: Node = {};
  parts.reduce<Node>((n, k, i) => (n[k] = i === parts.length - 1 ? null : {}) as Node, probe);
  try {
    validateSettings(probe);
  } catch (err) {
    if (err instanceof MailError && err.problems?.some((p) => p.path === key && p.message === format(text('INVALID_SETTINGS.object')))) return 'section';
  }
  return undefined;
}

function unknownKey(key: string): never {
  // "unknown setting 'smtp.prot'; did you mean smtp.port? (the smtp keys: ...)".
  throw usage(format(unknownSettingText(key, true)));
}

/** `smtp.port=587` -> ['smtp.port', 587], typed by the settings schema; a usage error for anything but a known, non-secret setting. */
export function parseAssignment(arg: string): [string, unknown] {
  const eq = arg.indexOf('=');
  if (eq < 1) throw usage(t('cli.usage.notAssignment', { arg }));
  const key = arg.slice(0, eq);
  const raw = arg.slice(eq + 1);
  const kind = keyKind(key);
  if (kind === 'section') throw usage(t('cli.usage.section', { key }));
  if (!kind) unknownKey(key);
  if (SECRET_PATHS.includes(key)) {
    throw usage(t('cli.usage.secretOnCommandLine', { key }));
  }
  const type = settingKind(key);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return [key, raw === 'true'];
  if (type === 'number' && /^\d+$/.test(raw)) return [key, Number(raw)];
  return [key, raw];
}

function withoutSecrets(s: UserMailSettings): UserMailSettings {
  const copy = structuredClone(s) as unknown as Node;
  for (const p of SECRET_PATHS) setPath(copy, p, undefined);
  return copy as unknown as UserMailSettings;
}

function summary(s: UserMailSettings): string[] {
  const protocol = s.customize ? (s.protocol ?? '?') : 'managed';
  const where =
    protocol === 'smtp'
      ? `${s.smtp?.host}:${s.smtp?.port}`
      : protocol === 'mapi'
        ? t('cli.settings.profile', { profile: s.mapi?.profile || t('cli.settings.defaultProfile') })
        : t('cli.settings.suiteRelay');
  return [s.label ?? '', s.email ?? '', protocol, where];
}

/** Every setting as a `key  value` row, secrets masked (they are already), long texts shortened. */
function settingRows(s: UserMailSettings): string[][] {
  const rows: string[][] = [];
  const walk = (node: unknown, prefix: string) => {
    if (isObject(node)) {
      for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k);
      return;
    }
    const text = String(node);
    const lines = text.split(/\r?\n/).filter(Boolean);
    rows.push([prefix, lines.length > 1 ? t('cli.settings.lines', { first: lines[0], count: lines.length }) : text]);
  };
  walk(s, '');
  return rows;
}

const SECRET_CHOICES = SECRET_PATHS.join(', ');

/** The examples block of a command's help. */
export function examples(...lines: string[]): string {
  return `\n${t('cli.help.examples')}\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

/** Adds `settings` and its sub-commands to the program. */
export function addSettingsCommands(cli: Command): void {
  const settings = cli
    .command('settings')
    .description(t('cli.help.settings'))
    .addHelpText(
      'after',
      examples(
        'oxymail settings list',
        `printf '%s' "$PASSWORD" | oxymail settings set alice label="Alice Martin" email=alice@example.com customize=true \\
      protocol=smtp smtp.host=smtp.example.com smtp.port=587 smtp.username=alice@example.com --password-stdin`,
        'oxymail settings set alice --password-stdin      # a new password, prompted on a terminal',
        'oxymail settings test alice --to me@example.com',
      ),
    );

  settings
    .command('list')
    .description(t('cli.help.settings.list'))
    .option('--json', t('cli.help.json'))
    .addHelpText('after', examples('oxymail settings list', 'oxymail settings list --json'))
    .action(async (opts, cmd) => {
      const users = await storeFrom(cmd).list();
      print(
        opts.json,
        users,
        users.length
          ? table([
              [t('cli.settings.user'), t('cli.settings.label'), t('cli.settings.email'), t('cli.settings.protocol'), t('cli.settings.where')],
              ...users.map((u) => [u.userId, ...summary(u.settings)]),
            ])
          : t('cli.settings.noUsers'),
      );
    });

  settings
    .command('show')
    .argument('<user>', t('cli.help.arg.user'))
    .description(t('cli.help.settings.show'))
    .option('--json', t('cli.help.json'))
    .addHelpText('after', examples('oxymail settings show alice', 'oxymail settings show alice --json'))
    .action(async (user, opts, cmd) => {
      const store = storeFrom(cmd);
      const s = await store.get(checkUser(user), { secrets: 'mask' });
      if (!s) throw userNotFound(user, store);
      print(opts.json, s, table([[t('cli.settings.setting'), t('cli.settings.value')], ...settingRows(s)]));
    });

  settings
    .command('set')
    .argument('<user>', t('cli.help.arg.user'))
    .argument('[assignments...]', t('cli.help.arg.assignments'))
    .description(t('cli.help.settings.set'))
    .option('--password-stdin', t('cli.help.settings.set.passwordStdin'))
    .option('--secret-stdin <key>', t('cli.help.settings.set.secretStdin', { choices: SECRET_CHOICES }))
    .option('--json', t('cli.help.settings.set.json'))
    .addHelpText(
      'after',
      examples(
        'oxymail settings set bob email=bob@example.com customize=true protocol=mapi mapi.profile=Outlook',
        'oxymail settings set alice smtp.port=465 smtp.security=tls',
        `printf '%s' "$PASSWORD" | oxymail settings set alice --password-stdin`,
        `printf '%s' "$TOKEN" | oxymail settings set alice smtp.username=alice@contoso.com --secret-stdin smtp.accessToken`,
      ) + `\n\n${t('cli.help.settings.set.after')}`,
    )
    .action(async (user, assignments: string[], opts, cmd) => {
      checkUser(user);
      if (opts.passwordStdin && opts.secretStdin) throw usage(t('cli.usage.passwordOrSecret'));
      if (opts.secretStdin !== undefined && !SECRET_PATHS.includes(opts.secretStdin)) {
        throw usage(t('cli.usage.secretChoice', { choices: SECRET_CHOICES, given: opts.secretStdin }));
      }
      const changes = assignments.map(parseAssignment);
      const readsSecret = opts.passwordStdin || opts.secretStdin !== undefined;
      if (!changes.length && !readsSecret) throw usage(t('cli.usage.nothingToSet'));
      // Read before taking the lock: a person typing at a prompt must not block other writers.
      let secret: string | undefined;
      if (readsSecret) {
        secret = await readSecret(
          opts.secretStdin ? t('cli.settings.secretPrompt', { secret: opts.secretStdin, user }) : t('cli.settings.passwordPrompt', { user }),
        );
        if (!secret) throw usage(t('cli.usage.emptySecret'));
      }
      const store = storeFrom(cmd);
      const saved = await store.update(user, (current) => {
        const next = (current ?? {}) as Node;
        for (const [key, value] of changes) setPath(next, key, value);
        if (secret !== undefined) {
          const key = opts.secretStdin ?? (next.protocol === 'mapi' ? 'mapi.password' : 'smtp.password');
          setPath(next, key, secret);
        }
        return next;
      });
      print(
        opts.json,
        { user, settings: saved, store: store.path },
        `${green(t('cli.settings.saved'))} ${t('cli.labelled', { label: user, text: `${summary(saved).filter(Boolean).join(', ')} (${store.path})` })}`,
      );
    });

  settings
    .command('unset')
    .argument('<user>', t('cli.help.arg.user'))
    .argument('<keys...>', t('cli.help.arg.keys'))
    .description(t('cli.help.settings.unset'))
    .option('--json', t('cli.help.json.result'))
    .addHelpText('after', examples('oxymail settings unset alice smtp.port', 'oxymail settings unset alice smtp.tls.ca smtp.tls.servername'))
    .action(async (user, keys: string[], opts, cmd) => {
      checkUser(user);
      for (const key of keys) if (!keyKind(key)) unknownKey(key);
      const store = storeFrom(cmd);
      // The change sees the settings as validated, defaults filled in (and `set` stores them too):
      // a key counts as unset only when the saved value differs from the one before.
      const before = new Map<string, string | undefined>();
      const saved = await store.update(user, (current) => {
        if (!current) throw userNotFound(user, store);
        const next = current as unknown as Node;
        for (const key of keys) {
          before.set(key, canonical(getPath(next, key)));
          setPath(next, key, undefined);
        }
        return next;
      });
      const notSet = keys.filter((k) => before.get(k) === undefined || before.get(k) === canonical(getPath(saved, k)));
      const unset = keys.filter((k) => !notSet.includes(k));
      print(
        opts.json,
        { user, unset, notSet },
        [
          ...(unset.length ? [`${green(t('cli.settings.unset'))} ${t('cli.labelled', { label: user, text: unset.join(', ') })}`] : []),
          ...notSet.map((k) =>
            before.get(k) === undefined
              ? t('cli.labelled', { label: yellow(t('cli.note')), text: t('cli.settings.notSet', { key: k, user }) })
              : t('cli.labelled', { label: yellow(t('cli.note')), text: t('cli.settings.default', { key: k, user }) }),
          ),
        ].join('\n'),
      );
    });

  settings
    .command('remove')
    .argument('<user>', t('cli.help.arg.user'))
    .description(t('cli.help.settings.remove'))
    .option('--json', t('cli.help.json.result'))
    .addHelpText('after', examples('oxymail settings remove bob'))
    .action(async (user, opts, cmd) => {
      const store = storeFrom(cmd);
      if (!(await store.remove(checkUser(user)))) throw userNotFound(user, store);
      print(opts.json, { user, removed: true }, `${green(t('cli.settings.removed'))} ${user}`);
    });

  settings
    .command('export')
    .argument('<user>', t('cli.help.arg.user'))
    .description(t('cli.help.settings.export'))
    .option('--json', t('cli.help.settings.export.json'))
    .addHelpText('after', examples('oxymail settings export alice > alice.json'))
    .action(async (user, _opts, cmd) => {
      const store = storeFrom(cmd);
      const s = await store.get(checkUser(user), { secrets: 'mask' });
      if (!s) throw userNotFound(user, store);
      print(true, { version: STORE_VERSION, users: { [user]: withoutSecrets(s) } }, '');
      process.stderr.write(`${t('cli.labelled', { label: yellow(t('cli.note')), text: t('cli.settings.noSecretsExported') })}\n`);
    });

  settings
    .command('import')
    .argument('<file>', t('cli.help.arg.importFile'))
    .description(t('cli.help.settings.import'))
    .option('--id <user>', t('cli.help.settings.import.id'))
    .option('--json', t('cli.help.json.result'))
    .addHelpText(
      'after',
      examples(
        'oxymail settings import users-export.json',
        'oxymail settings import alice.json --id alice',
        'oxymail settings import - --id alice < alice.json',
      ) + `\n\n${t('cli.help.settings.import.after')}`,
    )
    .action(async (file, opts, cmd) => {
      let doc = (await readSettingsFile(file)) as Node;
      const id = opts.id === undefined ? undefined : checkUser(opts.id);
      if (isObject(doc) && !Object.hasOwn(doc, 'users')) {
        // One user's settings (the file the README has you write for --settings).
        if (id === undefined) throw usage(t('cli.usage.singleUser', { file }));
        doc = { version: STORE_VERSION, users: { [id]: doc } };
      }
      if (!isObject(doc) || !isObject(doc.users)) throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.noUsers', { file }));
      let incoming = doc.users;
      if (id !== undefined) {
        if (!Object.hasOwn(incoming, id)) {
          throw new MailError('SETTINGS_NOT_FOUND', text('SETTINGS_NOT_FOUND.import', { file, id, users: Object.keys(incoming).join(', ') || t('cli.none') }));
        }
        incoming = { [id]: incoming[id] };
      }
      if (Object.hasOwn(doc, 'version') && !(Number.isInteger(doc.version) && (doc.version as number) >= 1 && (doc.version as number) <= STORE_VERSION)) {
        throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.importVersion', { file, version: JSON.stringify(doc.version), max: STORE_VERSION }));
      }
      const saved = await storeFrom(cmd).updateMany((current) => {
        // A secret an export left out keeps the stored one (the mask means "keep"), in one locked write.
        for (const [user, s] of Object.entries(incoming)) {
          if (!isObject(s) || !Object.hasOwn(current, user)) continue;
          for (const p of SECRET_PATHS) {
            const section = p.slice(0, p.lastIndexOf('.'));
            if (getPath(current[user], p) !== undefined && getPath(s, p) === undefined && isObject(getPath(s, section))) setPath(s, p, MASK);
          }
        }
        return incoming;
      });
      print(opts.json, { imported: Object.keys(saved) }, `${green(t('cli.settings.imported'))} ${Object.keys(saved).join(', ')}`);
    });

  settings
    .command('test')
    .argument('[user]', t('cli.help.arg.testUser'))
    .description(t('cli.help.settings.test'))
    .option('--user <user>', t('cli.help.settings.test.user'))
    .option('--settings <file>', t('cli.help.settings.test.settings'))
    .option('--to <address>', t('cli.help.settings.test.to'))
    .option('--json', t('cli.help.json'))
    .addHelpText(
      'after',
      examples('oxymail settings test alice', 'oxymail settings test --settings alice.json', 'oxymail settings test alice --to me@example.com --json'),
    )
    .action(async (user: string | undefined, opts, cmd) => {
      if (user !== undefined && opts.user !== undefined && user !== opts.user) throw usage(t('cli.usage.twoUsers', { user, option: opts.user }));
      const source = { user: user ?? opts.user, settings: opts.settings };
      const mailer = (await mailerFrom(source, cmd, true)) as Mailer;
      return testUser(mailer, source.user ?? path.basename(String(source.settings)), opts);
    });
}
