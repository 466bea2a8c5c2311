/**
 * `oxymail outbox ...` and a queued `oxymail send` under OXYMAIL_LANG=fr: the real binary, the real
 * outbox folder of a store user, a real smtp-server (down, then refusing with 550). Every line in
 * French; states, outcomes and codes unchanged in --json. Entries written by an English process
 * are shown in French (their reasons and history are stored as catalog entries).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { userOutboxDir } from '../../lib/outbox/paths';
import { openSettingsStore } from '../../lib/store/store';
import { tempDir } from '../helpers/fixtures';
import { freePort, plainSmtpSettings, useServers } from '../helpers/outbox';

jest.setTimeout(60_000);

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, LC_ALL: '', LC_MESSAGES: '', LANG: 'C', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const serve = useServers();

test('OXYMAIL_LANG=fr: send queues (French lines and warning), outbox list/show/flush/remove/retry in French, codes and states unchanged in --json', async () => {
  const port = await freePort();
  const storePath = path.join(tempDir(), 'users.json');
  const dir = userOutboxDir(storePath, 'alice');
  const en = { OXYMAIL_SETTINGS: storePath, OXYMAIL_LANG: 'en' };
  const fr = { OXYMAIL_SETTINGS: storePath, OXYMAIL_LANG: 'fr' };
  await openSettingsStore(storePath).set('alice', plainSmtpSettings(port, { outbox: true }));

  const empty = await run(['outbox', 'list', '--user', 'alice'], fr);
  expect(empty.stdout).toBe(`La boîte d'envoi est vide (${dir}).\n`);

  // One message queued by an English process, one by a French one.
  const first = JSON.parse((await run(['send', '--user', 'alice', '--to', 'bob@example.com', '--subject', 'Relance', '--text', 'x', '--json'], en)).stdout);
  expect(first.warnings[0]).toMatchObject({ code: 'MESSAGE_QUEUED', message: expect.stringMatching(/^not sent yet \(SMTP_CONNECTION: /) });
  const sent = await run(['send', '--user', 'alice', '--to', 'carol@example.com', '--subject', 'Facture', '--text', 'x'], fr);
  expect(sent.code).toBe(0);
  expect(sent.stdout).toMatch(/^Pas encore envoyé : mis en attente dans la boîte d'envoi sous (\S+) \(<.+>\) ; il sera renvoyé plus tard/);
  expect(sent.stdout).toMatch(
    /^ {2}avertissement \[MESSAGE_QUEUED\] : pas encore envoyé \(SMTP_CONNECTION : .+\) : gardé dans la boîte d'envoi sous \S+, prochain essai \S+$/m,
  );
  const secondId = /sous (\S+) \(/.exec(sent.stdout)?.[1] as string;

  const list = await run(['outbox', 'list', '--user', 'alice'], fr);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/^id\s+état\s+mis en attente\s+essais\s+prochain essai\s+à\s+objet$/m);
  expect(list.stdout).toMatch(new RegExp(`^${first.outboxId}\\s+en attente\\s+il y a \\d+ s\\s+1\\s+dans \\d+ s\\s+bob@example\\.com\\s+Relance$`, 'm'));
  expect(list.stdout).toMatch(new RegExp(`^${secondId}\\s+en attente\\s+.*carol@example\\.com\\s+Facture$`, 'm'));
  expect(list.stdout).toContain(`2 entrées dans ${dir}`);

  // The history of the entry the English process wrote, shown in French; --json keeps the facts.
  const enShow = JSON.parse((await run(['outbox', 'show', first.outboxId, '--user', 'alice', '--json'], en)).stdout);
  const enMessage = enShow.attempts[0].message as string;
  const show = await run(['outbox', 'show', first.outboxId, '--user', 'alice'], fr);
  expect(show.code).toBe(0);
  expect(show.stdout).toMatch(new RegExp(`^${first.outboxId} {2}en attente$`, 'm'));
  expect(show.stdout).toContain(`  Message-ID :     ${first.messageId}`);
  expect(show.stdout).toContain('  objet :          Relance');
  expect(show.stdout).toContain('  de :             alice@example.com   par smtp');
  expect(show.stdout).toMatch(/^ {2}taille : {9}\d+ octets {3}fichier : .+message\.eml$/m);
  expect(show.stdout).toMatch(/^ {2}mis en attente : \S+ {3}prochain essai : \S+ \(dans \d+ s\)$/m);
  expect(show.stdout).toMatch(/^ {2}essais :\n {4}\S+ {2}temporaire {2}SMTP_CONNECTION : .+$/m);
  expect(show.stdout).not.toContain(enMessage);
  const frShow = JSON.parse((await run(['outbox', 'show', first.outboxId, '--user', 'alice', '--json'], fr)).stdout);
  expect(frShow).toMatchObject({ id: first.outboxId, state: 'queued', attempts: [{ outcome: 'transient', code: 'SMTP_CONNECTION' }] });
  expect(frShow.attempts[0].message).not.toBe(enMessage);
  expect(show.stdout).toContain(frShow.attempts[0].message);

  // The server is up and refuses the sender for good: both entries fail.
  const server = await serve({
    listenPort: port,
    onMailFrom: (_a, _s, cb) => cb(Object.assign(new Error('5.7.1 Sender rejected by policy'), { responseCode: 550 })),
  });
  const flush = await run(['outbox', 'flush', '--user', 'alice'], fr);
  expect(flush.code).toBe(0);
  expect(flush.stderr).toMatch(/^\[1\/2\] \S+ <.+> : en échec\n\[2\/2\] \S+ <.+> : en échec\n$/);
  expect(flush.stdout).toMatch(/^Boîte d'envoi traitée : 0 envoyé, 0 toujours en attente, 2 en échec, 0 retenu\.$/m);
  expect(flush.stdout).toMatch(new RegExp(`^ {2}${first.outboxId} en échec : SMTP_REJECTED 550 : .+Sender rejected by policy$`, 'm'));
  const flushJson = JSON.parse((await run(['outbox', 'flush', '--user', 'alice', '--json'], fr)).stdout);
  expect(flushJson).toMatchObject({ tried: 0, failed: 0 });

  const failed = await run(['outbox', 'list', '--user', 'alice'], fr);
  expect(failed.stdout).toMatch(new RegExp(`^${first.outboxId}\\s+en échec\\s`, 'm'));
  expect(failed.stdout).toMatch(new RegExp(`^ {2}${first.outboxId} : refusé définitivement \\(550\\) : .+Sender rejected by policy$`, 'm'));
  const failedJson = JSON.parse((await run(['outbox', 'list', '--user', 'alice', '--json'], fr)).stdout);
  expect(failedJson.map((e: { state: string }) => e.state)).toEqual(['failed', 'failed']);
  expect(failedJson[0].reason).toMatch(/^refusé définitivement \(550\) : /);
  // The same entry for an English reader.
  expect(JSON.parse((await run(['outbox', 'list', '--user', 'alice', '--json'], en)).stdout)[0].reason).toMatch(/^refused for good \(550\): /);

  const retried = await run(['outbox', 'retry', first.outboxId, '--dir', dir], fr);
  expect(retried.stdout).toBe(`${first.outboxId} remis en attente ; envoyez-le avec : oxymail outbox flush --user USER\n`);
  const removed = await run(['outbox', 'remove', secondId, '--user', 'alice'], fr);
  expect(removed.stdout).toMatch(new RegExp(`^${secondId} \\(<.+>\\) supprimé : il ne sera pas envoyé\\.\\n$`));
  expect(JSON.parse((await run(['outbox', 'list', '--user', 'alice', '--json'], fr)).stdout).map((e: { id: string }) => e.id)).toEqual([first.outboxId]);
  expect(server.received).toEqual([]);
});

test('OXYMAIL_LANG=fr: outbox errors in French (text and --json), the codes unchanged; usage errors in French', async () => {
  const storePath = path.join(tempDir(), 'users.json');
  const fr = { OXYMAIL_SETTINGS: storePath, OXYMAIL_LANG: 'fr' };
  const dir = path.join(tempDir(), 'ob');
  const missing = await run(['outbox', 'show', 'nope-000000', '--dir', dir], fr);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toBe(
    `erreur [OUTBOX_NOT_FOUND] : outbox : aucune entrée 'nope-000000' dans ${dir}\nconseil : oxymail outbox list affiche les entrées et leurs identifiants.\n`,
  );
  const json = await run(['outbox', 'remove', 'nope-000000', '--dir', dir, '--json'], fr);
  expect(JSON.parse(json.stdout)).toEqual({
    error: {
      code: 'OUTBOX_NOT_FOUND',
      message: `outbox : aucune entrée 'nope-000000' dans ${dir}`,
      hint: 'oxymail outbox list affiche les entrées et leurs identifiants.',
    },
  });
  const flush = await run(['outbox', 'flush', '--dir', dir], fr);
  expect(flush.code).toBe(2);
  expect(flush.stderr).toMatch(/^erreur : flush envoie avec les paramètres d'envoi d'un utilisateur : donnez --user USER ou --settings FILE\n/);
  const both = await run(['outbox', 'list', '--user', 'alice', '--settings', 'x.json'], fr);
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/^erreur : utilisez --user USER ou --settings FILE, pas les deux\n/);
});
