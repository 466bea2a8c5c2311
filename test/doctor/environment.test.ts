/**
 * The doctor's session, MAPI and managed-relay verdicts, from fixtures: a fake probe holding the
 * environment, the registry and the files a Windows machine would have.
 */
import { DoctorReport, formatDoctorReport, parseRegQuery, runDoctor } from '../../lib/doctor';
import { clientRegistry, fakeProbe, MACHINE, peBytes } from './fixtures';

const OUTLOOK_X86 = 'C:\\Program Files (x86)\\Microsoft Office\\root\\Office16\\OLMAPI32.DLL';
const OUTLOOK_X64 = 'C:\\Program Files\\Microsoft Office\\root\\Office16\\OLMAPI32.DLL';
const TB = 'C:\\Program Files\\Mozilla Thunderbird\\mozMapi32_InUse.dll';

function line(report: DoctorReport, id: string) {
  const found = report.lines.find((l) => l.id === id);
  if (!found) throw new Error(`no line ${id} in ${JSON.stringify(report.lines.map((l) => l.id))}`);
  return found;
}

const thunderbird = () => ({ registry: clientRegistry('Mozilla Thunderbird', { DLLPath: TB }), files: { [TB]: peBytes(MACHINE.x64) } });

describe('session', () => {
  test.each([
    ['RDP-Tcp#3', 'Remote Desktop session (SESSIONNAME=RDP-Tcp#3)'],
    ['ICA-CGP#2', 'Citrix session (SESSIONNAME=ICA-CGP#2)'],
    ['ICA-TCP#0', 'Citrix session (SESSIONNAME=ICA-TCP#0)'],
  ])('%s: the product page advice, SMTP, even with a working mail client', async (sessionName, title) => {
    const report = await runDoctor({ probe: fakeProbe({ ...thunderbird(), env: { SESSIONNAME: sessionName, CLIENTNAME: 'PC-COMPTA-07' } }) });
    expect(line(report, 'session')).toEqual({
      id: 'session',
      verdict: 'warn',
      title,
      detail: expect.stringMatching(/mail client is on their own PC, not on this server\. The user's PC is PC-COMPTA-07\. Use SMTP/),
    });
    expect(report.recommendation.choice).toBe('smtp');
    expect(report.recommendation.words).toMatch(
      /^Use SMTP: in a (Remote Desktop|Citrix) session the application runs on a server, and the user's mail client is on their own PC/,
    );
    expect(line(report, 'mapi.dllpath').verdict).toBe('ok');
  });

  test('Citrix from its variables alone (a process that did not inherit SESSIONNAME)', async () => {
    const report = await runDoctor({ probe: fakeProbe({ ...thunderbird(), env: { CITRIX_METAINFO: '1', CTXSMACHINE: 'XA01' } }) });
    expect(line(report, 'session')).toMatchObject({ verdict: 'warn', title: 'Citrix session (CITRIX_METAINFO, CTXSMACHINE)' });
    expect(report.recommendation.choice).toBe('smtp');
  });

  test('the variable names are read case-insensitively, as Windows does; ICAROOT (the Citrix client on a PC) is not a session', async () => {
    const report = await runDoctor({ probe: fakeProbe({ ...thunderbird(), env: { SessionName: 'rdp-tcp#1', ICAROOT: '/opt/Citrix/ICAClient' } }) });
    expect(line(report, 'session').title).toBe('Remote Desktop session (SESSIONNAME=rdp-tcp#1)');
    const local = await runDoctor({ probe: fakeProbe({ ...thunderbird(), env: { SESSIONNAME: 'Console', ICAROOT: 'C:\\Citrix' } }) });
    expect(line(local, 'session')).toMatchObject({
      verdict: 'ok',
      title: 'Local session (SESSIONNAME=Console)',
      detail: 'A single PC or a network: MAPI or SMTP.',
    });
    expect(local.recommendation.choice).toBe('mapi-or-smtp');
  });

  test('no SESSIONNAME on Windows: cannot tell', async () => {
    const report = await runDoctor({ probe: fakeProbe({ ...thunderbird(), env: {} }) });
    expect(line(report, 'session')).toMatchObject({ verdict: 'info', title: 'No SESSIONNAME' });
    expect(report.recommendation.choice).toBe('mapi-or-smtp');
  });

  test('MAPI settings in a remote session are a failure of the settings', async () => {
    const report = await runDoctor({
      settings: { email: 'zoe@example.fr', customize: true, protocol: 'mapi' },
      probe: fakeProbe({ ...thunderbird(), env: { SESSIONNAME: 'RDP-Tcp#0' } }),
    });
    expect(line(report, 'settings.protocol')).toMatchObject({ verdict: 'fail', title: "The user's settings use MAPI in a Remote Desktop session" });
    expect(report.failed).toBe(true);
  });
});

describe('MAPI', () => {
  test('a registered client whose DLL exists and matches: ok, MAPI or SMTP', async () => {
    const report = await runDoctor({
      probe: fakeProbe({
        registry: clientRegistry('Microsoft Outlook', { DLLPath: 'mapi32.dll', DLLPathEx: OUTLOOK_X64 }),
        files: { [OUTLOOK_X64]: peBytes(MACHINE.x64) },
      }),
    });
    expect(line(report, 'mapi.client')).toMatchObject({ verdict: 'ok', title: 'Default mail client: Microsoft Outlook (HKLM)' });
    expect(line(report, 'mapi.dllpath')).toMatchObject({ verdict: 'info', title: 'DLLPath: mapi32.dll', detail: expect.stringMatching(/not checked/) });
    expect(line(report, 'mapi.dllpathex')).toEqual({
      id: 'mapi.dllpathex',
      verdict: 'ok',
      title: `DLLPathEx: ${OUTLOOK_X64}`,
      detail: '64-bit x64 (0x8664), the same as this process.',
    });
    expect(report.recommendation).toEqual({ choice: 'mapi-or-smtp', words: expect.stringMatching(/^MAPI or SMTP: MAPI goes through Microsoft Outlook/) });
    expect(report.failed).toBe(false);
  });

  test('no default mail client in HKCU or HKLM', async () => {
    const probe = fakeProbe();
    const report = await runDoctor({ probe });
    expect(line(report, 'mapi.client')).toMatchObject({
      verdict: 'warn',
      title: 'No default mail client',
      detail: expect.stringMatching(/Install classic Outlook or Thunderbird and make it the default mail program, or use SMTP/),
    });
    expect(probe.registryReads).toEqual(['HKCU\\Software\\Clients\\Mail:(default)', 'HKLM\\Software\\Clients\\Mail:(default)']);
    expect(report.recommendation).toEqual({ choice: 'smtp', words: 'Use SMTP: MAPI cannot work here (No default mail client).' });
    // The same machine for a user whose settings say MAPI: a failure.
    const mapiUser = await runDoctor({ settings: { email: 'zoe@example.fr', customize: true, protocol: 'mapi' }, probe: fakeProbe() });
    expect(line(mapiUser, 'mapi.client').verdict).toBe('fail');
    expect(mapiUser.failed).toBe(true);
  });

  test("HKCU's choice overrides HKLM's; the client's key is read from HKLM when HKCU has none", async () => {
    const registry = {
      ...clientRegistry('Mozilla Thunderbird', { DLLPath: TB }, 'HKCU'),
      'HKLM\\Software\\Clients\\Mail': { '': 'Microsoft Outlook' },
    };
    const probe = fakeProbe({ registry, files: { [TB]: peBytes(MACHINE.x64) } });
    const report = await runDoctor({ probe });
    expect(line(report, 'mapi.client').title).toBe('Default mail client: Mozilla Thunderbird (HKCU)');
    expect(report.facts.mapi).toMatchObject({ available: true, client: { name: 'Mozilla Thunderbird', hive: 'HKCU', keyHive: 'HKLM' } });
    expect(probe.registryReads).not.toContain('HKLM\\Software\\Clients\\Mail:(default)');
  });

  test('the DLL is registered but missing on disk', async () => {
    const report = await runDoctor({ probe: fakeProbe({ registry: clientRegistry('Mozilla Thunderbird', { DLLPath: TB }) }) });
    expect(line(report, 'mapi.dllpath')).toEqual({
      id: 'mapi.dllpath',
      verdict: 'warn',
      title: `DLLPath ${TB} does not exist`,
      detail:
        'Mozilla Thunderbird is registered but its MAPI DLL is gone (uninstalled or moved): repair or reinstall Mozilla Thunderbird, or make another mail program the default.',
    });
    expect(report.recommendation.choice).toBe('smtp');
  });

  test('REG_EXPAND_SZ paths are expanded with the environment, and quotes removed', async () => {
    const registry = clientRegistry('Mozilla Thunderbird', {
      DLLPath: { type: 'REG_EXPAND_SZ', data: '"%ProgramFiles%\\Mozilla Thunderbird\\mozMapi32_InUse.dll"' },
    });
    const report = await runDoctor({
      probe: fakeProbe({ registry, env: { SESSIONNAME: 'Console', PROGRAMFILES: 'C:\\Program Files' }, files: { [TB]: peBytes(MACHINE.x64) } }),
    });
    expect(line(report, 'mapi.dllpath')).toMatchObject({ verdict: 'ok', title: `DLLPath: ${TB}` });
  });

  test('the classic failure: 32-bit Outlook with 64-bit Node', async () => {
    const report = await runDoctor({
      probe: fakeProbe({
        arch: 'x64',
        registry: clientRegistry('Microsoft Outlook', { DLLPathEx: OUTLOOK_X86 }),
        files: { [OUTLOOK_X86]: peBytes(MACHINE.i386) },
      }),
    });
    expect(line(report, 'mapi.dllpathex')).toEqual({
      id: 'mapi.dllpathex',
      verdict: 'warn',
      title: "Microsoft Outlook's DLLPathEx is 32-bit x86 (0x014c), this process is 64-bit (x64)",
      detail: expect.stringMatching(
        /cannot load a DLL of another bitness.*Win32 error 193.*Run a 32-bit \(ia32\) Node\/Electron to match a 32-bit Office, or install 64-bit Office, or use SMTP\./,
      ),
    });
    expect(report.recommendation.words).toBe(
      "Use SMTP: MAPI cannot work here (Microsoft Outlook's DLLPathEx is 32-bit x86 (0x014c), this process is 64-bit (x64)).",
    );
  });

  test('the reverse: 64-bit Outlook with 32-bit Node', async () => {
    const report = await runDoctor({
      settings: { email: 'a@example.com', customize: true, protocol: 'mapi' },
      probe: fakeProbe({
        arch: 'ia32',
        registry: clientRegistry('Microsoft Outlook', { DLLPathEx: OUTLOOK_X64 }),
        files: { [OUTLOOK_X64]: peBytes(MACHINE.x64) },
      }),
    });
    expect(line(report, 'mapi.dllpathex')).toMatchObject({
      verdict: 'fail',
      title: "Microsoft Outlook's DLLPathEx is 64-bit x64 (0x8664), this process is 32-bit (ia32)",
      detail: expect.stringMatching(/Run a 64-bit \(x64\) Node\/Electron to match Microsoft Outlook, or use SMTP\./),
    });
    expect(report.recommendation.choice).toBe('smtp');
  });

  test('a registered file that is not a DLL', async () => {
    const report = await runDoctor({
      probe: fakeProbe({
        registry: clientRegistry('Broken', { DLLPath: 'C:\\x\\broken.dll' }),
        files: { 'C:\\x\\broken.dll': Buffer.from('not a dll at all'.padEnd(100)) },
      }),
    });
    expect(line(report, 'mapi.dllpath')).toMatchObject({
      verdict: 'warn',
      title: 'DLLPath C:\\x\\broken.dll is not a usable DLL',
      detail: 'not a Windows executable (no MZ header)',
    });
  });

  test('the new Outlook (olk.exe) has no MAPI', async () => {
    const registry = {
      'HKLM\\Software\\Clients\\Mail': { '': 'Outlook (new)' },
      'HKLM\\Software\\Clients\\Mail\\Outlook (new)\\shell\\open\\command': {
        '': '"C:\\Program Files\\WindowsApps\\Microsoft.OutlookForWindows_1.0_x64__8wekyb3d8bbwe\\olk.exe" %1',
      },
    };
    const report = await runDoctor({ probe: fakeProbe({ registry }) });
    expect(line(report, 'mapi.new-outlook')).toMatchObject({
      verdict: 'warn',
      title: 'Outlook (new) is the new Outlook, which has no MAPI',
      detail: expect.stringMatching(/Switch back to classic Outlook/),
    });
    expect(line(report, 'mapi.dllpath')).toMatchObject({ verdict: 'warn', title: 'Outlook (new) has no DLLPath or DLLPathEx' });
    expect(report.recommendation).toEqual({ choice: 'smtp', words: 'Use SMTP: MAPI cannot work here (Outlook (new) is the new Outlook, which has no MAPI).' });
  });

  test('a default client name with no key at all', async () => {
    const report = await runDoctor({ probe: fakeProbe({ registry: { 'HKLM\\Software\\Clients\\Mail': { '': 'Ghost Mail' } } }) });
    expect(line(report, 'mapi.dllpath')).toMatchObject({
      verdict: 'warn',
      title: 'Ghost Mail has no DLLPath or DLLPathEx',
      detail: expect.stringMatching(/^No key Ghost Mail under Software\\Clients\\Mail/),
    });
  });

  test('not Windows: MAPI unavailable, and the registry is never read', async () => {
    const probe = fakeProbe({ platform: 'linux', env: {} });
    const report = await runDoctor({ probe });
    expect(probe.registryReads).toEqual([]);
    expect(line(report, 'session')).toMatchObject({ verdict: 'info', title: 'Not Windows (linux)' });
    expect(line(report, 'mapi.platform')).toEqual({
      id: 'mapi.platform',
      verdict: 'info',
      title: 'MAPI unavailable',
      detail: 'MAPI exists only on Windows (this is linux). Use SMTP on this machine.',
    });
    expect(report.recommendation).toEqual({ choice: 'smtp', words: 'Use SMTP: MAPI exists only on Windows (this is linux).' });
    const mapiUser = await runDoctor({
      settings: { email: 'a@example.com', customize: true, protocol: 'mapi' },
      probe: fakeProbe({ platform: 'darwin', env: {} }),
    });
    expect(line(mapiUser, 'mapi.platform').verdict).toBe('fail');
  });

  test('a registry that cannot be read', async () => {
    const report = await runDoctor({
      probe: fakeProbe({
        overrides: {
          readRegistry: async () => {
            throw new Error('reg: spawn reg ENOENT');
          },
        },
      }),
    });
    expect(line(report, 'mapi.client')).toMatchObject({
      verdict: 'warn',
      title: 'The registry could not be read',
      detail: expect.stringMatching(/^reg: spawn reg ENOENT/),
    });
  });
});

describe('managed relay', () => {
  const managedUser = { label: 'Zoé', email: 'zoe@example.fr' };

  test('configured by the application: the recommendation is to keep managed sending', async () => {
    const report = await runDoctor({
      settings: managedUser,
      managed: { host: 'relay.suite.example', port: 587, username: 'suite', password: 'relay-secret-1', assignedAddress: 'no-reply@suite.example' },
      probe: fakeProbe(thunderbird()),
    });
    expect(line(report, 'managed')).toEqual({
      id: 'managed',
      verdict: 'ok',
      title: 'Managed relay configured: relay.suite.example:587 (given by the application)',
      detail: "Assigned sender: no-reply@suite.example; the user's address goes to Reply-To.",
    });
    expect(line(report, 'settings')).toMatchObject({ verdict: 'info', title: 'User settings: managed sending' });
    expect(report.recommendation.choice).toBe('managed');
    expect(report.recommendation.words).toMatch(
      /^Keep managed sending: the suite's relay is configured\. If the user customises their settings: MAPI or SMTP: MAPI goes through Mozilla Thunderbird/,
    );
    expect(JSON.stringify(report)).not.toContain('relay-secret-1');
  });

  test('configured from OXYMAIL_MANAGED_RELAY / OXYMAIL_MANAGED_FROM in the environment', async () => {
    const env = {
      SESSIONNAME: 'Console',
      OXYMAIL_MANAGED_RELAY: 'smtps://suite:pw-in-url@relay.suite.example',
      OXYMAIL_MANAGED_FROM: 'no-reply@suite.example',
    };
    const report = await runDoctor({ settings: managedUser, probe: fakeProbe({ env }) });
    expect(line(report, 'managed')).toMatchObject({ verdict: 'ok', title: 'Managed relay configured: relay.suite.example:465 (OXYMAIL_MANAGED_RELAY)' });
    expect(JSON.stringify(report)).not.toContain('pw-in-url');
  });

  test('not configured: a failure for a managed user, a fact for the others', async () => {
    const report = await runDoctor({ settings: managedUser, probe: fakeProbe(thunderbird()) });
    expect(line(report, 'managed')).toMatchObject({
      verdict: 'fail',
      title: 'Managed relay not configured',
      detail: expect.stringMatching(/OXYMAIL_MANAGED_RELAY.*turn on 'customize'/),
    });
    expect(report.recommendation.choice).toBe('mapi-or-smtp');
    const machineOnly = await runDoctor({ probe: fakeProbe(thunderbird()) });
    expect(line(machineOnly, 'managed').verdict).toBe('info');
  });

  test('misconfigured: the relay URL has no assigned sender', async () => {
    const env = { SESSIONNAME: 'Console', OXYMAIL_MANAGED_RELAY: 'smtp://relay.suite.example:2525' };
    const report = await runDoctor({ settings: managedUser, probe: fakeProbe({ env }) });
    expect(line(report, 'managed')).toMatchObject({
      verdict: 'fail',
      title: 'Managed relay misconfigured',
      detail: expect.stringMatching(/^managed: the relay configuration is invalid:\n  - assignedAddress: /),
    });
  });
});

describe('settings and output', () => {
  test('invalid settings are one failing line with every problem; the machine checks still run', async () => {
    const report = await runDoctor({ settings: { customize: true, protocol: 'smtp', smtp: { port: 70000 } }, probe: fakeProbe(thunderbird()) });
    expect(line(report, 'settings')).toMatchObject({
      verdict: 'fail',
      title: "The user's settings are invalid",
      detail: expect.stringContaining('smtp.port: must be an integer from 1 to 65535'),
    });
    expect(line(report, 'mapi.dllpath').verdict).toBe('ok');
  });

  test('formatDoctorReport: a verdict per line, details indented, the recommendation last; colours only when asked', async () => {
    const report = await runDoctor({ probe: fakeProbe({ ...thunderbird(), env: { SESSIONNAME: 'RDP-Tcp#3' } }) });
    const plain = formatDoctorReport(report, { color: false });
    expect(plain).not.toMatch(/\u001b\[/);
    expect(plain.split('\n').slice(0, 4)).toEqual([
      'WARN  Remote Desktop session (SESSIONNAME=RDP-Tcp#3)',
      "      The application runs on a server; the user's mail client is on their own PC, not on this server. Use SMTP (MAPI here would reach the server's mail client, if any).",
      'ok    Default mail client: Mozilla Thunderbird (HKLM)',
      '      Read from HKLM\\Software\\Clients\\Mail.',
    ]);
    expect(plain).toMatch(/\nRecommendation: SMTP\n  Use SMTP: in a Remote Desktop session .*\n$/);
    const coloured = formatDoctorReport(report, { color: true });
    expect(coloured).toContain('\u001b[33mWARN\u001b[0m  Remote Desktop session');
    expect(coloured).toContain('\u001b[32mok  \u001b[0m  Default mail client');
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(plain);
  });
});

describe('parseRegQuery (reg.exe output)', () => {
  test('a named value, a default value, an unset default, localised names', () => {
    expect(
      parseRegQuery(
        '\r\nHKEY_LOCAL_MACHINE\\Software\\Clients\\Mail\\Microsoft Outlook\r\n    DLLPathEx    REG_SZ    C:\\Program Files\\Microsoft Office\\root\\Office16\\OLMAPI32.DLL\r\n\r\n',
        false,
      ),
    ).toEqual({ type: 'REG_SZ', data: OUTLOOK_X64 });
    expect(parseRegQuery('\r\nHKEY_LOCAL_MACHINE\\Software\\Clients\\Mail\r\n    (Default)    REG_SZ    Microsoft Outlook\r\n', true)).toEqual({
      type: 'REG_SZ',
      data: 'Microsoft Outlook',
    });
    expect(parseRegQuery('\r\nHKEY_CURRENT_USER\\Software\\Clients\\Mail\r\n    (par défaut)    REG_SZ    Mozilla Thunderbird\r\n', true)).toEqual({
      type: 'REG_SZ',
      data: 'Mozilla Thunderbird',
    });
    expect(parseRegQuery('\r\nHKEY_CURRENT_USER\\Software\\Clients\\Mail\r\n    (Default)    REG_SZ    (value not set)\r\n', true)).toBeNull();
    expect(parseRegQuery('\nHKEY_LOCAL_MACHINE\\x\n    DLLPath    REG_EXPAND_SZ    %ProgramFiles%\\a.dll\n', false)).toEqual({
      type: 'REG_EXPAND_SZ',
      data: '%ProgramFiles%\\a.dll',
    });
    expect(parseRegQuery('', true)).toBeNull();
  });
});
