/**
 * The real `oxymail` binary under OXYMAIL_LANG=fr (and --lang fr): French error lines, hints and
 * output, the codes unchanged, against a real smtp-server on loopback.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startServer, smtpSettings, TestServer } from '../helpers/server';
import { tempDir } from '../helpers/fixtures';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

let server: TestServer;
afterEach(async () => {
  await server?.close();
});

function settingsFile(port: number, password: string): string {
  const file = path.join(tempDir(), 'alice.json');
  writeFileSync(file, JSON.stringify(smtpSettings(port, { username: 'alice', password })));
  return file;
}

test('OXYMAIL_LANG=fr: a refused login prints the French error and hint, the code in brackets, the password never', async () => {
  server = await startServer();
  const file = settingsFile(server.port, 'Wr0ng-Pa55');
  const r = await run(['send', '--settings', file, '--to', 'bob@example.com', '--subject', 'Facture', '--text', 'Bonjour'], { OXYMAIL_LANG: 'fr' });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^erreur \[SMTP_AUTH\] : send \(SMTP 127\.0\.0\.1:\d+, AUTH PLAIN\) : authentification refusée : 535/);
  expect(r.stderr).toContain(
    "conseil : Vérifiez smtp.username et smtp.password (le compte de la société), et si le serveur SMTP attend l'adresse e-mail complète comme identifiant.",
  );
  expect(r.stdout + r.stderr).not.toContain('Wr0ng-Pa55');
  expect(server.received).toHaveLength(0);

  const json = await run(['send', '--settings', file, '--to', 'bob@example.com', '--subject', 'Facture', '--text', 'Bonjour', '--json'], {
    LANG: 'fr_FR.UTF-8',
    OXYMAIL_LANG: '',
  });
  expect(json.code).toBe(1);
  const doc = JSON.parse(json.stdout) as { error: { code: string; message: string; hint: string } };
  expect(doc.error.code).toBe('SMTP_AUTH');
  expect(doc.error.message).toContain('authentification refusée');
  expect(doc.error.hint).toMatch(/^Vérifiez smtp\.username/);
});

test('OXYMAIL_LANG=fr: the doctor speaks French (verdicts, recommendation), its ids and --json keys unchanged', async () => {
  server = await startServer();
  const store = path.join(tempDir(), 'users.json');
  writeFileSync(store, JSON.stringify({ version: 1, users: { alice: smtpSettings(server.port, { username: 'alice', password: 'secret' }) } }), { mode: 0o600 });
  const env = { OXYMAIL_LANG: 'fr', OXYMAIL_SETTINGS: store };
  const r = await run(['doctor', '--user', 'alice'], env);
  expect(r.stdout).toContain("Paramètres d'envoi de l'utilisateur : SMTP");
  expect(r.stdout).toMatch(/127\.0\.0\.1:\d+ accepte les connexions/);
  expect(r.stdout).toContain('Connecté en tant que alice');
  expect(r.stdout).toMatch(/Recommandation : /);
  const json = await run(['doctor', '--user', 'alice', '--json'], env);
  const report = JSON.parse(json.stdout) as { lines: { id: string; verdict: string; title: string }[] };
  expect(report.lines.find((l) => l.id === 'smtp.login')).toMatchObject({ verdict: 'ok', title: 'Connecté en tant que alice' });
});

test('--lang fr: a real send prints French lines (receipts, warning), --lang en wins over OXYMAIL_LANG=fr', async () => {
  server = await startServer({ hideDSN: true });
  const file = settingsFile(server.port, 'secret');
  const args = ['send', '--settings', file, '--to', 'bob@example.com', '--subject', 'Facture', '--text', 'Bonjour', '--delivery-receipt'];
  const fr = await run(['--lang', 'fr', ...args]);
  expect(fr.stderr).toBe('');
  expect(fr.code).toBe(0);
  expect(fr.stdout).toMatch(/^Envoyé par smtp sous le Message-ID <.+>\.$/m);
  expect(fr.stdout).toContain('  acceptés : bob@example.com');
  expect(fr.stdout).toContain('  accusé de lecture : not-requested ; accusé de réception : unsupported-by-server');
  expect(fr.stdout).toContain("  avertissement [DELIVERY_RECEIPT_UNSUPPORTED] : le serveur SMTP n'annonce pas DSN");
  expect(server.received).toHaveLength(1);
  const en = await run([...args, '--lang=en'], { OXYMAIL_LANG: 'fr' });
  expect(en.code).toBe(0);
  expect(en.stdout).toContain('  read receipt: not-requested; delivery receipt: unsupported-by-server');
  expect(en.stdout).toContain('  warning [DELIVERY_RECEIPT_UNSUPPORTED]: the server does not advertise DSN');
});

test('OXYMAIL_LANG=fr: the capability matrix in French, the option names and protocol keys unchanged', async () => {
  const r = await run(['capabilities'], { OXYMAIL_LANG: 'fr' });
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^option\s+managed\s+smtp\s+mapi-simple\s+mapi-extended$/m);
  expect(r.stdout).toMatch(/^html\s+oui\s+oui\s+non\s+non$/m);
  expect(r.stdout).toContain('Remarques :');
  expect(r.stdout).toContain('  mapi-simple html: corps en texte brut seulement');
});
