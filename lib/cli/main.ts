#!/usr/bin/env node
/**
 * The `oxymail` command: send a message with a user's settings (or, with none, write it to the
 * local outbox), check settings, and show the capability matrix.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { checkAddress } from '../address';
import { capabilities, FEATURES, noteKey, ProtocolKey } from '../capabilities';
import { MailError } from '../errors';
import { format, text } from '../i18n';
import { IMPORTANCE_LEVELS } from '../importance';
import { createMailer, SendOptions } from '../mailer';
import { MailMessage, validateMessage } from '../message';
import { composeMail } from '../transports/compose';
import { listProfiles } from '../transports/mapi';
import { defaultOutboxDir, writeToOutbox } from '../transports/outbox';
import { DoctorOptions, formatDoctorReport, runDoctor } from '../doctor';
import { errorJson, print, progress, t, table, usage, writeErrorText } from './output';
import { addSettingsCommands, checkUser, examples, readSettingsFile, storeFrom, userNotFound } from './settings-commands';

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

async function readBody(flag: string, file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new MailError('INVALID_MESSAGE', `send: ${flag} ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? err}); nothing was sent`);
  }
}

async function buildMessage(f: SendFlags): Promise<MailMessage> {
  if (f.text !== undefined && f.textFile !== undefined) throw usage('use either --text or --text-file, not both');
  if (f.text === undefined && f.textFile === undefined && f.htmlFile === undefined) {
    throw usage('the message needs a body: --text TEXT, --text-file FILE or --html-file FILE');
  }
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
  if (f.settings && f.user) throw usage('use either --settings FILE or --user USER, not both');
  if (!f.settings && !f.user) {
    if (f.protocol) throw usage(`--protocol ${f.protocol} needs the user's settings (--user USER or --settings FILE)`);
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
  if (f.from !== undefined) throw usage('--from is for outbox messages only: with settings, the sender is the user (email, smtp.senderName)');
  const mailer = f.user ? await storeFrom(cmd).mailerFor(checkUser(f.user)) : createMailer((await readSettingsFile(f.settings as string)) as object);
  try {
    const result = await mailer.send(message, { protocol: f.protocol, dialog: f.dialog });
    const lines = [
      result.messageId ? t('cli.send.sentAs', { protocol: result.protocol, messageId: result.messageId }) : t('cli.send.sent', { protocol: result.protocol }),
      t('cli.send.accepted', { list: result.accepted.join(', ') || t('cli.none') }),
      ...(result.rejected.length ? [t('cli.send.rejected', { list: result.rejected.join(', ') })] : []),
      t('cli.send.receipts', { read: result.receipts.read, delivery: result.receipts.delivery }),
      ...result.warnings.map((w) => `  ${t('cli.warning', { code: w.code, message: w.message })}`),
    ];
    print(f.json, result, lines.join('\n'));
  } finally {
    mailer.close();
  }
}

async function verify(f: { settings: string; protocol?: SendOptions['protocol']; json?: boolean }): Promise<void> {
  const mailer = createMailer((await readSettingsFile(f.settings)) as object);
  try {
    const r = await mailer.verify({ protocol: f.protocol });
    const human =
      'server' in r
        ? t('cli.verify.smtp', {
            protocol: r.protocol,
            server: r.server,
            tls: r.tls,
            login: r.authenticatedAs ? t('cli.verify.authenticatedAs', { user: r.authenticatedAs }) : t('cli.verify.noLogin'),
          })
        : t('cli.verify.mapi', { interface: r.interface });
    print(f.json, r, [human, ...r.warnings.map((w) => t('cli.warning', { code: w.code, message: w.message }))].join('\n'));
  } finally {
    mailer.close();
  }
}

function showCapabilities(f: { protocol?: ProtocolKey; json?: boolean }): void {
  const matrix = capabilities();
  const columns = (f.protocol ? [f.protocol] : Object.keys(matrix)) as ProtocolKey[];
  if (f.json) return print(true, f.protocol ? matrix[f.protocol] : matrix, '');
  const rows = [
    [t('cli.capabilities.option'), ...columns],
    ...FEATURES.map((feat) => [feat, ...columns.map((c) => (matrix[c][feat].supported ? t('cli.yes') : t('cli.no')))]),
  ];
  const notes = columns.flatMap((c) => FEATURES.filter((feat) => matrix[c][feat].note).map((feat) => `  ${c} ${feat}: ${format(text(noteKey(c, feat)))}`));
  print(false, null, `${table(rows)}\n\n${t('cli.capabilities.notes')}\n${notes.join('\n')}`);
}

/** Builds the command line program (exported so tests may drive it in-process). */
export function program(): Command {
  const cli = new Command('oxymail')
    .description('Send e-mail on behalf of a user: managed relay, SMTP, or the Windows mail client (MAPI)')
    .option('--store <file>', 'the settings store (default: OXYMAIL_SETTINGS, or the per-user config folder)')
    .option('--lang <lang>', 'language of the output: fr or en (default: OXYMAIL_LANG, LC_ALL, LANG; Windows: the display language)')
    .exitOverride()
    .showHelpAfterError()
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
    .option('--text <text>', 'plain-text body')
    .option('--text-file <file>', 'plain-text body from a UTF-8 file')
    .option('--html-file <file>', 'HTML body from a file')
    .option('--attach <file>', 'attach a file (repeat for several)', collect)
    .addOption(new Option('--importance <level>', 'importance').choices([...IMPORTANCE_LEVELS]))
    .option('--read-receipt', 'ask for a read receipt')
    .option('--delivery-receipt', 'ask for a delivery receipt (DSN)')
    .option('--dialog', "MAPI: show the mail client's compose window")
    .addOption(new Option('--protocol <protocol>', 'switch protocol for this send').choices(['managed', 'smtp', 'mapi']))
    .option('--user <user>', "the user's settings from the store (oxymail settings ...)")
    .option('--settings <file>', "the user's settings from a JSON file (see README)")
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
      ) + '\n\nThe body is required: --text, --text-file and/or --html-file.',
    )
    .action(send);
  cli
    .command('verify')
    .description("connect, negotiate TLS and log in with the user's settings; sends nothing")
    .requiredOption('--settings <file>', "the user's settings (JSON)")
    .addOption(new Option('--protocol <protocol>', 'protocol to check').choices(['managed', 'smtp', 'mapi']))
    .option('--json', 'print the result as JSON')
    .addHelpText('after', examples('oxymail verify --settings alice.json', 'oxymail verify --settings alice.json --protocol smtp --json'))
    .action(verify);
  cli
    .command('capabilities')
    .description('show which option each protocol supports')
    .addOption(new Option('--protocol <protocol>', 'one column').choices(['managed', 'smtp', 'mapi-simple', 'mapi-extended']))
    .option('--json', 'print as JSON')
    .addHelpText('after', examples('oxymail capabilities', 'oxymail capabilities --protocol smtp --json'))
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
    .option('--json', 'print the report as JSON')
    .addHelpText('after', examples('oxymail doctor', 'oxymail doctor --user alice --json'))
    .action(async (opts: { user?: string; json?: boolean }, cmd: Command) => {
      const store = storeFrom(cmd);
      const options: DoctorOptions = { storePath: store.path };
      if (opts.user) {
        try {
          const found = await store.getReadable(checkUser(opts.user));
          if (!found) {
            throw userNotFound(opts.user, store);
          }
          // A secret that cannot be opened here is a FAIL line; the machine is still checked.
          options.settings = found.settings;
          options.unreadableSecrets = found.unreadable;
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
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      // Commander has printed its own errors already; ours (oxymail.usage) are printed here.
      if (err.code === 'oxymail.usage') process.stderr.write(`${t('cli.error', { message: err.message })}\n`);
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
