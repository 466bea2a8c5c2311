/**
 * `oxymail outbox list|flush|retry ID|remove ID|show ID`: the durable outbox of a store user
 * (--user), of a settings file (--settings), or a folder (--dir). Each command is one library
 * call; progress of a flush goes to stderr so that stdout stays parseable.
 */
import { Command } from 'commander';
import { createMailer, Mailer } from '../mailer';
import type { MessageKey } from '../i18n';
import { FlushOutcome, FlushReport, Outbox } from '../outbox/outbox';
import { defaultOutboxFolder, userOutboxDir } from '../outbox/paths';
import type { Attempt, EntryState, OutboxEntry } from '../outbox/store';
import { print, t, table, usage } from './output';
import { checkUser, examples, readSettingsFile, storeFrom } from './settings-commands';

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
  if (f.user && f.settings) throw usage(t('cli.usage.userOrSettings'));
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

/** An entry's state in words (--json keeps the state itself). */
const STATES: Record<EntryState, MessageKey> = {
  queued: 'cli.outbox.state.queued',
  sending: 'cli.outbox.state.sending',
  held: 'cli.outbox.state.held',
  failed: 'cli.outbox.state.failed',
  sent: 'cli.outbox.state.sent',
};

/** What became of an entry in a flush, or of one attempt, in words. */
const OUTCOMES: Record<FlushOutcome | Attempt['outcome'], MessageKey> = {
  sent: 'cli.outbox.outcome.sent',
  partial: 'cli.outbox.outcome.partial',
  queued: 'cli.outbox.outcome.queued',
  failed: 'cli.outbox.outcome.failed',
  held: 'cli.outbox.outcome.held',
  copied: 'cli.outbox.outcome.copied',
  'copy-failed': 'cli.outbox.outcome.copy-failed',
  busy: 'cli.outbox.outcome.busy',
  skipped: 'cli.outbox.outcome.skipped',
  transient: 'cli.outbox.outcome.transient',
  permanent: 'cli.outbox.outcome.permanent',
  unknown: 'cli.outbox.outcome.unknown',
  released: 'cli.outbox.outcome.released',
};

const state = (s: EntryState) => (STATES[s] ? t(STATES[s]) : s);
const outcome = (o: FlushOutcome | Attempt['outcome']) => (OUTCOMES[o] ? t(OUTCOMES[o]) : o);

function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = Date.parse(iso) - now;
  const abs = Math.abs(ms);
  const time = abs < 90_000 ? `${Math.round(abs / 1000)} s` : abs < 5_400_000 ? `${Math.round(abs / 60_000)} min` : `${Math.round(abs / 3_600_000)} h`;
  return t(ms >= 0 ? 'cli.outbox.in' : 'cli.outbox.ago', { time });
}

/** `CODE 451: message`, as an attempt or a flush result reports a failure. */
function failure(code: string | undefined, responseCode: number | undefined, message: string | undefined): string {
  const head = `${code ?? ''}${responseCode ? ` ${responseCode}` : ''}`;
  return message ? t(head ? 'cli.outbox.failure' : 'cli.outbox.failureMessage', { head, message: printable(message) }) : head;
}

function listText(entries: OutboxEntry[], dir: string): string {
  if (!entries.length) return t('cli.outbox.empty', { dir });
  const rows = entries.map((e) => [
    e.id,
    state(e.state),
    age(e.createdAt),
    String(e.attempts.filter((a) => a.outcome !== 'copied' && a.outcome !== 'copy-failed').length),
    e.state === 'queued' ? age(e.nextAttemptAt) : '',
    printable(e.envelope.to.join(', ')).slice(0, 40),
    printable(e.subject).slice(0, 40),
  ]);
  const notes = entries.filter((e) => e.reason).map((e) => t('cli.outbox.note', { id: e.id, reason: printable(e.reason) }));
  const heading = (
    [
      'cli.outbox.column.id',
      'cli.outbox.column.state',
      'cli.outbox.column.queued',
      'cli.outbox.column.tries',
      'cli.outbox.column.next',
      'cli.outbox.column.to',
      'cli.outbox.column.subject',
    ] as const
  ).map((key) => t(key));
  return [
    table([heading, ...rows]),
    ...(notes.length ? ['', ...notes] : []),
    '',
    t(entries.length > 1 ? 'cli.outbox.count' : 'cli.outbox.countOne', { count: entries.length, dir }),
  ].join('\n');
}

function showText(e: OutboxEntry, file: string): string {
  const next = e.nextAttemptAt && e.state === 'queued' ? t('cli.outbox.show.next', { at: e.nextAttemptAt, when: age(e.nextAttemptAt) }) : '';
  return [
    t('cli.outbox.show.head', { id: e.id, state: state(e.state), pending: e.sentCopy === 'pending' ? t('cli.outbox.show.copyPending') : '' }),
    t('cli.outbox.show.messageId', { value: printable(e.messageId) }),
    t('cli.outbox.show.subject', { value: printable(e.subject) }),
    t('cli.outbox.show.from', { from: printable(e.envelope.from), protocol: e.protocol }),
    t('cli.outbox.show.to', { value: printable(e.envelope.to.join(', ')) }),
    t('cli.outbox.show.size', { size: e.size, file }),
    t('cli.outbox.show.queued', { at: e.createdAt, next }),
    ...(e.reason ? [t('cli.outbox.show.reason', { value: printable(e.reason) })] : []),
    t('cli.outbox.show.attempts'),
    ...e.attempts.map((a) =>
      t('cli.outbox.show.attempt', {
        at: a.at,
        outcome: outcome(a.outcome),
        failure: a.code || a.message ? `  ${failure(a.code, a.responseCode, a.message)}` : '',
        deferred: a.deferred?.length ? t('cli.outbox.show.deferred', { list: a.deferred.join(', ') }) : '',
      }),
    ),
  ].join('\n');
}

function flushText(r: FlushReport): string {
  const parts = [
    t(r.sent > 1 ? 'cli.outbox.flushed.sent' : 'cli.outbox.flushed.sentOne', { count: r.sent }),
    t('cli.outbox.flushed.queued', { count: r.queued }),
    t('cli.outbox.flushed.failed', { count: r.failed }),
    t(r.held > 1 ? 'cli.outbox.flushed.held' : 'cli.outbox.flushed.heldOne', { count: r.held }),
  ];
  if (r.copied) parts.push(t(r.copied > 1 ? 'cli.outbox.flushed.copied' : 'cli.outbox.flushed.copiedOne', { count: r.copied }));
  if (r.busy) parts.push(t('cli.outbox.flushed.busy', { count: r.busy }));
  const lines = r.results
    .filter((x) => x.error)
    .map((x) =>
      t('cli.outbox.flushed.error', { id: x.id, outcome: outcome(x.outcome), failure: failure(x.error?.code, x.error?.responseCode, x.error?.message) }),
    );
  return [t('cli.outbox.flushed', { parts: parts.join(', ') }), ...lines].join('\n');
}

async function flushWith(mailer: Mailer, ids: string[] | undefined, json: boolean | undefined): Promise<FlushReport> {
  return mailer
    .flush({
      ids,
      onProgress: (p) =>
        process.stderr.write(
          `${t('cli.outbox.progress', { done: p.done, total: p.total, id: p.id, messageId: printable(p.messageId), outcome: outcome(p.outcome) })}\n`,
        ),
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
    .description(t('cli.help.outbox'))
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
      .option('--user <user>', t('cli.help.outbox.user'))
      .option('--settings <file>', t('cli.help.outbox.settings'))
      .option('--dir <folder>', t('cli.help.outbox.dir'))
      .option('--json', t('cli.help.json.result'));
  common(outbox.command('list').description(t('cli.help.outbox.list')))
    .addHelpText('after', examples('oxymail outbox list --user alice', 'oxymail outbox list --dir ./outbox --json'))
    .action(async (f: OutboxFlags, cmd: Command) => {
      const dir = outboxDir(f, cmd);
      const entries = await new Outbox({ dir }).list();
      print(f.json, entries, listText(entries, dir));
    });
  common(outbox.command('show').argument('<id>', t('cli.help.outbox.id')).description(t('cli.help.outbox.show')))
    .addHelpText('after', examples('oxymail outbox show mihx2k3a-1f2e3d --user alice', 'oxymail outbox show "<id@example.com>" --user alice --json'))
    .action(async (id: string, f: OutboxFlags, cmd: Command) => {
      const box = new Outbox({ dir: outboxDir(f, cmd) });
      const entry = await box.show(id);
      print(f.json, { ...entry, file: box.messagePath(entry.id) }, showText(entry, box.messagePath(entry.id)));
    });
  common(outbox.command('remove').argument('<id>', t('cli.help.outbox.id')).description(t('cli.help.outbox.remove')))
    .addHelpText('after', examples('oxymail outbox remove mihx2k3a-1f2e3d --user alice'))
    .action(async (id: string, f: OutboxFlags, cmd: Command) => {
      const entry = await new Outbox({ dir: outboxDir(f, cmd) }).remove(id);
      print(f.json, { removed: entry.id, messageId: entry.messageId }, t('cli.outbox.removed', { id: entry.id, messageId: printable(entry.messageId) }));
    });
  common(outbox.command('retry').argument('<id>', t('cli.help.outbox.id')).description(t('cli.help.outbox.retry')))
    .addHelpText('after', examples('oxymail outbox retry mihx2k3a-1f2e3d --user alice') + `\n\n${t('cli.help.outbox.retry.after')}`)
    .action(async (id: string, f: OutboxFlags, cmd: Command) => {
      const dir = outboxDir(f, cmd);
      const entry = await new Outbox({ dir }).retry(id);
      const mailer = await mailerFor(f, cmd, dir);
      if (!mailer) {
        print(f.json, { queued: entry.id, messageId: entry.messageId }, t('cli.outbox.requeued', { id: entry.id }));
        return;
      }
      try {
        await flushWith(mailer, [entry.id], f.json);
      } finally {
        await mailer.close();
      }
    });
  common(outbox.command('flush').description(t('cli.help.outbox.flush')))
    .addHelpText('after', examples('oxymail outbox flush --user alice', 'oxymail outbox flush --settings alice.json --json'))
    .action(async (f: OutboxFlags, cmd: Command) => {
      const dir = outboxDir(f, cmd);
      const mailer = await mailerFor(f, cmd, dir);
      if (!mailer) throw usage(t('cli.usage.flushNeedsSettings'));
      try {
        await flushWith(mailer, undefined, f.json);
      } finally {
        await mailer.close();
      }
    });
}
