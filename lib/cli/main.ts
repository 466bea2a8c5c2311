#!/usr/bin/env node
/**
 * The `oxymail` command: send a message with a user's settings (or, with none, write it to the
 * local outbox), check settings, and show the capability matrix.
 */
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command, CommanderError, Help, Option } from 'commander';
import { checkAddress } from '../address';
import { capabilities, FEATURES, ProtocolKey } from '../capabilities';
import { MailError } from '../errors';
import { IMPORTANCE_LEVELS } from '../importance';
import { Mailer, SendOptions } from '../mailer';
import { MailMessage, MESSAGE_LIMITS, validateMessage } from '../message';
import { validateSettings } from '../settings';
import { composeMail } from '../transports/compose';
import { listProfiles } from '../transports/mapi';
import { defaultOutboxDir, writeToOutbox } from '../transports/outbox';
import { DoctorOptions, formatDoctorReport, runDoctor } from '../doctor';
import { errorJson, print, progress, readStdinText, table, usage, writeErrorText } from './output';
import { countedAttachments } from './progress';
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
  if (readers.length > 1) throw usage(`only one option can read stdin ('-'): ${readers.join(' and ')} both ask for it`);
}

async function readBody(flag: string, file: string): Promise<string> {
  if (file === '-') return readStdinText();
  try {
    // Opening a FIFO blocks until a writer comes (forever, on a libuv thread): only a regular
    // file is read, and one of sane size.
    const stat = await fs.stat(file);
    if (!stat.isFile()) {
      throw new MailError('INVALID_MESSAGE', `send: ${flag} ${file}: not a regular file (a pipe, a device or a folder); nothing was sent`, {
        hint: `Give a file; to pass text from a pipe, use --text "$(cat ${file})".`,
      });
    }
    if (stat.size > MESSAGE_LIMITS.body) {
      throw new MailError('MESSAGE_TOO_LARGE', `send: ${flag} ${file}: ${stat.size} bytes, over ${MESSAGE_LIMITS.body}; nothing was sent`, {
        hint: 'Send a large document as an attachment (--attach).',
      });
    }
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof MailError) throw err;
    throw new MailError('INVALID_MESSAGE', `send: ${flag} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? err}); nothing was sent`);
  }
}

async function buildMessage(f: SendFlags): Promise<MailMessage> {
  if (f.text !== undefined && f.textFile !== undefined) throw usage('use either --text or --text-file, not both');
  if (f.text === undefined && f.textFile === undefined && f.htmlFile === undefined) {
    throw usage('the message needs a body: --text TEXT, --text-file FILE or --html-file FILE');
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
    if (f.protocol) throw usage(`--protocol ${f.protocol} needs the user's settings (--user USER or --settings FILE)`);
    const msg = await validateMessage(message);
    const from = f.from ?? defaultOutboxFrom(os.userInfo().username, os.hostname());
    const fromProblem = checkAddress(from);
    if (fromProblem) throw new MailError('INVALID_ADDRESS', `send (outbox): --from: ${fromProblem}; nothing was written`);
    const dir = f.outbox ?? defaultOutboxDir();
    const eff = { importance: msg.importance === 'normal' ? undefined : msg.importance, readReceipt: !!msg.readReceipt, deliveryReceipt: msg.deliveryReceipt };
    const written = await writeToOutbox(composeMail(msg, { from: { name: '', address: from }, receiptsTo: from }, eff, new Set()), dir);
    print(
      f.json,
      { outbox: written.path, messageId: written.messageId, sent: false },
      [
        `No settings given: nothing was sent. The message was composed and written to the local outbox:`,
        `  ${written.path}`,
        `Open it with any mail client to check it. To really send, give the user's settings:`,
        `  oxymail settings set USER email=... customize=true protocol=smtp smtp.host=...   then   oxymail send --user USER ...`,
        `  or: oxymail send --settings user.json ...   (see README: "The settings model")`,
      ].join('\n'),
    );
    return;
  }
  if (f.from !== undefined) throw usage('--from is for outbox messages only: with settings, the sender is the user (email, smtp.senderName)');
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
        ? `Not sent yet: queued in the outbox as ${result.outboxId} (${result.messageId}); it is sent again later (oxymail outbox flush).`
        : `Sent by ${result.protocol}${result.messageId ? ` as ${result.messageId}` : ''}.`,
      `  accepted: ${result.accepted.join(', ') || '(none)'}`,
      ...(result.rejected.length ? [`  rejected: ${result.rejected.join(', ')}`] : []),
      ...(result.queued && result.accepted.length ? [`  queued for later: ${result.queuedRecipients?.join(', ')} (outbox entry ${result.outboxId})`] : []),
      `  read receipt: ${result.receipts.read}; delivery receipt: ${result.receipts.delivery}`,
      ...result.warnings.map((w) => `  warning [${w.code}]: ${w.message}`),
    ];
    print(f.json, result, lines.join('\n'));
  } finally {
    await mailer.close();
  }
}

/** verify()'s TLS in words: what the connection negotiated, never the policy alone. */
function tlsWords(r: { tls: 'implicit' | 'starttls' | 'none'; tlsProtocol: string | null; cipher: string | null }): string {
  if (r.tls === 'none') return 'no TLS (the session stayed unencrypted)';
  return `${r.tlsProtocol ?? 'TLS'} (${r.tls === 'implicit' ? 'implicit TLS' : 'STARTTLS'}${r.cipher ? `, ${r.cipher}` : ''})`;
}

async function verify(f: { settings?: string; user?: string; protocol?: SendOptions['protocol']; json?: boolean }, cmd: Command): Promise<void> {
  const mailer = (await mailerFrom(f, cmd, true)) as Mailer;
  try {
    const r = await mailer.verify({ protocol: f.protocol });
    const human =
      'server' in r
        ? `OK: ${r.protocol} ${r.server}, ${tlsWords(r)}, ${r.authenticatedAs ? `logged in as ${r.authenticatedAs}${r.authMethod ? ` (${r.authMethod})` : ''}` : 'no login'}`
        : `OK: MAPI (${r.interface}) is available`;
    print(f.json, r, [human, ...r.warnings.map((w) => `warning [${w.code}]: ${w.message}`)].join('\n'));
  } finally {
    mailer.close();
  }
}

function showCapabilities(f: { protocol?: ProtocolKey | 'mapi'; json?: boolean }): void {
  const matrix = capabilities();
  // 'mapi' is how send and verify name it: both of its interfaces.
  const columns = (f.protocol === 'mapi' ? ['mapi-simple', 'mapi-extended'] : f.protocol ? [f.protocol] : Object.keys(matrix)) as ProtocolKey[];
  if (f.json) return print(true, columns.length === 1 ? matrix[columns[0]] : Object.fromEntries(columns.map((c) => [c, matrix[c]])), '');
  const rows = [['option', ...columns], ...FEATURES.map((feat) => [feat, ...columns.map((c) => (matrix[c][feat].supported ? 'yes' : 'no'))])];
  const notes = columns.flatMap((c) => FEATURES.filter((feat) => matrix[c][feat].note).map((feat) => `  ${c} ${feat}: ${matrix[c][feat].note}`));
  print(false, null, `${table(rows)}\n\nNotes:\n${notes.join('\n')}`);
}

/** Builds the command line program (exported so tests may drive it in-process). */
export function program(): Command {
  const cli = new Command('oxymail')
    .description('Send e-mail on behalf of a user: managed relay, SMTP, or the Windows mail client (MAPI)')
    .version(packageVersion(), '-V, --version', 'print the version of oxymail')
    .option('--store <file>', 'the settings store (default: OXYMAIL_SETTINGS, or the per-user config folder)')
    .exitOverride()
    .configureHelp({ optionDescription: markRequired })
    .addHelpText(
      'after',
      examples(
        'oxymail send --to bob@example.com --subject "Invoice" --text "Hello"',
        'oxymail settings set alice email=alice@example.com customize=true protocol=smtp smtp.host=smtp.example.com',
        'oxymail doctor --user alice',
      ) + '\n\nEvery command takes --json for scripts. Exit codes: 0 ok, 1 failure, 2 usage error.',
    );
  cli
    .command('send')
    .description("send a message with the user's settings; with no --settings, write it to the local outbox")
    .requiredOption('--to <address>', 'recipient (repeat for several)', collect)
    .option('--cc <address>', 'copy recipient (repeat for several)', collect)
    .option('--bcc <address>', 'blind copy recipient (repeat for several)', collect)
    .requiredOption('--subject <text>', 'subject')
    .option('--text <text>', 'plain-text body (a body is required: --text, --text-file or --html-file)')
    .option('--text-file <file>', "plain-text body from a UTF-8 file ('-': stdin)")
    .option('--html-file <file>', "HTML body from a file ('-': stdin); with a text body too, MAPI sends the text")
    .option('--attach <file>', 'attach a file (repeat for several)', collect)
    .addOption(new Option('--importance <level>', 'importance').choices([...IMPORTANCE_LEVELS]))
    .option('--read-receipt', 'ask for a read receipt')
    .option('--delivery-receipt', 'ask for a delivery receipt (DSN)')
    .option('--dialog', "MAPI: show the mail client's compose window")
    .addOption(new Option('--protocol <protocol>', 'switch protocol for this send').choices(['managed', 'smtp', 'mapi']))
    .option('--user <user>', "the user's settings from the store (oxymail settings ...)")
    .option('--settings <file>', "the user's settings from a JSON file, comments allowed ('-': stdin; see README)")
    .option('--outbox <dir>', `outbox folder when no settings are given (default ${defaultOutboxDir()})`)
    .option('--from <address>', 'From address of an outbox message')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples(
        'oxymail send --to bob@example.com --subject "Invoice" --text "Hello"',
        `oxymail send --settings alice.json --to bob@example.com --cc carol@example.com \\
      --subject "Facture n° 12" --text-file body.txt --attach facture.pdf --importance high --read-receipt`,
        'oxymail send --user alice --to bob@example.com --subject "Relance" --text "Bonjour" --delivery-receipt',
        'generate-letter | oxymail send --user alice --to bob@example.com --subject "Relance" --text-file -',
      ) + '\n\nThe body is required: --text, --text-file and/or --html-file. On a terminal, a bar shows the attachments being sent.',
    )
    .action(send);
  cli
    .command('verify')
    .description("connect, negotiate TLS and log in with the user's settings; sends nothing")
    .option('--user <user>', "the user's settings from the store (one of --user or --settings is required)")
    .option('--settings <file>', "the user's settings from a JSON file, comments allowed ('-': stdin)")
    .addOption(new Option('--protocol <protocol>', 'protocol to check').choices(['managed', 'smtp', 'mapi']))
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      examples('oxymail verify --user alice', 'oxymail verify --settings alice.json --protocol smtp --json') +
        '\n\nIt prints the TLS the connection really negotiated (version, cipher) or "no TLS", and the login the server accepted.',
    )
    .action(verify);
  cli
    .command('capabilities')
    .description('show which option each protocol supports')
    .addOption(
      new Option('--protocol <protocol>', 'one column (mapi: both MAPI interfaces)').choices(['managed', 'smtp', 'mapi', 'mapi-simple', 'mapi-extended']),
    )
    .option('--json', 'print as JSON')
    .addHelpText('after', examples('oxymail capabilities', 'oxymail capabilities --protocol mapi', 'oxymail capabilities --protocol smtp --json'))
    .action(showCapabilities);
  const mapi = cli.command('mapi').description('the Windows mail client (MAPI)').addHelpText('after', examples('oxymail mapi profiles'));
  mapi
    .command('profiles')
    .description('list the MAPI profiles of this Windows user (to fill mapi.profile)')
    .option('--json', 'print as JSON')
    .addHelpText('after', examples('oxymail mapi profiles', 'oxymail mapi profiles --json'))
    .action(async (opts: { json?: boolean }) => {
      const profiles = await listProfiles();
      print(
        opts.json,
        profiles,
        profiles.length
          ? table([['profile', 'default'], ...profiles.map((p) => [p.name, p.isDefault ? 'yes' : ''])])
          : 'No MAPI profile: open the mail client once to create one.',
      );
    });
  cli
    .command('doctor')
    .description('check which protocol will work on this machine (session, mail client, SMTP server) and advise')
    .option('--user <user>', "also check this user's settings from the store")
    .option('--settings <file>', "also check the user's settings of a JSON file, comments allowed ('-': stdin)")
    .option('--json', 'print the report as JSON')
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
      progress('Checking this machine...');
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

const seeHelp = (c: Command) => `(see '${commandPath(c)} --help')`;

/** The package's version, from the package.json next to dist/. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** Help lines say which options are required. */
function markRequired(this: Help, option: Option): string {
  const text = Help.prototype.optionDescription.call(this, option);
  return option.mandatory ? `${text} (required)` : text;
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
  const json = wantsJson(argv);
  running = undefined;
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      // Commander has printed its own errors already; ours (oxymail.usage) are printed here.
      if (err.code === 'oxymail.usage') process.stderr.write(`error: ${err.message}\n${running ? `${seeHelp(running)}\n` : ''}`);
      if (json) print(true, errorJson(err), '');
      return 2;
    }
    writeErrorText(err);
    if (json) print(true, errorJson(err), '');
    return 1;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
