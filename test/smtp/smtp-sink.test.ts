/**
 * An independent server: Postfix's smtp-sink. It dumps each transaction with the MAIL FROM and
 * RCPT TO parameters it received (X-Mail-Args / X-Rcpt-Args), which is ground truth for DSN.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { simpleParser } from 'mailparser';
import { createMailer, MailError } from '../../lib';
import { freePort, tempDir } from '../helpers/fixtures';
import { requireTool } from '../helpers/tools';

const SINK = '/usr/sbin/smtp-sink';

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`smtp-sink did not start on port ${port}`);
}

interface Sink {
  port: number;
  dir: string;
  proc: ChildProcess;
  dumps(): string[];
}

async function startSink(flags: string[] = []): Promise<Sink> {
  const port = await freePort();
  const dir = tempDir('oxymail-sink-');
  const proc = spawn(SINK, ['-u', process.getuid?.() === 0 ? 'root' : String(process.env.USER), ...flags, '-d', `${dir}/%M.`, `127.0.0.1:${port}`, '16'], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  return { port, dir, proc, dumps: () => readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'latin1')) };
}

const settings = (port: number, smtp: object = {}) => ({
  label: 'Hélène Durand',
  email: 'helene@example.com',
  customize: true,
  protocol: 'smtp' as const,
  smtp: { host: '127.0.0.1', port, security: 'none' as const, ...smtp },
});

if (requireTool('Postfix smtp-sink', SINK, 'apt-get install -y postfix')) {
  describe('against Postfix smtp-sink', () => {
    let sink: Sink;
    afterEach(() => sink.proc.kill());

    test('DSN parameters, importance and the French subject as the sink received them', async () => {
      sink = await startSink();
      const mailer = createMailer(settings(sink.port));
      const result = await mailer.send({
        to: ['bob@example.com', 'zoe@example.com'],
        cc: 'carol@example.com',
        subject: 'Échéance de la facture n° 12',
        text: 'Bonjour Zoé',
        importance: 'very-low',
        deliveryReceipt: { notify: ['failure'], ret: 'full', envelopeId: 'ENV-42' },
      });
      mailer.close();
      const [dump] = sink.dumps();
      expect(dump).toMatch(/^X-Mail-Args: <helene@example\.com> RET=FULL ENVID=ENV-42$/m);
      const rcpts = dump.match(/^X-Rcpt-Args: .*$/gm);
      expect(rcpts).toEqual([
        'X-Rcpt-Args: <bob@example.com> NOTIFY=FAILURE',
        'X-Rcpt-Args: <zoe@example.com> NOTIFY=FAILURE',
        'X-Rcpt-Args: <carol@example.com> NOTIFY=FAILURE',
      ]);
      const parsed = await simpleParser(Buffer.from(dump, 'latin1'));
      expect(parsed.subject).toBe('Échéance de la facture n° 12');
      expect(parsed.from?.value[0]).toEqual({ name: 'Hélène Durand', address: 'helene@example.com' });
      expect(dump).toMatch(/^X-Priority: 5 \(Lowest\)$/m);
      expect(result.receipts.delivery).toBe('requested');
    });

    test('a sink that hides DSN (-N): no DSN parameters on the wire, and the result says so', async () => {
      sink = await startSink(['-N']);
      const mailer = createMailer(settings(sink.port));
      const result = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x', deliveryReceipt: true });
      mailer.close();
      const [dump] = sink.dumps();
      expect(dump).toMatch(/^X-Mail-Args: <helene@example\.com>$/m);
      expect(dump).toMatch(/^X-Rcpt-Args: <bob@example\.com>$/m);
      expect(result.receipts.delivery).toBe('unsupported-by-server');
    });

    test('a sink that hides AUTH (-a) and refuses it: the forced login is tried and fails, nothing sent', async () => {
      sink = await startSink(['-a', '-f', 'auth']); // hidden, and refused if tried
      const mailer = createMailer(settings(sink.port, { username: 'helene', password: 'pw' }));
      const err = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }).catch((e: MailError) => e);
      mailer.close();
      expect((err as MailError).code).toBe('SMTP_AUTH');
      expect(sink.dumps()).toEqual([]);
    });

    test('RCPT refused with 5xx (-f rcpt): SMTP_REJECTED, permanent', async () => {
      sink = await startSink(['-f', 'rcpt']);
      const mailer = createMailer(settings(sink.port));
      const err = (await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }).catch((e) => e)) as MailError;
      mailer.close();
      expect(err.code).toBe('SMTP_REJECTED');
      expect(err.responseCode).toBeGreaterThanOrEqual(500);
      expect(err.permanent).toBe(true);
    });

    test('message refused after DATA (-f .): SMTP_MESSAGE_REJECTED', async () => {
      sink = await startSink(['-f', '.']);
      const mailer = createMailer(settings(sink.port));
      const err = (await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }).catch((e) => e)) as MailError;
      mailer.close();
      expect(err.code).toBe('SMTP_MESSAGE_REJECTED');
      expect(err.responseCode).toBe(500);
    });
  });
}
