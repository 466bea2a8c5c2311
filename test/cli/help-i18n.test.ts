/**
 * The real `oxymail` binary's help and Commander's own usage errors in the language of the run
 * (OXYMAIL_LANG, or --lang over LANG), and the doctor's facts in the doctor's language, against a
 * real smtp-server on loopback. English stays English.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { smtpSettings, startServer, TestServer } from '../helpers/server';
import { tempDir } from '../helpers/fixtures';

const BIN = path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js');

/** The environment of a French run (OXYMAIL_LANG=fr), of an English machine (LANG=en_US), of a bare one (LANG=C). */
const FRENCH = { OXYMAIL_LANG: 'fr', LC_ALL: '', LC_MESSAGES: '', LANG: 'en_US.UTF-8' };
const ENGLISH_MACHINE = { OXYMAIL_LANG: '', LC_ALL: '', LC_MESSAGES: '', LANG: 'en_US.UTF-8' };
const C_MACHINE = { OXYMAIL_LANG: '', LC_ALL: '', LC_MESSAGES: '', LANG: 'C' };

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Help lines joined (Commander wraps long descriptions at 80 columns). */
const flat = (help: string) => help.replace(/\s+/g, ' ');

/** What only English help would show: Commander's headings and built-in texts, and a few of our descriptions. */
const ENGLISH_HELP =
  /Usage:|Options:|Commands:|Arguments:|Examples:|display help for command|print as JSON|print the result as JSON|\(required\)|choices:|default:/;

test('OXYMAIL_LANG=fr: oxymail --help is French (headings, descriptions, the built-in help and version options)', async () => {
  const r = await run(['--help'], FRENCH);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Utilisation : oxymail \[options\] \[commande\]$/m);
  expect(r.stdout).toMatch(/^Options :$/m);
  expect(r.stdout).toMatch(/^Commandes :$/m);
  expect(r.stdout).toMatch(/^Exemples :\n  \$ oxymail send /m);
  const help = flat(r.stdout);
  expect(help).toContain("Envoyer des e-mails au nom d'un utilisateur : relais de la suite, SMTP ou client de messagerie Windows (MAPI)");
  expect(help).toContain("-V, --version afficher la version d'oxymail");
  expect(help).toContain("-h, --help afficher l'aide de la commande");
  expect(help).toContain("send [options] envoyer un message avec les paramètres de l'utilisateur");
  expect(help).toContain("help [commande] afficher l'aide d'une commande");
  expect(help).toContain('Codes de sortie : 0 réussite, 1 échec, 2 erreur');
  expect(r.stdout).not.toMatch(ENGLISH_HELP);
});

test('--lang fr under LANG=en_US: oxymail send --help is French, required options and choices marked in French', async () => {
  const r = await run(['--lang', 'fr', 'send', '--help'], ENGLISH_MACHINE);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Utilisation : oxymail send \[options\]$/m);
  expect(r.stdout).toMatch(/^\s+--to <address>\s+destinataire \(à répéter pour plusieurs\) \(obligatoire\)$/m);
  expect(r.stdout).toMatch(/^\s+--subject <text>\s+objet \(obligatoire\)$/m);
  expect(r.stdout).not.toMatch(/--cc <address>.*\(obligatoire\)/);
  const help = flat(r.stdout);
  expect(help).toContain('--importance <level> importance (valeurs : "very-low", "low", "normal", "high", "very-high")');
  expect(help).toContain('--json afficher le résultat en JSON');
  expect(help).toContain('Le corps est obligatoire : --text, --text-file et/ou --html-file.');
  expect(r.stdout).not.toMatch(ENGLISH_HELP);
  // --lang=fr and --lang fr after the command too.
  const after = await run(['send', '--help', '--lang=fr'], ENGLISH_MACHINE);
  expect(after.stdout).toMatch(/^Utilisation : oxymail send \[options\]$/m);
});

test('every command and sub-command has its help in French', async () => {
  const commands = [
    ['send'],
    ['verify'],
    ['capabilities'],
    ['mapi'],
    ['mapi', 'profiles'],
    ['doctor'],
    ['settings'],
    ...['list', 'show', 'set', 'unset', 'remove', 'export', 'import', 'test'].map((c) => ['settings', c]),
    ['outbox'],
    ...['list', 'show', 'remove', 'retry', 'flush'].map((c) => ['outbox', c]),
    ['auth'],
    ...['login', 'status', 'logout'].map((c) => ['auth', c]),
  ];
  const results = await Promise.all(commands.map((c) => run([...c, '--help'], FRENCH)));
  results.forEach((r, i) => {
    const where = commands[i].join(' ');
    expect({ where, code: r.code, usage: /^Utilisation : oxymail /m.test(r.stdout), examples: /^Exemples :$/m.test(r.stdout) }).toEqual({
      where,
      code: 0,
      usage: true,
      examples: true,
    });
    expect({ where, english: ENGLISH_HELP.exec(r.stdout)?.[0] ?? null }).toEqual({ where, english: null });
  });
  const byName = (name: string) => flat(results[commands.findIndex((c) => c.join(' ') === name)].stdout);
  expect(byName('outbox show')).toMatch(/Arguments : id l'identifiant d'une entrée, un préfixe unique de celui-ci, ou le Message-ID/);
  expect(byName('settings set')).toContain("--secret-stdin <key> lire ce secret sur l'entrée standard (smtp.password,");
  expect(byName('settings set')).toContain(
    "Arguments : user l'identifiant de l'utilisateur dans le fichier de paramètres assignments des paramètres clé=valeur (clés pointées : smtp.port=587)",
  );
  expect(byName('auth login')).toContain("Arguments : user l'identifiant de l'utilisateur dans le fichier de paramètres");
  expect(byName('auth login')).toContain('--flow <flow> device : un code à saisir');
  expect(byName('doctor')).toContain('--json afficher le rapport en JSON');
});

test('English stays English: --help under LANG=C, and --lang en over OXYMAIL_LANG=fr', async () => {
  for (const [args, env] of [
    [['send', '--help'], C_MACHINE],
    [['--lang', 'en', 'send', '--help'], FRENCH],
  ] as const) {
    const r = await run([...args], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: oxymail send \[options\]$/m);
    expect(r.stdout).toMatch(/^\s+--to <address>\s+recipient \(repeat for several\) \(required\)$/m);
    expect(flat(r.stdout)).toContain('--importance <level> importance (choices: "very-low", "low", "normal", "high", "very-high")');
    expect(r.stdout).toMatch(/^\s+-h, --help\s+display help for command$/m);
    expect(r.stdout).toMatch(/^Examples:$/m);
    expect(r.stdout).not.toMatch(/Utilisation|obligatoire|Exemples/);
  }
  const top = await run(['--help'], C_MACHINE);
  expect(top.stdout).toMatch(/^Usage: oxymail \[options\] \[command\]$/m);
  expect(top.stdout).toMatch(/^\s+help \[command\]\s+display help for command$/m);
});

test.each([
  [['send', '--to', 'bob@example.com', '--text', 'x'], "erreur : l'option obligatoire '--subject <text>' n'est pas donnée", 'oxymail send'],
  [['frobnicate'], "erreur : commande inconnue 'frobnicate'", 'oxymail'],
  [['send', '--to'], "erreur : l'option '--to <address>' attend une valeur", 'oxymail send'],
  [['settings', 'show'], "erreur : argument obligatoire 'user' manquant", 'oxymail settings show'],
  [['settings', 'show', 'alice', 'bob'], "erreur : trop d'arguments pour 'show' : 1 attendu(s), 2 donné(s)", 'oxymail settings show'],
  [
    ['capabilities', '--protocol', 'imap'],
    "erreur : la valeur 'imap' de l'option '--protocol <protocol>' n'est pas valable. Valeurs possibles : managed, smtp, mapi, mapi-simple, mapi-extended.",
    'oxymail capabilities',
  ],
  [['send', '--to', 'bob@example.com', '--subject', 's'], 'erreur : le message', 'oxymail send'],
])('a French usage error is one line and where to read more: %j', async (args, first, command) => {
  const r = await run(args, FRENCH);
  expect(r.code).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0].startsWith(first)).toBe(true);
  expect(lines[1]).toBe(`(voir '${command} --help')`);
  expect(r.stdout).toBe('');
});

test('a French unknown option says "did you mean", and --json gives the message without its "erreur :" prefix; English unchanged', async () => {
  const r = await run(['--lang', 'fr', 'send', '--to', 'bob@example.com', '--subject', 's', '--text', 'x', '--jsno', '--json'], ENGLISH_MACHINE);
  expect(r.code).toBe(2);
  expect(r.stderr.trimEnd().split('\n')).toEqual(["erreur : option inconnue '--jsno'", '(Vouliez-vous dire --json ?)', "(voir 'oxymail send --help')"]);
  expect(JSON.parse(r.stdout)).toEqual({ error: { code: 'USAGE', message: "option inconnue '--jsno'\n(Vouliez-vous dire --json ?)" } });
  const en = await run(['send', '--to', 'bob@example.com', '--subject', 's', '--text', 'x', '--jsno', '--json'], C_MACHINE);
  expect(en.stderr.trimEnd().split('\n')).toEqual(["error: unknown option '--jsno'", '(Did you mean --json?)', "(see 'oxymail send --help')"]);
  expect(JSON.parse(en.stdout)).toEqual({ error: { code: 'USAGE', message: "unknown option '--jsno'\n(Did you mean --json?)" } });
});

test('French lines put a space before their colon: settings set, unset of a key never set', async () => {
  const env = { ...FRENCH, OXYMAIL_SETTINGS: path.join(tempDir(), 'users.json') };
  const set = await run(['settings', 'set', 'bob', 'email=bob@example.com', 'customize=true', 'protocol=mapi'], env);
  expect(set.code).toBe(0);
  expect(set.stdout).toBe(`enregistré bob : bob@example.com, mapi, profil (par défaut) (${env.OXYMAIL_SETTINGS})\n`);
  const unset = await run(['settings', 'unset', 'bob', 'mapi.profile'], env);
  expect(unset.stdout).toBe("remarque : mapi.profile n'était pas renseigné pour bob (rien à retirer)\n");
  const list = await run(['settings', 'list'], env);
  expect(list.stdout.split('\n')[0].split(/\s+/)).toEqual(['utilisateur', 'nom', 'e-mail', 'protocole', 'où']);
});

describe('the doctor in the language of --lang, facts included', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** A user on a real server whose OAuth2 sign-in was never done: the login is skipped, and the doctor says why. */
  async function oauthUser(): Promise<string> {
    server = await startServer();
    const file = path.join(tempDir(), 'alice.json');
    writeFileSync(file, JSON.stringify(smtpSettings(server.port, { username: 'alice@example.com', oauth2: { provider: 'microsoft', clientId: 'c1' } })));
    return file;
  }

  test('doctor --lang fr under LANG=C: why MAPI is unavailable and why the login was skipped, in French', async () => {
    const file = await oauthUser();
    const r = await run(['--lang', 'fr', 'doctor', '--settings', file], C_MACHINE);
    expect(r.stdout).toContain("MAPI n'existe que sous Windows (ici : linux). Utilisez SMTP sur cet ordinateur.");
    expect(r.stdout).toMatch(/^info {2}Authentification non essayée\n {6}pas encore de connexion OAuth2 \(voir plus haut\)\.$/m);
    expect(r.stdout).toMatch(/^FAIL {2}OAuth2 \(microsoft\) : pas connecté\n {6}Connectez-vous une fois : oxymail auth login USER$/m);
    expect(r.stdout).toMatch(/Recommandation : /);
    expect(r.stdout).not.toMatch(/only on Windows|not signed in|Sign in once|Login not tried/i);
    const json = JSON.parse((await run(['--lang', 'fr', 'doctor', '--settings', file, '--json'], C_MACHINE)).stdout);
    expect(json.facts.mapi.reason).toBe("MAPI n'existe que sous Windows (ici : linux)");
    expect(json.facts.smtp.loginSkipped).toBe('pas encore de connexion OAuth2');
  });

  test('doctor under OXYMAIL_LANG=fr with --lang en: the same facts in English', async () => {
    const file = await oauthUser();
    const json = JSON.parse((await run(['--lang', 'en', 'doctor', '--settings', file, '--json'], FRENCH)).stdout);
    expect(json.facts.mapi.reason).toMatch(/Windows/);
    expect(json.facts.mapi.reason).not.toMatch(/n'existe|ici/);
    expect(json.facts.smtp.loginSkipped).toBe('not signed in to OAuth2 yet');
    expect(json.lines.find((l: { id: string }) => l.id === 'smtp.oauth2')).toMatchObject({ title: 'OAuth2 (microsoft): not signed in' });
  });
});
