/**
 * Managed sending, the protocol switch at send time, application overrides and the capability
 * rule, end to end against a real smtp-server on loopback.
 */
import { inspect } from 'node:util';
import { createMailer } from '../../lib';
import { relaySettings, startServer, smtpSettings, TestServer } from '../helpers/server';
import { mailFailure as rejection } from '../helpers/fixtures';

let server: TestServer;
beforeEach(async () => {
  server = await startServer();
});
afterEach(async () => {
  await server.close();
});

const user = { label: 'Alice Martin', email: 'alice@client.example' };
const relay = relaySettings;

describe('managed relay', () => {
  test('From is the assigned address with the user label, Reply-To the user address, envelope from the relay address', async () => {
    const mailer = createMailer(user, { managed: relay(server.port) });
    const result = await mailer.send({ to: 'bob@example.com', subject: 'Relance', text: 'x', readReceipt: true });
    mailer.close();
    const got = server.received[0];
    expect(got.user).toBe('alice');
    expect(got.mailFrom).toBe('u-4711@relay.oxygene.example');
    expect(got.parsed.from?.value).toEqual([{ name: 'Alice Martin', address: 'u-4711@relay.oxygene.example' }]);
    expect(got.parsed.replyTo?.value).toEqual([{ name: 'Alice Martin', address: 'alice@client.example' }]);
    expect(got.raw.toString()).toMatch(/^Disposition-Notification-To: <alice@client\.example>\r$/m);
    expect(result.protocol).toBe('managed');
  });

  test("the user's own SMTP sender name and reply address do not change managed mail", async () => {
    const mailer = createMailer(
      { ...user, smtp: { host: 'smtp.example.com', senderName: 'Someone Else', replyTo: 'other@example.com' } },
      { managed: relay(server.port) },
    );
    await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    mailer.close();
    const m = server.received[0].parsed;
    expect(m.from?.value[0]).toEqual({ name: 'Alice Martin', address: 'u-4711@relay.oxygene.example' });
    expect(m.replyTo?.value[0].address).toBe('alice@client.example');
  });

  test('the relay can come from OXYMAIL_MANAGED_RELAY and OXYMAIL_MANAGED_FROM', async () => {
    // smtp:// on loopback with STARTTLS offered by a self-signed server: 'none' is not expressible in the URL,
    // so this server hides STARTTLS and the relay is used in clear text on loopback.
    await server.close();
    server = await startServer({ hideSTARTTLS: true });
    process.env.OXYMAIL_MANAGED_RELAY = `smtp://alice:secret@127.0.0.1:${server.port}`;
    process.env.OXYMAIL_MANAGED_FROM = 'u-1@relay.oxygene.example';
    try {
      const mailer = createMailer(user);
      await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
      mailer.close();
    } finally {
      delete process.env.OXYMAIL_MANAGED_RELAY;
      delete process.env.OXYMAIL_MANAGED_FROM;
    }
    expect(server.received[0].mailFrom).toBe('u-1@relay.oxygene.example');
    expect(server.received[0].user).toBe('alice');
  });

  test('bulk (CRM) mail is refused and nothing is sent', async () => {
    const mailer = createMailer(user, { managed: relay(server.port), unsupported: 'warn' });
    const err = await rejection(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x', bulk: true }));
    mailer.close();
    expect(err.code).toBe('MANAGED_BULK_FORBIDDEN');
    expect(err.hint).toMatch(/customize/);
    expect(server.received).toHaveLength(0);
    expect(server.logins).toHaveLength(0);
  });

  test('without a relay: MANAGED_NOT_CONNECTED with a hint to customize', async () => {
    const mailer = createMailer(user);
    const err = await rejection(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }));
    expect(err.code).toBe('MANAGED_NOT_CONNECTED');
    expect(err.hint).toMatch(/customize/);
  });
});

describe('protocol switch, overrides and the capability rule', () => {
  test.each([
    ['a password in clear text to a remote relay', { security: 'none', host: 'relay.suite.example' }, 'security', /clear text/],
    ['a misspelt credential field', { user: 'alice', pass: 'secret' }, 'user', /unknown relay field/],
    ['port 465 with STARTTLS', { port: 465, security: 'starttls' }, 'security', /465/],
    ['an invalid assigned address', { assignedAddress: 'u-4711\r\nBcc: x@example.com' }, 'assignedAddress', /CR or LF/],
  ])('a relay with %s is refused before connecting, naming the field', async (_what, change, path, message) => {
    const mailer = createMailer(user, { managed: { ...relay(server.port), ...change } as never });
    const err = await rejection(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }));
    mailer.close();
    expect(err.code).toBe('MANAGED_NOT_CONNECTED');
    expect(err.problems).toContainEqual(expect.objectContaining({ path, message: expect.stringMatching(message) }));
    expect(err.message).not.toContain('secret');
    expect(server.received).toHaveLength(0);
    expect(server.logins).toHaveLength(0);
  });

  test('MAPI user with SMTP parameters kept: sendOptions.protocol switches this send to SMTP', async () => {
    const settings = { ...smtpSettings(server.port), protocol: 'mapi' as const, mapi: { profile: 'Outlook' } };
    const mailer = createMailer(settings);
    expect(mailer.protocol).toBe('mapi');
    const result = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x', importance: 'very-high' }, { protocol: 'smtp' });
    mailer.close();
    expect(result.protocol).toBe('smtp');
    expect(server.received[0].raw.toString()).toMatch(/^X-Priority: 1 \(Highest\)\r$/m);
  });

  test("an application's overrides win, and effectiveSettings says where each value came from", async () => {
    const settings = smtpSettings(1, { username: 'alice', password: 'secret' });
    const mailer = createMailer(settings, { overrides: { smtp: { port: server.port, senderName: 'Gestion Commerciale' }, defaults: { importance: 'high' } } });
    const eff = mailer.effectiveSettings;
    expect(eff['smtp.port']).toEqual({ value: server.port, source: 'application' });
    expect(eff['smtp.host']).toEqual({ value: '127.0.0.1', source: 'user' });
    expect(eff['smtp.security']).toEqual({ value: 'auto', source: 'default' });
    expect(eff['defaults.importance']).toEqual({ value: 'high', source: 'application' });
    expect(eff['smtp.password']).toEqual({ value: '********', source: 'user' });
    await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' });
    mailer.close();
    const got = server.received[0];
    expect(got.parsed.from?.value[0].name).toBe('Gestion Commerciale');
    expect(got.raw.toString()).toMatch(/^X-Priority: 2 \(High\)\r$/m);
  });

  test('printing or serialising a mailer shows neither the password nor the relay credentials', () => {
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'S3cret-pw' }), { managed: relay(server.port) });
    const shown = [inspect(mailer, { depth: 10 }), JSON.stringify(mailer)].join('\n');
    expect(shown).toMatch(/protocol.*smtp/);
    expect(shown).toContain('********');
    expect(shown).not.toMatch(/S3cret-pw|secret/);
    mailer.close();
  });

  test('an explicit option SMTP cannot honour fails with UNSUPPORTED_OPTION and nothing is sent', async () => {
    const mailer = createMailer(smtpSettings(server.port));
    const err = await rejection(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }, { dialog: true }));
    mailer.close();
    expect(err.code).toBe('UNSUPPORTED_OPTION');
    expect(err.message).toMatch(/'dialog'.*'smtp'/);
    expect(server.received).toHaveLength(0);
  });

  test("with unsupported: 'warn' the option is dropped, the message sent, and a warning says so", async () => {
    const mailer = createMailer(smtpSettings(server.port), { unsupported: 'warn' });
    const result = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }, { dialog: true });
    mailer.close();
    expect(server.received).toHaveLength(1);
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'OPTION_DROPPED', message: expect.stringMatching(/'dialog'/) })]);
  });

  test('HTML to a Simple MAPI user fails before any MAPI call (UNSUPPORTED_OPTION, not MAPI_UNAVAILABLE)', async () => {
    const mailer = createMailer({ email: 'alice@example.com', customize: true, protocol: 'mapi' });
    const err = await rejection(mailer.send({ to: 'bob@example.com', subject: 's', html: '<b>x</b>' }));
    expect(err.code).toBe('UNSUPPORTED_OPTION');
    expect(err.protocol).toBe('mapi');
    expect(err.message).toMatch(/'html'.*'mapi-simple'/);
  });

  test('a settings default MAPI cannot honour is dropped with a warning, never an error', async () => {
    const mailer = createMailer({ email: 'alice@example.com', customize: true, protocol: 'mapi', defaults: { deliveryReceipt: true, importance: 'high' } });
    // The send goes past the capability rule and stops at MAPI_UNAVAILABLE (no MAPI off Windows;
    // test/windows/mapi.test.ts 'strictDefaults' checks the warnings of a real MAPI send).
    const err = await rejection(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }));
    expect(err.code).toBe('MAPI_UNAVAILABLE');
    expect(err.hint).toMatch(/SMTP/);
  });
});
