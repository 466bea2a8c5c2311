/**
 * verify() reports what the connection did, read from the connection itself: the TLS version and
 * cipher negotiated (or none, when the session stayed in clear), and the login the server accepted.
 */
import { createMailer, MailError } from '../../lib';
import { smtpSettings, startServer, TestServer } from '../helpers/server';

const servers: TestServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));
async function server(options: Parameters<typeof startServer>[0] = {}) {
  const s = await startServer(options);
  servers.push(s);
  return s;
}

test('STARTTLS: the negotiated version and cipher, and the login the server accepted (PLAIN)', async () => {
  const s = await server();
  const mailer = createMailer(smtpSettings(s.port, { username: 'alice', password: 'secret' }));
  const r = await mailer.verify();
  mailer.close();
  expect(r).toMatchObject({ tls: 'starttls', tlsPolicy: 'starttls-when-offered', authenticatedAs: 'alice', authMethod: 'PLAIN' });
  if (!('tlsProtocol' in r)) throw new Error('not an SMTP result');
  expect(r.tlsProtocol).toMatch(/^TLSv1\.[23]$/);
  expect(r.cipher).toMatch(/^TLS_[A-Z0-9_]+$/);
  expect(s.logins).toEqual([{ user: 'alice', ok: true }]);
  expect(s.received).toEqual([]);
});

test('a server that hides STARTTLS: the session stayed in clear and verify says so, whatever the policy hoped', async () => {
  const s = await server({ hideSTARTTLS: true });
  const mailer = createMailer(smtpSettings(s.port));
  const r = await mailer.verify();
  mailer.close();
  expect(r).toMatchObject({ tls: 'none', tlsProtocol: null, cipher: null, tlsPolicy: 'starttls-when-offered', authenticatedAs: null, authMethod: null });
});

test('implicit TLS on a TLS port, and LOGIN when the server offers only LOGIN', async () => {
  const s = await server({ secure: true, authMethods: ['LOGIN'] });
  const mailer = createMailer(smtpSettings(s.port, { security: 'tls', username: 'alice', password: 'secret' }));
  const r = await mailer.verify();
  mailer.close();
  expect(r).toMatchObject({ tls: 'implicit', tlsPolicy: 'implicit', authenticatedAs: 'alice', authMethod: 'LOGIN' });
  expect(s.logins).toEqual([{ user: 'alice', ok: true }]);
});

test('no credentials: no login is claimed, even though the server offers AUTH', async () => {
  const s = await server();
  const mailer = createMailer(smtpSettings(s.port));
  const r = await mailer.verify();
  mailer.close();
  expect(r).toMatchObject({ tls: 'starttls', authenticatedAs: null, authMethod: null });
  expect(s.logins).toEqual([]);
});

test('a refused login is SMTP_AUTH, as for a send', async () => {
  const s = await server();
  const mailer = createMailer(smtpSettings(s.port, { username: 'alice', password: 'wrong' }));
  const err = await mailer.verify().catch((e) => e);
  mailer.close();
  expect(err).toBeInstanceOf(MailError);
  expect(err).toMatchObject({ code: 'SMTP_AUTH', responseCode: 535 });
  expect(s.logins).toEqual([{ user: 'alice', ok: false }]);
});
