/**
 * `oxymail outbox list|flush|retry ID|remove ID|show ID`: the durable outbox of a store user
 * (--user), of a settings file (--settings), or a folder (--dir). Each command is one library
 * call; progress of a flush goes to stderr so that stdout stays parseable.
 */
import { Command } from 'commander';
import { createMailer, Mailer } from '../mailer';
import { FlushReport, Outbox } from '../outbox/outbox';
import { defaultOutboxFolder, userOutboxDir } from '../outbox/paths';
import type { OutboxEntry } from '../outbox/store';
import { print, table, usage } from './output';
import { checkUser, examples, readSettingsFile, storeFrom } from './settings-commands';
import { helpText } from './help';

interface OutboxFlags {
  user?: string;
  settings?: string;
  dir?: string;
  json?: boolean;
}

/** Control characters shown escaped: a subject is the sender's text, not terminal commands. */
const printable = (s: string | undefined) =>
  (s ?? '').replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function outboxDir(f: OutboxFlags, cmd: Command): string {
  if (f.user && f.settings) throw usage('use either --user USER or --settings FILE, not both');
  if (f.dir) return f.dir;
  const store = storeFrom(cmd);
  return f.user ? userOutboxDir(store.path, checkUser(f.user)) : defaultOutboxFolder(store.path);
}

/** The mailer that sends the outbox's entries again: the user's settings, with their outbox folder. */
async function mailerFor(f: OutboxFlags, cmd: Command, dir: string): Promise<Mailer | undefined> {
  const outbox = { dir, background: false };
  if (f.user) return storeFrom(cmd).mailerFor(checkUser(f.user), { outbox });
  if (f.settings) return createMailer((await readSettingsFile(f.settings)) as object, { outbox });
  return undefined;
}

function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const text = abs < 90_000 ? `${Math.round(abs / 1000)} s` : abs < 5_400_000 ? `${Math.round(abs / 60_000)} min` : `${Math.round(abs / 3_600_000)} h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

function lastReply(e: OutboxEntry): string {
  const a = [...e.attempts].reverse().find((x) => x.message || x.code);
  return a ? `${a.code ?? ''}${a.responseCode ? ` ${a.responseCode}` : ''}${a.message ? `: ${a.message}` : ''}` : '';
}

function listText(entries: OutboxEntry[], dir: string): string {
  if (!entries.length) return `The outbox is empty (${dir}).`;
  const rows = entries.map((e) => [
    e.id,
    e.state === 'sent' ? 'sent, copy pending' : e.state,
    age(e.createdAt),
    String(e.attempts.filter((a) => a.outcome !== 'copied' && a.outcome !== 'copy-failed').length),
    e.state === 'queued' ? age(e.nextAttemptAt) : '',
    printable(e.envelope.to.join(', ')).slice(0, 40),
    printable(e.subject).slice(0, 40),
  ]);
  const notes = entries.filter((e) => e.reason).map((e) => `  ${e.id}: ${printable(e.reason)}`);
  return [
    table([['id', 'state', 'queued', 'tries', 'next try', 'to', 'subject'], ...rows]),
    ...(notes.length ? ['', ...notes] : []),
    '',
    `${entries.length} entr${entries.length > 1 ? 'ies' : 'y'} in ${dir}`,
  ].join('\n');
}

function showText(e: OutboxEntry, file: string): string {
  return [
    `${e.id}  ${e.state}${e.sentCopy === 'pending' ? ' (copy in Sent pending)' : ''}`,
    `  Message-ID: ${printable(e.messageId)}`,
    `  subject:    ${printable(e.subject)}`,
    `  from:       ${printable(e.envelope.from)}   by ${e.protocol}`,
    `  to:         ${printable(e.envelope.to.join(', '))}`,
    `  size:       ${e.size} bytes   file: ${file}`,
    `  queued:     ${e.createdAt}${e.nextAttemptAt && e.state === 'queued' ? `   next try: ${e.nextAttemptAt} (${age(e.nextAttemptAt)})` : ''}`,
    ...(e.reason ? [`  reason:     ${printable(e.reason)}`] : []),
    '  attempts:',
    ...e.attempts.map(
      (a) =>
        `    ${a.at}  ${a.outcome}${a.code ? `  ${a.code}` : ''}${a.responseCode ? ` ${a.responseCode}` : ''}${a.message ? `: ${printable(a.message)}` : ''}` +
        (a.deferred?.length ? `  (deferred: ${a.deferred.join(', ')})` : ''),
    ),
  ].join('\n');
}

function flushText(r: FlushReport): string {
  const parts = [`${r.sent} sent`, `${r.queued} still queued`, `${r.failed} failed`, `${r.held} held`];
  if (r.copied) parts.push(`${r.copied} copied to Sent`);
  if (r.busy) parts.push(`${r.busy} being sent by another process`);
  const lines = r.results
    .filter((x) => x.error)
    .map((x) => `  ${x.id} ${x.outcome}: ${x.error?.code}${x.error?.responseCode ? ` ${x.error.responseCode}` : ''} ${printable(x.error?.message)}`);
  return [`Flushed: ${parts.join(', ')}.`, ...lines].join('\n');
}

async function flushWith(mailer: Mailer, ids: string[] | undefined, json: boolean | undefined): Promise<FlushReport> {
  return mailer
    .flush({
      ids,
      onProgress: (p) => process.stderr.write(`[${p.done}/${p.total}] ${p.id} ${p.messageId}: ${p.outcome}\n`),
    })
    .then((r) => {
      print(json, r, flushText(r));
      return r;
    });
}

/** Adds `oxymail outbox ...` to the program. */
export function addOutboxCommands(cli: Command): void {
  const outbox = cli
    .command('outbox')
    .description(helpText('cli.help.outbox'))
    .addHelpText(
      'after',
      examples(
        'oxymail outbox list --user alice',
        'oxymail outbox flush --user alice',
        'oxymail outbox show ID --user alice',
        'oxymail outbox retry ID --user alice',
      ),
    );
  const common = (c: Command) =>
    c
      .option('--user <user>', helpText('cli.help.outbox.user'))
      .option('--settings <file>', helpText('cli.help.outbox.settings'))
      .option('--dir <folder>', helpText('cli.help.outbox.dir'))
      .option('--json', helpText('cli.help.json.result'));
  common(outbox.command('list').description(helpText('cli.help.outbox.list')))
    .addHelpText('after', examples('oxymail outbox list --user alice', 'oxymail outbox list --dir ./outbox --json'))
    .action(async (f: OutboxFlags, cmd: Command) => {
      const dir = outboxDir(f, cmd);
      const entries = await new Outbox({ dir }).list();
      print(f.json, entries, listText(entries, dir));
    });
  common(outbox.command('show').argument('<id>', helpText('cli.help.outbox.id')).description(helpText('cli.help.outbox.show')))
    .addHelpText('after', examples('oxymail outbox show mihx2k3a-1f2e3d --user alice', 'oxymail outbox show "<id@example.com>" --user alice --json'))
    .action(async (id: string, f: OutboxFlags, cmd: Command) => {
      const box = new Outbox({ dir: outboxDir(f, cmd) });
      const entry = await box.show(id);
      print(f.json, { ...entry, file: box.messagePath(entry.id) }, showText(entry, box.messagePath(entry.id)));
    });
  common(outbox.command('remove').argument('<id>', helpText('cli.help.outbox.id')).description(helpText('cli.help.outbox.remove')))
    .addHelpText('after', examples('oxymail outbox remove mihx2k3a-1f2e3d --user alice'))
    .action(async (id: string, f: OutboxFlags, cmd: Command) => {
      const entry = await new Outbox({ dir: outboxDir(f, cmd) }).remove(id);
      print(f.json, { removed: entry.id, messageId: entry.messageId }, `Removed ${entry.id} (${printable(entry.messageId)}): it will not be sent.`);
    });
  common(outbox.command('retry').argument('<id>', helpText('cli.help.outbox.id')).description(helpText('cli.help.outbox.retry')))
    .addHelpText('after', examples('oxymail outbox retry mihx2k3a-1f2e3d --user alice') + `\n\n${helpText('cli.help.outbox.retry.after')}`)
    .action(async (id: string, f: OutboxFlags, cmd: Command) => {
      const dir = outboxDir(f, cmd);
      const entry = await new Outbox({ dir }).retry(id);
      const mailer = await mailerFor(f, cmd, dir);
      if (!mailer) {
        print(f.json, { queued: entry.id, messageId: entry.messageId }, `Queued ${entry.id} again; send it with: oxymail outbox flush --user USER`);
        return;
      }
      try {
        await flushWith(mailer, [entry.id], f.json);
      } finally {
        await mailer.close();
      }
    });
  common(outbox.command('flush').description(helpText('cli.help.outbox.flush')))
    .addHelpText('after', examples('oxymail outbox flush --user alice', 'oxymail outbox flush --settings alice.json --json'))
    .action(async (f: OutboxFlags, cmd: Command) => {
      const dir = outboxDir(f, cmd);
      const mailer = await mailerFor(f, cmd, dir);
      if (!mailer) throw usage("flush sends with a user's settings: give --user USER or --settings FILE");
      try {
        await flushWith(mailer, undefined, f.json);
      } finally {
        await mailer.close();
      }
    });
}
