#!/usr/bin/env node
/**
 * The `oxymail` command: send a message with a user's settings (or, with none, write it to the
 * local outbox), check settings, and show the capability matrix.
 */
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { checkAddress } from '../address';
import { capabilities, FEATURES, noteKey, ProtocolKey } from '../capabilities';
import { MailError } from '../errors';
import { format, text } from '../i18n';
import { IMPORTANCE_LEVELS } from '../importance';
import { Mailer, SendOptions } from '../mailer';
import { MailMessage, MESSAGE_LIMITS, validateMessage } from '../message';
import { validateSettings } from '../settings';
import { composeMail } from '../transports/compose';
import { listProfiles } from '../transports/mapi';
import { defaultOutboxDir, writeToOutbox } from '../transports/outbox';
import { DoctorOptions, formatDoctorReport, runDoctor } from '../doctor';
import { errorJson, print, progress, readStdinText, t, table, usage, writeErrorText } from './output';
import { countedAttachments } from './progress';
import { LocalCommand, localBuiltins } from './help';
import { addSettingsCommands, checkUser, examples, mailerFrom, readSettingsFile, storeFrom, userNotFound, userSource } from './settings-commands';
import { addAuthCommands } from './auth-commands';
import { addOutboxCommands } from './outbox-commands';

interface SendFlags {
  to?: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  text?: string;
  textFile?: string;
  htmlFile?: string;
  attach?: string[];
  importance?: MailMessage['importance'];
  readReceipt?: boolean;
  deliveryReceipt?: boolean;
  protocol?: SendOptions['protocol'];
  settings?: string;
  user?: string;
  outbox?: string;
  from?: string;
  dialog?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * The From of an outbox message when --from is not given: user@hostname, when that is a valid
 * address (a host name may hold an underscore, a user name a space), else a placeholder in the
 * reserved .invalid domain.
 */
export function defaultOutboxFrom(user: string, host: string): string {
  for (const candidate of [`${user}@${host}`, `${user}@localhost.invalid`]) if (!checkAddress(candidate)) return candidate;
  return 'oxymail@localhost.invalid';
}

/** Which file options read stdin ('-'): at most one may, stdin is read once. */
function checkStdinUse(uses: [string, string | undefined][]): void {
  const readers = uses.filter(([, v]) => v === '-').map(([flag]) => flag);
  if (readers.length > 1) throw usage(t('cli.usage.oneStdin', { options: readers.join(t('cli.and')) }));
}

async function readBody(flag: string, file: string): Promise<string> {
  if (file === '-') return readStdinText();
  try {
    // Opening a FIFO blocks until a writer comes (forever, on a libuv thread): only a regular
    // file is read, and one of sane size.
    const stat = await fs.stat(file);
    if (!stat.isFile()) {
      throw new MailError('INVALID_MESSAGE', text('INVALID_MESSAGE.bodyNotFile', { flag, file }), {
        hint: text('INVALID_MESSAGE.hint.bodyNotFile', { file }),
      });
    }
    if (stat.size > MESSAGE_LIMITS.body) {
      throw new MailError('MESSAGE_TOO_LARGE', text('MESSAGE_TOO_LARGE.bodyFile', { flag, file, size: stat.size, max: MESSAGE_LIMITS.body }), {
        hint: text('MESSAGE_TOO_LARGE.hint.bodyFile'),
      });
    }
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof MailError) throw err;
    throw new MailError('INVALID_MESSAGE', text('INVALID_MESSAGE.bodyFile', { flag, file, error: (err as NodeJS.ErrnoException).code ?? String(err) }));
  }
}

async function buildMessage(f: SendFlags): Promise<MailMessage> {
  if (f.text !== undefined && f.textFile !== undefined) throw usage(t('cli.usage.textOrFile'));
  if (f.text === undefined && f.textFile === undefined && f.htmlFile === undefined) {
    throw usage(t('cli.usage.body'));
  }
  checkStdinUse([
    ['--text-file', f.textFile],
    ['--html-file', f.htmlFile],
    ['--settings', f.settings],
  ]);
  const message: MailMessage = { to: f.to, cc: f.cc, bcc: f.bcc, subject: f.subject };
  if (f.text !== undefined) message.text = f.text;
  if (f.textFile !== undefined) message.text = await readBody('--text-file', f.textFile);
  if (f.htmlFile !== undefined) message.html = await readBody('--html-file', f.htmlFile);
  if (f.attach) message.attachments = f.attach.map((p) => ({ path: p }));
  if (f.importance) message.importance = f.importance;
  if (f.readReceipt) message.readReceipt = true;
  if (f.deliveryReceipt) message.deliveryReceipt = true;
  return message;
}

async function send(f: SendFlags, cmd: Command): Promise<void> {
  const message = await buildMessage(f);
  if (!userSource(f)) {
    if (f.protocol) throw usage(t('cli.usage.protocolNeedsSettings', { protocol: f.protocol }));
    const msg = await validateMessage(message);
    const from = f.from ?? defaultOutboxFrom(os.userInfo().username, os.hostname());
    const fromProblem = checkAddress(from);
    if (fromProblem) throw new MailError('INVALID_ADDRESS', text('INVALID_ADDRESS.outboxFrom', { problem: fromProblem }));
    const dir = f.outbox ?? defaultOutboxDir();
    const eff = { importance: msg.importance === 'normal' ? undefined : msg.importance, readReceipt: !!msg.readReceipt, deliveryReceipt: msg.deliveryReceipt };
    const written = await writeToOutbox(composeMail(msg, { from: { name: '', address: from }, receiptsTo: from }, eff, new Set()), dir);
    print(f.json, { outbox: written.path, messageId: written.messageId, sent: false }, t('cli.outbox.written', { path: written.path }));
    return;
  }
  if (f.from !== undefined) throw usage(t('cli.usage.from'));
  const mailer = (await mailerFrom(f, cmd)) as Mailer;
  try {
    // A progress bar for the attachments' bytes, on a terminal only (MAPI hands files to the mail client: no bar).
    const protocol = f.protocol ?? mailer.protocol;
    const bar = !f.json && process.stderr.isTTY && protocol !== 'mapi' ? await countedAttachments(message, process.stderr) : undefined;
    let result;
    try {
      result = await mailer.send(message, { protocol: f.protocol, dialog: f.dialog });
    } finally {
      bar?.finish();
    }
    const lines = [
      result.queued && !result.accepted.length
        ? t('cli.send.queued', { outboxId: result.outboxId ?? '', messageId: result.messageId ?? '' })
        : result.messageId
          ? t('cli.send.sentAs', { protocol: result.protocol, messageId: result.messageId })
          : t('cli.send.sent', { protocol: result.protocol }),
      t('cli.send.accepted', { list: result.accepted.join(', ') || t('cli.none') }),
      ...(result.rejected.length ? [t('cli.send.rejected', { list: result.rejected.join(', ') })] : []),
      ...(result.queued && result.accepted.length
        ? [t('cli.send.queuedFor', { list: result.queuedRecipients?.join(', ') ?? '', outboxId: result.outboxId ?? '' })]
        : []),
      t('cli.send.receipts', { read: result.receipts.read, delivery: result.receipts.delivery }),
      ...result.warnings.map((w) => `  ${t('cli.warning', { code: w.code, message: w.message })}`),
    ];
    print(f.json, result, lines.join('\n'));
  } finally {
    await mailer.close();
  }
}

/** verify()'s TLS in words: what the connection negotiated, never the policy alone. */
function tlsWords(r: { tls: 'implicit' | 'starttls' | 'none'; tlsProtocol: string | null; cipher: string | null }): string {
  if (r.tls === 'none') return t('cli.verify.noTls');
  const mode = r.tls === 'implicit' ? t('doctor.tls.mode.implicit') : 'STARTTLS';
  return `${r.tlsProtocol ?? 'TLS'} (${mode}${r.cipher ? `, ${r.cipher}` : ''})`;
}

async function verify(f: { settings?: string; user?: string; protocol?: SendOptions['protocol']; json?: boolean }, cmd: Command): Promise<void> {
  const mailer = (await mailerFrom(f, cmd, true)) as Mailer;
  try {
    const r = await mailer.verify({ protocol: f.protocol });
    const human =
      'server' in r
        ? t('cli.verify.smtp', {
            protocol: r.protocol,
            server: r.server,
            tls: tlsWords(r),
            login: r.authenticatedAs
              ? t(r.authMethod ? 'cli.verify.loggedInWith' : 'cli.verify.loggedIn', { user: r.authenticatedAs, method: r.authMethod })
              : t('cli.verify.noLogin'),
          })
        : t('cli.verify.mapi', { interface: r.interface });
    print(f.json, r, [human, ...r.warnings.map((w) => t('cli.warning', { code: w.code, message: w.message }))].join('\n'));
  } finally {
    mailer.close();
  }
}

function showCapabilities(f: { protocol?: ProtocolKey | 'mapi'; json?: boolean }): void {
  const matrix = capabilities();
  // 'mapi' is how send and verify name it: both of its interfaces.
  const columns = (f.protocol === 'mapi' ? ['mapi-simple', 'mapi-extended'] : f.protocol ? [f.protocol] : Object.keys(matrix)) as ProtocolKey[];
  if (f.json) return print(true, columns.length === 1 ? matrix[columns[0]] : Object.fromEntries(columns.map((c) => [c, matrix[c]])), '');
  const rows = [
    [t('cli.capabilities.option'), ...columns],
    ...FEATURES.map((feat) => [feat, ...columns.map((c) => (matrix[c][feat].supported ? t('cli.yes') : t('cli.no')))]),
  ];
  const notes = columns.flatMap((c) => FEATURES.filter((feat) => matrix[c][feat].note).map((feat) => `  ${c} ${feat}: ${format(text(noteKey(c, feat)))}`));
  print(false, null, `${table(rows)}\n\n${t('cli.capabilities.notes')}\n${notes.join('\n')}`);
}

/** Builds the command line program (exported so tests may drive it in-process). */
export function program(): Command {
  // The help and Commander's own errors in the language of this run (--lang is already taken: takeLang).
  const cli = localBuiltins(new LocalCommand('oxymail'))
    .description(t('cli.help.oxymail'))
    .version(packageVersion(), '-V, --version', t('cli.help.version'))
    .option('--store <file>', t('cli.help.store'))
    .option('--lang <lang>', t('cli.help.lang'))
    .exitOverride()
    .addHelpText(
      'after',
      examples(
        'oxymail send --to bob@example.com --subject "Invoice" --text "Hello"',
        'oxymail settings set alice email=alice@example.com customize=true protocol=smtp smtp.host=smtp.example.com',
        'oxymail doctor --user alice',
      ) + `\n\n${t('cli.help.oxymail.after')}`,
    );
  cli
    .command('send')
    .description(t('cli.help.send'))
    .requiredOption('--to <address>', t('cli.help.send.to'), collect)
    .option('--cc <address>', t('cli.help.send.cc'), collect)
    .option('--bcc <address>', t('cli.help.send.bcc'), collect)
    .requiredOption('--subject <text>', t('cli.help.send.subject'))
    .option('--text <text>', t('cli.help.send.text'))
    .option('--text-file <file>', t('cli.help.send.textFile'))
    .option('--html-file <file>', t('cli.help.send.htmlFile'))
    .option('--attach <file>', t('cli.help.send.attach'), collect)
    .addOption(new Option('--importance <level>', t('cli.help.send.importance')).choices([...IMPORTANCE_LEVELS]))
    .option('--read-receipt', t('cli.help.send.readReceipt'))
    .option('--delivery-receipt', t('cli.help.send.deliveryReceipt'))
    .option('--dialog', t('cli.help.send.dialog'))
    .addOption(new Option('--protocol <protocol>', t('cli.help.send.protocol')).choices(['managed', 'smtp', 'mapi']))
    .option('--user <user>', t('cli.help.send.user'))
    .option('--settings <file>', t('cli.help.send.settings'))
    .option('--outbox <dir>', t('cli.help.send.outbox', { dir: defaultOutboxDir() }))
    .option('--from <address>', t('cli.help.send.from'))
    .option('--json', t('cli.help.json.result'))
    .addHelpText(
      'after',
      examples(
        'oxymail send --to bob@example.com --subject "Invoice" --text "Hello"',
        `oxymail send --settings alice.json --to bob@example.com --cc carol@example.com \\
      --subject "Facture n° 12" --text-file body.txt --attach facture.pdf --importance high --read-receipt`,
        'oxymail send --user alice --to bob@example.com --subject "Relance" --text "Bonjour" --delivery-receipt',
        'generate-letter | oxymail send --user alice --to bob@example.com --subject "Relance" --text-file -',
      ) + `\n\n${t('cli.help.send.after')}`,
    )
    .action(send);
  cli
    .command('verify')
    .description(t('cli.help.verify'))
    .option('--user <user>', t('cli.help.verify.user'))
    .option('--settings <file>', t('cli.help.settingsFile'))
    .addOption(new Option('--protocol <protocol>', t('cli.help.verify.protocol')).choices(['managed', 'smtp', 'mapi']))
    .option('--json', t('cli.help.json.result'))
    .addHelpText(
      'after',
      examples('oxymail verify --user alice', 'oxymail verify --settings alice.json --protocol smtp --json') + `\n\n${t('cli.help.verify.after')}`,
    )
    .action(verify);
  cli
    .command('capabilities')
    .description(t('cli.help.capabilities'))
    .addOption(new Option('--protocol <protocol>', t('cli.help.capabilities.protocol')).choices(['managed', 'smtp', 'mapi', 'mapi-simple', 'mapi-extended']))
    .option('--json', t('cli.help.json'))
    .addHelpText('after', examples('oxymail capabilities', 'oxymail capabilities --protocol mapi', 'oxymail capabilities --protocol smtp --json'))
    .action(showCapabilities);
  const mapi = cli.command('mapi').description(t('cli.help.mapi')).addHelpText('after', examples('oxymail mapi profiles'));
  mapi
    .command('profiles')
    .description(t('cli.help.mapi.profiles'))
    .option('--json', t('cli.help.json'))
    .addHelpText('after', examples('oxymail mapi profiles', 'oxymail mapi profiles --json'))
    .action(async (opts: { json?: boolean }) => {
      const profiles = await listProfiles();
      print(
        opts.json,
        profiles,
        profiles.length
          ? table([[t('cli.profiles.profile'), t('cli.profiles.default')], ...profiles.map((p) => [p.name, p.isDefault ? t('cli.yes') : ''])])
          : t('cli.profiles.none'),
      );
    });
  cli
    .command('doctor')
    .description(t('cli.help.doctor'))
    .option('--user <user>', t('cli.help.doctor.user'))
    .option('--settings <file>', t('cli.help.doctor.settings'))
    .option('--json', t('cli.help.doctor.json'))
    .addHelpText('after', examples('oxymail doctor', 'oxymail doctor --user alice --json', 'oxymail doctor --settings alice.json'))
    .action(async (opts: { user?: string; settings?: string; json?: boolean }, cmd: Command) => {
      const store = storeFrom(cmd);
      const options: DoctorOptions = { storePath: store.path };
      userSource(opts);
      if (opts.settings) {
        try {
          options.settings = validateSettings(await readSettingsFile(opts.settings));
        } catch (err) {
          if (!(err instanceof MailError) || err.code !== 'INVALID_SETTINGS') throw err;
          options.settingsError = err;
        }
      } else if (opts.user) {
        try {
          const found = await store.getReadable(checkUser(opts.user));
          if (!found) {
            throw userNotFound(opts.user, store);
          }
          // A secret that cannot be opened here is a FAIL line; the machine is still checked.
          options.settings = found.settings;
          options.unreadableSecrets = found.unreadable;
          options.userId = opts.user;
          // OAuth2: the store's token source, which saves a rotated refresh token.
          if (found.settings.smtp?.oauth2 && !found.unreadable.some((u) => u.path.startsWith('smtp.oauth2.'))) {
            options.tokenSource = await store.tokenSourceFor(opts.user);
          }
        } catch (err) {
          if (!(err instanceof MailError) || err.code !== 'INVALID_SETTINGS') throw err;
          options.settingsError = err;
        }
      }
      progress(t('cli.doctor.checking'));
      const report = await runDoctor(options);
      if (opts.json) print(true, report, '');
      else process.stdout.write(formatDoctorReport(report, { color: !!process.stdout.isTTY && !process.env.NO_COLOR }));
      if (report.failed) process.exitCode = 1;
    });
  addSettingsCommands(cli);
  addOutboxCommands(cli);
  addAuthCommands(cli);
  for (const c of allCommands(cli)) {
    // One line for a usage error, then where the whole story is: never the whole help.
    c.configureOutput({ outputError: (text, write) => write(`${text.trimEnd()}\n${seeHelp(c)}\n`) });
    c.hook('preAction', (_self, action) => {
      running = action;
    });
  }
  return cli;
}

/**
 * `--lang fr` / `--lang=fr` anywhere before a `--`: the language of every line this run prints
 * (it sets OXYMAIL_LANG for this process), taken out before the commands parse the rest.
 */
export function takeLang(argv: string[]): string[] {
  const out = argv.slice(0, 2);
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (a === '--lang' && i + 1 < args.length) process.env.OXYMAIL_LANG = args[++i];
    else if (a.startsWith('--lang=')) process.env.OXYMAIL_LANG = a.slice('--lang='.length);
    else out.push(a);
  }
  return out;
}

/** The command whose action runs (for the "see --help" line of a usage error it raises). */
let running: Command | undefined;

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap(allCommands)];
}

function commandPath(c: Command): string {
  const names: string[] = [];
  for (let at: Command | null = c; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}

const seeHelp = (c: Command) => t('cli.seeHelp', { command: commandPath(c) });

/** The package's version, from the package.json next to dist/. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** True when --json was given (before a `--`): errors are then also printed as JSON on stdout. */
function wantsJson(argv: string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/**
 * Runs the CLI; resolves with the exit code (0 ok, 1 failure, 2 usage error). An error goes to
 * stderr as text; with --json it is also printed on stdout as `{ "error": { code, message, hint } }`.
 */
export async function main(argv: string[]): Promise<number> {
  argv = takeLang(argv);
  const json = wantsJson(argv);
  running = undefined;
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      // Commander has printed its own errors already; ours (oxymail.usage) are printed here.
      if (err.code === 'oxymail.usage') process.stderr.write(`${t('cli.error', { message: err.message })}\n${running ? `${seeHelp(running)}\n` : ''}`);
      if (json) print(true, errorJson(err), '');
      return 2;
    }
    writeErrorText(err);
    if (json) print(true, errorJson(err), '');
    return 1;
  }
}

/**
 * A reader that went away (`oxymail --help | head -1`) is not an error of the command: further output
 * is dropped and the command finishes (a send still completes), instead of dying on EPIPE.
 */
function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

if (require.main === module) {
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(process.stderr);
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
