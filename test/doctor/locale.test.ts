/**
 * runDoctor({ locale }): the whole report in the doctor's language whatever the process default,
 * the facts' words (why MAPI is unavailable, why the login was skipped), the probe's messages (the
 * handshake's and the login's errors) and the settings backup line included, with the real probe
 * against a real smtp-server on loopback. The process default is English here (jest sets
 * OXYMAIL_LANG=en); one test turns it French and asks for English.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DoctorReport, formatDoctorReport, runDoctor } from '../../lib/doctor';
import { smtpSettings, startServer, TestServer } from '../helpers/server';
import { tempDir } from '../helpers/fixtures';

function line(report: DoctorReport, id: string) {
  const found = report.lines.find((l) => l.id === id);
  if (!found) throw new Error(`no line ${id} in ${JSON.stringify(report.lines.map((l) => l.id))}`);
  return found;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const onLinux = process.platform !== 'win32';

test("locale 'fr' in an English process: a refused login, its server reply and hint in French; MAPI's reason too", async () => {
  server = await startServer();
  const report = await runDoctor({ settings: smtpSettings(server.port, { username: 'alice', password: 'Wr0ng-P4ss' }), locale: 'fr' });
  expect(line(report, 'smtp.login')).toMatchObject({
    verdict: 'fail',
    title: "Échec de l'authentification (SMTP_AUTH)",
    detail: expect.stringMatching(/authentification refusée : 535.*Vérifiez smtp\.username et smtp\.password/),
  });
  if (onLinux) {
    expect(report.facts.mapi).toEqual({ available: false, reason: `MAPI n'existe que sous Windows (ici : ${process.platform})` });
    expect(line(report, 'mapi.platform').detail).toBe(`MAPI n'existe que sous Windows (ici : ${process.platform}). Utilisez SMTP sur cet ordinateur.`);
  }
  const printed = formatDoctorReport(report, { color: false, locale: 'fr' });
  expect(printed).toMatch(/^Recommandation : SMTP$/m);
  expect(printed).not.toMatch(/Check smtp|authentication refused|only on Windows|Login failed/i);
  expect(JSON.stringify(report)).not.toContain('Wr0ng-P4ss');
});

test("locale 'fr': implicit TLS against a STARTTLS server fails the handshake in French", async () => {
  server = await startServer();
  const report = await runDoctor({ settings: smtpSettings(server.port, { security: 'tls' }), locale: 'fr' });
  const h = line(report, 'smtp.handshake');
  expect(h.verdict).toBe('fail');
  expect(report.facts.smtp?.handshake).toMatchObject({ ok: false, code: 'SMTP_TLS' });
  const fact = report.facts.smtp?.handshake as { message: string; hint?: string };
  expect(h.detail).toBe([fact.message, fact.hint].filter(Boolean).join(' '));
  expect(fact.message).toMatch(/^verify \(SMTP 127\.0\.0\.1:\d+\) : échec TLS : .*wrong version number/);
  expect(fact.hint).toBe(
    `Le port ${server.port} parle SMTP en clair avec STARTTLS, pas TLS implicite : utilisez la sécurité 'auto' ou 'starttls' (ou le port 465 avec 'tls').`,
  );
});

test("locale 'fr': OAuth2 never signed in: the login is skipped and the doctor says why, in French", async () => {
  server = await startServer();
  const settings = smtpSettings(server.port, { username: 'alice@example.com', oauth2: { provider: 'microsoft', clientId: 'c1' } });
  const report = await runDoctor({ settings, locale: 'fr', userId: 'alice' });
  expect(report.facts.smtp?.loginSkipped).toBe('pas encore de connexion OAuth2');
  expect(line(report, 'smtp.login')).toEqual({
    id: 'smtp.login',
    verdict: 'info',
    title: 'Authentification non essayée',
    detail: 'pas encore de connexion OAuth2 (voir plus haut).',
  });
  expect(line(report, 'smtp.oauth2')).toEqual({
    id: 'smtp.oauth2',
    verdict: 'fail',
    title: 'OAuth2 (microsoft) : pas connecté',
    detail: 'Connectez-vous une fois : oxymail auth login alice',
  });
  expect(server.logins).toEqual([]);
});

test("locale 'fr': a settings backup that is a symbolic link is a FAIL line in French", async () => {
  const dir = tempDir();
  const store = path.join(dir, 'users.json');
  await fs.writeFile(store, '{"version":1,"users":{}}', { mode: 0o600 });
  await fs.writeFile(path.join(dir, 'elsewhere'), '');
  await fs.symlink(path.join(dir, 'elsewhere'), `${store}.bak`);
  const report = await runDoctor({ storePath: store, locale: 'fr' });
  expect(line(report, 'store.bak')).toEqual({
    id: 'store.bak',
    verdict: 'fail',
    title: `La sauvegarde des paramètres ${store}.bak est un lien symbolique`,
    detail: `Supprimez-la (rm ${store}.bak) : la prochaine écriture en fera une vraie.`,
  });
  const english = await runDoctor({ storePath: store });
  expect(line(english, 'store.bak').title).toBe(`Settings backup ${store}.bak is a symbolic link`);
});

test("locale 'en' in a French process: the same facts and probe messages in English", async () => {
  server = await startServer();
  const before = process.env.OXYMAIL_LANG;
  process.env.OXYMAIL_LANG = 'fr';
  try {
    const settings = smtpSettings(server.port, { username: 'alice@example.com', oauth2: { provider: 'microsoft', clientId: 'c1' } });
    const report = await runDoctor({ settings, locale: 'en' });
    expect(report.facts.smtp?.loginSkipped).toBe('not signed in to OAuth2 yet');
    expect(line(report, 'smtp.oauth2').title).toBe('OAuth2 (microsoft): not signed in');
    if (onLinux) expect(report.facts.mapi).toEqual({ available: false, reason: expect.stringMatching(/Windows/) });
    if (onLinux) expect((report.facts.mapi as { reason: string }).reason).not.toMatch(/n'existe|ici/);
    const refused = await runDoctor({ settings: smtpSettings(server.port, { username: 'alice', password: 'nope' }), locale: 'en' });
    expect(line(refused, 'smtp.login').detail).toMatch(/535.*Check smtp\.username and smtp\.password/);
  } finally {
    process.env.OXYMAIL_LANG = before;
  }
});
