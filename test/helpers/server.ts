/**
 * A real SMTP server on loopback (smtp-server) that records what it received: the envelope with
 * its DSN parameters, the login, and the raw message parsed by mailparser.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleParser, ParsedMail } from 'mailparser';
import { SMTPServer, SMTPServerOptions } from 'smtp-server';

export interface Received {
  mailFrom: string;
  mailFromArgs: Record<string, unknown> | false;
  envelopeDsn?: { ret?: string | null; envid?: string | null };
  rcptTo: { address: string; args: Record<string, unknown> | false; dsn?: { notify?: string[]; orcpt?: string } }[];
  user?: string;
  secure: boolean;
  raw: Buffer;
  parsed: ParsedMail;
}

export interface TestServer {
  port: number;
  received: Received[];
  logins: { user: string; ok: boolean }[];
  close(): Promise<void>;
}

export interface ServerOptions extends Partial<SMTPServerOptions> {
  /** Recipients the server refuses with 550. */
  rejectRcpt?: string[];
  /** Refuse every login with this reply. */
  authError?: { responseCode: number; message: string };
  /** Accepted credentials (default alice / secret). */
  credentials?: { user: string; pass: string };
  /** Listen on this port (default: any free one). */
  listenPort?: number;
  /** Client connections that die (a client killed with -9) are expected: their socket errors are ignored. */
  clientsMayDie?: boolean;
}

let certCache: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1 / localhost, made once per test process with openssl. */
export function testCert(): { key: string; cert: string } {
  if (certCache) return certCache;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'oxymail-cert-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  certCache = { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  return certCache;
}

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const { rejectRcpt = [], authError, credentials = { user: 'alice', pass: 'secret' }, listenPort = 0, clientsMayDie = false, ...rest } = options;
  const received: Received[] = [];
  const logins: TestServer['logins'] = [];
  const { key, cert } = testCert();
  const server = new SMTPServer({
    hideDSN: false,
    authOptional: true,
    key,
    cert,
    logger: false,
    onAuth(auth, _session, cb) {
      const ok = !authError && auth.username === credentials.user && auth.password === credentials.pass;
      logins.push({ user: auth.username ?? '', ok });
      if (authError) return cb(Object.assign(new Error(authError.message), { responseCode: authError.responseCode }));
      if (!ok) return cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
      cb(null, { user: auth.username });
    },
    onRcptTo(address, _session, cb) {
      if (rejectRcpt.includes(address.address)) return cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const env = session.envelope;
        const from = env.mailFrom || { address: '', args: false as const };
        received.push({
          mailFrom: from.address,
          mailFromArgs: from.args as Record<string, unknown> | false,
          envelopeDsn: env.dsn,
          rcptTo: env.rcptTo.map((r) => ({ address: r.address, args: r.args as Record<string, unknown> | false, dsn: r.dsn })),
          user: session.user as string | undefined,
          secure: session.secure,
          raw,
          parsed: await simpleParser(raw),
        });
        cb();
      });
    },
    ...rest,
  });
  if (clientsMayDie) server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, received, logins, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** SMTP settings pointing at a test server, trusting its certificate. */
export function smtpSettings(port: number, smtp: Record<string, unknown> = {}, top: Record<string, unknown> = {}) {
  return {
    label: 'Alice Martin',
    email: 'alice@example.com',
    customize: true,
    protocol: 'smtp' as const,
    smtp: { host: '127.0.0.1', port, tls: { ca: testCert().cert }, ...smtp },
    ...top,
  };
}

/** The managed relay of the tests: the loopback server, its test certificate and the assigned sender. */
export function relaySettings(port: number) {
  return {
    host: '127.0.0.1',
    port,
    username: 'alice',
    password: 'secret',
    assignedAddress: 'u-4711@relay.oxygene.example',
    tls: { ca: testCert().cert },
  };
}
