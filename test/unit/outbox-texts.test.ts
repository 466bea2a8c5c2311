/**
 * Texts converted with the outbox: an Extended MAPI failure with an HRESULT outside the table, the
 * IMAP settings problems, and the Texts stored in an outbox entry (entry.json written by this
 * version, by another one, or edited by hand), read back from real files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MailError } from '../../lib/errors';
import { text } from '../../lib/i18n';
import { extendedMapiError } from '../../lib/mapi-codes';
import { localizeEntry } from '../../lib/outbox/shown';
import { newAttempt, OutboxStore, setReason } from '../../lib/outbox/store';
import { validateSettings } from '../../lib/settings';
import { tempDir } from '../helpers/fixtures';

test('an Extended MAPI HRESULT outside the table: the failure named in words, in each language', () => {
  const err = extendedMapiError(0x80041234, 'IMAPISession::OpenMsgStore');
  expect(err.code).toBe('MAPI_HRESULT_0x80041234');
  expect(err.message).toBe('send (IMAPISession::OpenMsgStore): failed (HRESULT 0x80041234)');
  expect(err.localize('fr').message).toBe('send (IMAPISession::OpenMsgStore) : échec (HRESULT 0x80041234)');
});

test('the IMAP settings problems come from the catalogs (paths and codes unchanged)', () => {
  let err: MailError | undefined;
  try {
    validateSettings({ sentCopy: 'imap', imap: { port: 993, security: 'starttls', username: 'u' } });
  } catch (e) {
    err = e as MailError;
  }
  expect(err?.code).toBe('INVALID_SETTINGS');
  expect(err?.problems?.map((p) => p.path)).toEqual(['imap.host', 'imap.host', 'imap.security', 'imap.password']);
  err?.localize('fr');
  expect(err?.problems?.map((p) => p.message)).toEqual([
    "est obligatoire quand sentCopy vaut 'imap' (le serveur qui garde le dossier des éléments envoyés)",
    'est obligatoire quand imap est renseigné (nom ou adresse IP du serveur)',
    "'starttls' contredit le port 993, qui parle TLS dès le premier octet",
    'imap.username demande imap.password (ou imap.accessToken)',
  ]);
  expect(err?.hint).toBe("Utilisez la sécurité 'tls' (ou 'auto') avec le port 993, ou le port 143 avec 'starttls'.");
});

test('entry.json keeps the Texts of the reason and the history: read back in any language; unknown or hand-edited ones fall back to the stored words', async () => {
  const store = new OutboxStore(tempDir());
  const composed = {
    messageId: '<a@example.com>',
    envelope: { from: 'a@example.com', to: ['b@example.com'] },
    size: 3,
    buffer: Buffer.from('abc'),
    dispose: async () => undefined,
  };
  const added = await store.add(composed, {
    state: 'held',
    protocol: 'smtp',
    envelope: { from: 'a@example.com', to: ['b@example.com'] },
    createdAt: new Date().toISOString(),
    // A bigint parameter is stored as its digits (JSON has no bigint).
    attempts: [
      newAttempt({ at: new Date().toISOString(), outcome: 'unknown' }, text('outbox.reason.stopped', { pid: 4242n })),
      newAttempt({ at: '', outcome: 'transient' }, '421 server words'),
    ],
    reason: text('outbox.reason.stopped', { pid: 4242n }),
  });
  expect(added.reason).toBe("the process sending it (pid 4242) stopped before the server's answer was known: the recipients may have it");
  const file = path.join(store.entryDir(added.id), 'entry.json');
  const onDisk = JSON.parse(readFileSync(file, 'utf8'));
  expect(onDisk.reasonText).toEqual({ key: 'outbox.reason.stopped', params: { pid: '4242' } });
  expect(onDisk.attempts[1].messageText).toBeUndefined();

  const read = (await store.read(added.id)) as NonNullable<Awaited<ReturnType<OutboxStore['read']>>>;
  // Neither Text shows in what the API returns.
  expect(Object.keys(read)).not.toContain('reasonText');
  expect(Object.keys(read.attempts[0])).not.toContain('messageText');
  const fr = localizeEntry(read, 'fr');
  expect(fr.reason).toBe(
    "le processus qui l'envoyait (pid 4242) s'est arrêté avant que la réponse du serveur soit connue : les destinataires l'ont peut-être reçu",
  );
  expect(fr.attempts.map((a) => a.message)).toEqual([fr.reason, '421 server words']);
  expect(localizeEntry(fr, 'en').reason).toBe(added.reason);

  // Rewritten (a new attempt, the reason cleared): the Texts follow; then a key this version does not know.
  setReason(read, undefined);
  await store.write(read);
  expect(JSON.parse(readFileSync(file, 'utf8')).reasonText).toBeUndefined();
  writeFileSync(file, JSON.stringify({ ...onDisk, reason: 'stored words', reasonText: { key: 'outbox.reason.fromTheFuture', params: {} } }));
  const unknown = await store.read(added.id);
  expect(localizeEntry(unknown as NonNullable<typeof unknown>, 'fr').reason).toBe('stored words');
  writeFileSync(
    file,
    JSON.stringify({ ...onDisk, reason: 'stored words', reasonText: { key: 'outbox.reason.refused', params: { message: { nested: true } } } }),
  );
  const odd = await store.read(added.id);
  expect(localizeEntry(odd as NonNullable<typeof odd>, 'fr').reason).toBe('stored words');
  // A key that is no catalog's own (an inherited name) is not one either.
  for (const key of ['constructor', 'toString', '__proto__']) {
    writeFileSync(file, JSON.stringify({ ...onDisk, reason: 'stored words', reasonText: { key, params: {} } }));
    const inherited = await store.read(added.id);
    expect(localizeEntry(inherited as NonNullable<typeof inherited>, 'fr').reason).toBe('stored words');
  }
});
