/**
 * The README's "In code" example, run as written: the block is read from README.md, transpiled
 * and executed against a real smtp-server for the SMTP and managed protocols. MAPI exists only on
 * Windows (under Wine in test/windows), so for both MAPI interfaces the same message goes through
 * the stages a MAPI send runs before the addon is called: validation and the capability rule.
 */
import { createMailer, MailError } from '../../lib';
import { checkCapabilities, protocolKey, requestedFeatures } from '../../lib/capabilities';
import { validateMessage } from '../../lib/message';
import { validateSettings } from '../../lib/settings';
import { tempDir, VCARD, writeFixture } from '../helpers/fixtures';
import { compileExample, exampleCall, readmeExample } from '../helpers/readme';
import { smtpSettings, startServer, testCert, TestServer } from '../helpers/server';

let server: TestServer;
let cwd: string;
const original = process.cwd();

beforeAll(async () => {
  server = await startServer();
  // The example attaches 'facture-12.pdf' by a relative path.
  cwd = tempDir();
  writeFixture(cwd, 'facture-12.pdf', '%PDF-1.4 facture 12\n');
  process.chdir(cwd);
});
afterAll(async () => {
  process.chdir(original);
  await server.close();
});
beforeEach(() => server.received.splice(0));

const run = compileExample();
const relay = () => ({
  host: '127.0.0.1',
  port: server.port,
  security: 'starttls' as const,
  tls: { ca: testCert().cert },
  assignedAddress: 'noreply@suite.example',
});

test.each([
  ['smtp', () => smtpSettings(server.port), []],
  // The relay is the envelope sender: its delivery reports go to the relay, and the result says so.
  ['managed', () => ({ label: 'Alice Martin', email: 'alice@example.com' }), ['DELIVERY_RECEIPT_TO_RELAY']],
])('%s: the example sends as written, and the server gets every part of it', async (protocol, settings, warnings) => {
  const result = await run(createMailer, settings(), relay(), VCARD);
  expect(result).toMatchObject({ protocol, accepted: ['bob@example.com', 'zoe@example.com', 'carol@example.com'], rejected: [] });
  expect(result.warnings.map((w) => w.code)).toEqual(warnings);
  expect(server.received).toHaveLength(1);
  const got = server.received[0];
  expect(got.rcptTo.map((r) => [r.address, r.dsn?.notify])).toEqual([
    ['bob@example.com', ['SUCCESS', 'FAILURE']],
    ['zoe@example.com', ['SUCCESS', 'FAILURE']],
    ['carol@example.com', ['SUCCESS', 'FAILURE']],
  ]);
  expect(got.parsed.subject).toBe('Facture n° 12');
  expect(got.parsed.text).toContain('Veuillez trouver la facture ci-jointe.');
  expect(got.parsed.html).toContain('<p>Bonjour,</p>');
  expect(got.raw.toString()).toMatch(/^Importance: high\r$/m);
  expect(got.raw.toString()).toMatch(/^X-Priority: 2 \(High\)\r$/m);
  expect(got.raw.toString()).toMatch(/^Disposition-Notification-To: <alice@example\.com>\r$/m);
  expect(got.parsed.attachments.map((a) => [a.filename, a.contentType])).toEqual([
    ['facture-12.pdf', 'application/pdf'],
    ['zoe.vcf', 'text/vcard'],
  ]);
});

describe('MAPI: the capability stage of a send, for the same message', () => {
  async function capabilityStage(mapiInterface: 'simple' | 'extended', policy: 'warn' | 'error') {
    const settings = validateSettings({ email: 'zoe@example.fr', customize: true, protocol: 'mapi', mapi: { interface: mapiInterface } });
    const msg = await validateMessage((await exampleCall(VCARD)).message);
    const warnings: { code: string; message: string }[] = [];
    const requested = requestedFeatures(msg, {}, settings.defaults, !!settings.mapi?.dialog);
    const dropped = checkCapabilities(protocolKey('mapi', mapiInterface), requested, policy, warnings as never);
    return { dropped: [...dropped].sort(), warnings: warnings.map((w) => w.code).sort() };
  }

  test("the example's own createMailer call asks for unsupported: 'warn'", () => {
    expect(readmeExample()).toMatch(/createMailer\(userSettings, \{[^}]*unsupported: 'warn'/);
  });

  test('simple: the text goes without the HTML (HTML_DROPPED), importance and the delivery receipt are dropped with warnings', async () => {
    expect(await capabilityStage('simple', 'warn')).toEqual({
      dropped: ['deliveryReceipt', 'html', 'importance'],
      warnings: ['HTML_DROPPED', 'OPTION_DROPPED', 'OPTION_DROPPED'],
    });
  });

  test('extended: only the HTML is left out, and that is no error even under the strict policy', async () => {
    expect(await capabilityStage('extended', 'warn')).toEqual({ dropped: ['html'], warnings: ['HTML_DROPPED'] });
    expect(await capabilityStage('extended', 'error')).toEqual({ dropped: ['html'], warnings: ['HTML_DROPPED'] });
  });

  test('simple, strict policy: one UNSUPPORTED_OPTION lists every option at fault at once, and not the HTML', async () => {
    const err = (await capabilityStage('simple', 'error').catch((e) => e)) as MailError;
    expect(err).toBeInstanceOf(MailError);
    expect(err.code).toBe('UNSUPPORTED_OPTION');
    expect(err.problems?.map((p) => p.path)).toEqual(['importance', 'deliveryReceipt']);
    expect(err.message).toMatch(/options 'importance' and 'deliveryReceipt' are not supported by protocol 'mapi-simple'/);
  });
});
