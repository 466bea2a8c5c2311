/**
 * Hardening against a real smtp-server on loopback: receipts told truthfully, the envelope id
 * returned, secrets out of reach of inspect and spread, a polluted Object.prototype that changes
 * nothing, one listener on a shared AbortSignal, and the EHLO name.
 */
import { inspect } from 'node:util';
import { createMailer, MailError, validateSettings } from '../../lib';
import { defaultEhloName } from '../../lib/transports/smtp';
import { resolveRelay } from '../../lib/transports/managed';
import { relaySettings, startServer, smtpSettings, TestServer } from '../helpers/server';

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  await server.close();
});

const relay = relaySettings;

test("managed: a delivery receipt is 'to-relay', with a warning, and the DSN's ENVID is returned", async () => {
  const mailer = createMailer({ label: 'Alice', email: 'alice@client.example' }, { managed: relay(server.port) });
  const result = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x', deliveryReceipt: true });
  mailer.close();
  const got = server.received[0];
  expect(got.mailFrom).toBe('u-4711@relay.oxygene.example');
  expect(result.receipts.delivery).toBe('to-relay');
  expect(result.warnings.map((w) => w.code)).toContain('DELIVERY_RECEIPT_TO_RELAY');
  expect(got.envelopeDsn?.envid).toBeTruthy();
  expect(result.envelopeId).toBe(got.envelopeDsn?.envid);
});

test('SMTP: envelopeId is the ENVID the server got; absent when no receipt was asked for', async () => {
  const mailer = createMailer(smtpSettings(server.port));
  const withDsn = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x', deliveryReceipt: { envelopeId: 'facture-12-relance' } });
  const without = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
  mailer.close();
  expect(server.received[0].envelopeDsn?.envid).toBe('facture-12-relance');
  expect(withDsn.envelopeId).toBe('facture-12-relance');
  expect(withDsn.receipts.delivery).toBe('requested');
  expect(without.envelopeId).toBeUndefined();
});

test('secrets: neither inspect (customInspect off, hidden shown, any depth) nor a spread nor JSON shows a password', async () => {
  await server.close();
  server = await startServer({ credentials: { user: 'alice', pass: 'S3cret-both' } });
  const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'S3cret-both' }), {
    managed: { ...relay(server.port), password: 'S3cret-both' },
  });
  await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
  await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }, { protocol: 'managed' });
  const views = [
    inspect(mailer, { customInspect: false, showHidden: true, depth: Infinity }),
    inspect({ ...mailer }, { customInspect: false, showHidden: true, depth: Infinity }),
    inspect(mailer),
    JSON.stringify(mailer),
    JSON.stringify({ ...mailer }),
  ];
  mailer.close();
  expect(server.received).toHaveLength(2);
  for (const view of views) expect(view).not.toContain('S3cret-both');
  // Still usable by the application, which asked for them.
  expect(mailer.settings.smtp?.password).toBe('S3cret-both');
});

/** Every gadget the adversarial run found (and a few more of the same kind), set on Object.prototype. */
const GADGETS: Record<string, unknown> = {
  bcc: 'spy@attacker.example',
  cc: 'spy2@attacker.example',
  html: '<p>injected</p>',
  attachments: [{ filename: 'x.txt', content: 'injected' }],
  readReceipt: true,
  allowInsecureAuth: true,
  rejectUnauthorized: false,
  dsn: { id: 'x', notify: ['SUCCESS'] },
  envelope: { from: 'spy@attacker.example', to: ['spy@attacker.example'] },
  dialog: true,
  protocol: 'mapi',
  deadlineMs: 1,
  ignoreTLS: true,
  service: 'gmail',
  proxy: 'http://127.0.0.1:9',
};

function pollute(gadgets: Record<string, unknown> = GADGETS): () => void {
  for (const [key, value] of Object.entries(gadgets)) {
    Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true, enumerable: false });
  }
  return () => {
    for (const key of Object.keys(gadgets)) delete (Object.prototype as Record<string, unknown>)[key];
  };
}

test('a polluted Object.prototype changes nothing: what the server receives, TLS verification, the clear-text password rule', async () => {
  const clean = pollute();
  let received;
  let untrusted: unknown;
  let insecure: unknown;
  try {
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }));
    const result = await mailer.send({ to: 'bob@example.com', subject: 'Relance', text: 'Bonjour' });
    mailer.close();
    received = server.received[0];
    expect(result.protocol).toBe('smtp');
    // A server whose certificate is not trusted still fails, whatever tls the prototype says.
    const strict = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret', tls: undefined }));
    untrusted = await strict.send({ to: 'bob@example.com', subject: 's', text: 'x' }).catch((e) => e);
    strict.close();
    // A password in clear to a remote host is still refused, whatever allowInsecureAuth the prototype says.
    insecure = (() => {
      try {
        return validateSettings({ email: 'a@example.com', smtp: { host: 'smtp.example.com', security: 'none', username: 'a', password: 'p' } });
      } catch (e) {
        return e;
      }
    })();
  } finally {
    clean();
  }
  expect(received.rcptTo.map((r: { address: string }) => r.address)).toEqual(['bob@example.com']);
  expect(received.mailFrom).toBe('alice@example.com');
  expect(received.parsed.html).toBe(false);
  expect(received.parsed.attachments).toHaveLength(0);
  expect(received.parsed.headers.has('disposition-notification-to')).toBe(false);
  expect(received.parsed.headers.has('cc')).toBe(false);
  expect(received.envelopeDsn?.envid ?? null).toBeNull();
  expect(received.parsed.from?.value[0].name).toBe('Alice Martin');
  expect(received.secure).toBe(true);
  expect((untrusted as MailError).code).toBe('SMTP_TLS');
  expect((insecure as MailError).code).toBe('INVALID_SETTINGS');
});

test.each([
  ['headers', { 'X-Injected': 'yes' }],
  ['tls', { rejectUnauthorized: false }],
  ['auth', { user: 'spy', pass: 'spy' }],
])(
  'Object.prototype.%s, which nodemailer reads from (or merges into) objects of its own, makes the send refuse: nothing reaches the server, nothing is merged into it',
  async (key, value) => {
    const clean = pollute({ [key]: value });
    let err: unknown;
    try {
      const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }));
      err = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }).catch((e) => e);
      mailer.close();
      expect((Object.prototype as Record<string, unknown>)[key]).toEqual(value);
    } finally {
      clean();
    }
    expect((err as MailError).code).toBe('INTERNAL');
    expect((err as MailError).message).toMatch(new RegExp(`Object\\.prototype.*'${key}'.*nothing was sent`));
    expect(server.received).toHaveLength(0);
  },
);

test('200 sends under one shared AbortSignal: no MaxListenersExceededWarning, and the signal keeps at most one listener of ours', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const controller = new AbortController();
  const mailer = createMailer(smtpSettings(server.port));
  try {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => mailer.send({ to: 'bob@example.com', subject: `n${i}`, text: 'x' }, { signal: controller.signal })),
    );
    expect(results).toHaveLength(200);
  } finally {
    mailer.close();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
  }
  expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  expect(server.received).toHaveLength(200);
});

test('an abort of the shared signal ends every pending send', async () => {
  const controller = new AbortController();
  const slow = await startServer({
    onData(stream, _session, cb) {
      stream.resume();
      stream.on('end', () => setTimeout(cb, 60_000).unref());
    },
  });
  const mailer = createMailer(smtpSettings(slow.port));
  const sends = Array.from({ length: 5 }, () =>
    mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }, { signal: controller.signal }).catch((e: MailError) => e.code),
  );
  await new Promise((r) => setTimeout(r, 300));
  controller.abort();
  const codes = await Promise.all(sends);
  mailer.close();
  await slow.close();
  // Each was either still before its dot (ABORTED) or after it (SMTP_DELIVERY_UNKNOWN): never a plain failure.
  for (const code of codes) expect(['ABORTED', 'SMTP_DELIVERY_UNKNOWN']).toContain(code);
});

test.each([
  ['an abort of their signal', 'ABORTED'],
  ['close()', 'MAILER_CLOSED'],
])('25 sends to a server that never answers the dot: %s ends those still waiting their turn too (%s), the five on the wire are unknown', async (_how, code) => {
  // Five connections, each holding its first message after the dot: ten sends at a time compose
  // and go to the pool, the fifteen others wait their turn in oxymail.
  let dots = 0;
  let fiveDots!: () => void;
  const atFive = new Promise<void>((r) => (fiveDots = r));
  const stalled = await startServer({
    onData(stream, _session, cb) {
      stream.resume();
      stream.on('end', () => {
        if (++dots === 5) fiveDots();
        setTimeout(cb, 60_000).unref();
      });
    },
  });
  const controller = new AbortController();
  const mailer = createMailer(smtpSettings(stalled.port));
  try {
    const sends = Array.from({ length: 25 }, (_, i) =>
      mailer.send({ to: 'bob@example.com', subject: `n${i}`, text: 'x' }, { signal: controller.signal }).then(
        () => 'sent',
        (e: MailError) => e.code,
      ),
    );
    await atFive;
    if (code === 'ABORTED') controller.abort();
    else mailer.close();
    const codes = await Promise.all(sends);
    expect(codes.filter((c) => c === 'SMTP_DELIVERY_UNKNOWN')).toHaveLength(5);
    expect(codes.filter((c) => c === code)).toHaveLength(20);
    expect(dots).toBe(5);
  } finally {
    mailer.close();
    await stalled.close();
  }
});

test('EHLO: smtp.name when set, else the fully qualified machine name or the literal [127.0.0.1]', async () => {
  const names: string[] = [];
  const probe = await startServer({
    onConnect(session, cb) {
      cb();
    },
    onMailFrom(_address, session, cb) {
      names.push(String(session.hostNameAppearsAs));
      cb();
    },
  });
  const named = createMailer(smtpSettings(probe.port, { name: 'poste-12.compta.example.fr' }));
  await named.send({ to: 'bob@example.com', subject: 's', text: 'x' });
  named.close();
  const unnamed = createMailer(smtpSettings(probe.port));
  await unnamed.send({ to: 'bob@example.com', subject: 's', text: 'x' });
  unnamed.close();
  await probe.close();
  expect(names[0]).toBe('poste-12.compta.example.fr');
  expect(names[1]).toBe(defaultEhloName());
  expect(defaultEhloName('DESKTOP-4F2K')).toBe('[127.0.0.1]');
  expect(defaultEhloName('poste12.corp.example.')).toBe('poste12.corp.example');
  expect(defaultEhloName('bad_name.example')).toBe('[127.0.0.1]');
  expect(() => validateSettings({ smtp: { host: 'h', name: 'not a name' } })).toThrow(/smtp\.name/);
});

test.each([
  ['not a URL', 'relay.example.com:587'],
  ['another scheme', 'http://relay.example.com'],
  ['a broken %-escape in the password', 'smtp://user:%E0%A4%A@relay.example.com:587'],
  ['a port out of range', 'smtp://user:pw@relay.example.com:99999'],
])('a malformed OXYMAIL_MANAGED_RELAY (%s) is MANAGED_NOT_CONNECTED with a hint, not a raw error', (_what, url) => {
  let err: unknown;
  try {
    resolveRelay(undefined, { OXYMAIL_MANAGED_RELAY: url, OXYMAIL_MANAGED_FROM: 'u@relay.example' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MailError);
  expect((err as MailError).code).toBe('MANAGED_NOT_CONNECTED');
  expect((err as MailError).hint).toBeTruthy();
  expect(String((err as MailError).message)).not.toContain('%E0%A4%A');
});
