/**
 * French messages from a real failure: a mailer created with { locale: 'fr' } (or under
 * OXYMAIL_LANG=fr) gives the server's refusal with a French message and hint, the same code and
 * reply code, against a real smtp-server on loopback; warnings too. English otherwise.
 */
import { createMailer, MailError } from '../../lib';
import { startServer, smtpSettings, TestServer } from '../helpers/server';
import { mailFailure as failure } from '../helpers/fixtures';

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

const GMAIL_535 = {
  responseCode: 535,
  message: '5.7.8 Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials',
};

/** Runs `fn` with OXYMAIL_LANG set, then puts the test default (en) back. */
async function withLang<T>(lang: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.OXYMAIL_LANG;
  process.env.OXYMAIL_LANG = lang;
  try {
    return await fn();
  } finally {
    process.env.OXYMAIL_LANG = before;
  }
}

test("locale 'fr': a Gmail-like 535 is SMTP_AUTH with a French message and the product page's app-password steps", async () => {
  server = await startServer({ authError: GMAIL_535 });
  const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }), { locale: 'fr' });
  const err = await failure(mailer.send({ to: 'bob@example.com', subject: 'Facture', text: 'x' }));
  mailer.close();
  expect(err.code).toBe('SMTP_AUTH');
  expect(err.responseCode).toBe(535);
  expect(err.message).toMatch(/^send \(SMTP 127\.0\.0\.1:\d+, AUTH PLAIN\) : authentification refusée : 535 5\.7\.8 Username and Password not accepted/);
  expect(err.stack?.split('\n')[0]).toBe(`MailError: ${err.message}`);
  for (const step of [
    "créez un mot de passe d'application",
    'Accédez à votre compte Google.',
    'Sélectionnez Sécurité',
    'Sous « Se connecter à Google », sélectionnez Mots de passe des applications.',
    'Générer',
  ]) {
    expect(err.hint).toContain(step);
  }
  expect(server.logins).toEqual([{ user: 'alice', ok: false }]);
  expect(server.received).toHaveLength(0);
});

test('OXYMAIL_LANG=fr without a locale option: a wrong password gives the French generic hint; locale en still wins', async () => {
  server = await startServer();
  const fr = await withLang('fr_FR.UTF-8', async () => {
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'wrong' }));
    const err = await failure(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }));
    mailer.close();
    return err;
  });
  expect(fr.code).toBe('SMTP_AUTH');
  expect(fr.responseCode).toBe(535);
  expect(fr.message).toContain(' : authentification refusée : 535');
  expect(fr.hint).toBe(
    "Vérifiez smtp.username et smtp.password (le compte de la société), et si le serveur SMTP attend l'adresse e-mail complète comme identifiant.",
  );
  const en = await withLang('fr', async () => {
    const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'wrong' }), { locale: 'en-GB' });
    const err = await failure(mailer.send({ to: 'bob@example.com', subject: 's', text: 'x' }));
    mailer.close();
    return err;
  });
  expect(en.code).toBe('SMTP_AUTH');
  expect(en.message).toContain(': login refused: 535');
  expect(en.hint).toMatch(/^Check smtp\.username and smtp\.password/);
  expect(server.received).toHaveLength(0);
});

test("locale 'fr': a warning from a real send (no DSN on the server) and invalid settings come in French, codes unchanged", async () => {
  server = await startServer({ hideDSN: true });
  const mailer = createMailer(smtpSettings(server.port, { username: 'alice', password: 'secret' }), { locale: 'fr' });
  const result = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x', deliveryReceipt: true });
  mailer.close();
  expect(server.received).toHaveLength(1);
  expect(result.warnings).toEqual([
    {
      code: 'DELIVERY_RECEIPT_UNSUPPORTED',
      message:
        "le serveur SMTP n'annonce pas DSN : l'accusé de réception n'a pas été demandé (demandez plutôt un accusé de lecture, ou utilisez un serveur qui propose DSN)",
    },
  ]);

  let invalid: MailError | undefined;
  try {
    createMailer(
      { customize: true, protocol: 'smtp', email: 'alice@example.com', smtp: { host: 'mail.example.com', port: 465, security: 'starttls' } },
      { locale: 'fr' },
    );
  } catch (e) {
    invalid = e as MailError;
  }
  expect(invalid?.code).toBe('INVALID_SETTINGS');
  expect(invalid?.message).toBe(
    "settings : paramètres d'envoi de l'utilisateur invalides :\n  - smtp.security : 'starttls' contredit le port 465, qui parle TLS dès le premier octet",
  );
  expect(invalid?.problems).toEqual([
    {
      path: 'smtp.security',
      message: "'starttls' contredit le port 465, qui parle TLS dès le premier octet",
      hint: "Utilisez la sécurité 'tls' (ou 'auto') avec le port 465, ou le port 587 avec 'starttls'.",
    },
  ]);
  expect(invalid?.hint).toBe("Utilisez la sécurité 'tls' (ou 'auto') avec le port 465, ou le port 587 avec 'starttls'.");
});
