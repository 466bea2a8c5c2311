/**
 * Pure logic that runs the same on every OS: the matrix, importance, MAPI codes, addresses,
 * parent windows, the relay URL, and the nodemailer options derived from settings.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { capabilities, createMailer, FEATURES, IMPORTANCE_LEVELS, MailError, MailWarning, simpleMapiCode } from '../../lib';
import { checkAddress } from '../../lib/address';
import { checkCapabilities } from '../../lib/capabilities';
import { validateMessage } from '../../lib/message';
import { closest } from '../../lib/suggest';
import { mapiImportance, smtpImportanceHeaders } from '../../lib/importance';
import { extendedMapiCode, extendedMapiError, simpleMapiError } from '../../lib/mapi-codes';
import { resolveRelay } from '../../lib/transports/managed';
import { uiParam } from '../../lib/transports/mapi';
import { poolOptions } from '../../lib/transports/smtp';

describe('capability matrix', () => {
  test('has every feature for every protocol, as the issue specifies', () => {
    const m = capabilities();
    const row = (f: (typeof FEATURES)[number]) => [m.managed[f].supported, m.smtp[f].supported, m['mapi-simple'][f].supported, m['mapi-extended'][f].supported];
    expect(row('html')).toEqual([true, true, false, false]);
    expect(row('calendar')).toEqual([true, true, false, false]);
    expect(row('importance')).toEqual([true, true, false, true]);
    expect(row('readReceipt')).toEqual([true, true, true, true]);
    expect(row('deliveryReceipt')).toEqual([true, true, false, true]);
    expect(row('dialog')).toEqual([false, false, true, false]);
    expect(row('savedToSent')).toEqual([false, false, true, true]);
    expect(row('bulk')).toEqual([false, true, true, true]);
    for (const f of ['to', 'cc', 'bcc', 'attachments'] as const) expect(row(f)).toEqual([true, true, true, true]);
    expect(m.managed.replyTo.note).toMatch(/always the user/);
  });

  test('capabilities(protocol) is one column, and a copy', () => {
    const col = capabilities('smtp');
    col.html.supported = false;
    expect(capabilities('smtp').html.supported).toBe(true);
    expect(() => capabilities('fax' as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  test('explicit: error, or drop with a warning under warn; settings default: always drop with a warning', () => {
    const warnings: MailWarning[] = [];
    expect(() => checkCapabilities('mapi-simple', { importance: 'explicit' }, 'error', warnings)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_OPTION', protocol: 'mapi' }),
    );
    expect([...checkCapabilities('mapi-simple', { importance: 'explicit', readReceipt: 'explicit' }, 'warn', warnings)]).toEqual(['importance']);
    expect([...checkCapabilities('mapi-simple', { deliveryReceipt: 'settings' }, 'error', warnings)]).toEqual(['deliveryReceipt']);
    expect(warnings.map((w) => w.code)).toEqual(['OPTION_DROPPED', 'OPTION_DROPPED']);
    expect(warnings[1].message).toMatch(/default from the user's settings/);
  });

  test('every explicit option the protocol cannot honour is listed at once in problems', () => {
    const warnings: MailWarning[] = [];
    let err: MailError | undefined;
    try {
      checkCapabilities(
        'mapi-simple',
        { html: 'explicit', importance: 'explicit', deliveryReceipt: 'explicit', readReceipt: 'explicit', dialog: 'settings' },
        'error',
        warnings,
      );
    } catch (e) {
      err = e as MailError;
    }
    expect(err).toMatchObject({ code: 'UNSUPPORTED_OPTION', protocol: 'mapi' });
    expect(err?.problems?.map((p) => p.path)).toEqual(['html', 'importance', 'deliveryReceipt']);
    expect(err?.problems?.[0].message).toMatch(/plain-text body only/);
    expect(err?.message).toMatch(/^send: options 'html', 'importance' and 'deliveryReceipt' are not supported by protocol 'mapi-simple'/);
    // Nothing is dropped silently before the error: no warning was added.
    expect(warnings).toEqual([]);
  });

  test('HTML that comes with a text body is dropped with HTML_DROPPED, under either policy', () => {
    for (const policy of ['error', 'warn'] as const) {
      const warnings: MailWarning[] = [];
      expect([...checkCapabilities('mapi-extended', { html: 'alternative', importance: 'explicit' }, policy, warnings)]).toEqual(['html']);
      expect(warnings.map((w) => w.code)).toEqual(['HTML_DROPPED']);
    }
    expect([...checkCapabilities('smtp', { html: 'alternative' }, 'error', [])]).toEqual([]);
  });

  test('a MAPI send of HTML with text passes the capability rule (it stops at the addon off Windows, never at UNSUPPORTED_OPTION)', async () => {
    // On Windows too the addon stops at a MAPI DLL that does not exist: no mail client is called.
    process.env.OXYMAIL_MAPI_DLL = path.join(os.tmpdir(), 'oxymail-no-such-mapi.dll');
    const mailer = createMailer({ email: 'alice@example.com', customize: true, protocol: 'mapi' });
    const err = await mailer.send({ to: 'bob@example.com', subject: 's', text: 'x', html: '<b>x</b>' }).catch((e) => e);
    delete process.env.OXYMAIL_MAPI_DLL;
    expect(err.code).toBe('MAPI_UNAVAILABLE');
    const both = await mailer
      .send({ to: 'bob@example.com', subject: 's', text: 'x', html: '<b>x</b>', importance: 'high', deliveryReceipt: true })
      .catch((e) => e);
    expect(both.problems.map((p: { path: string }) => p.path)).toEqual(['importance', 'deliveryReceipt']);
  });
});

describe('importance', () => {
  test('five levels to SMTP headers; normal writes none', () => {
    expect(IMPORTANCE_LEVELS).toEqual(['very-low', 'low', 'normal', 'high', 'very-high']);
    expect(smtpImportanceHeaders('normal')).toEqual({});
    expect(smtpImportanceHeaders('very-low')).toEqual({ 'X-Priority': '5 (Lowest)', Importance: 'low', 'X-MSMail-Priority': 'Low' });
  });
  test('five levels to PR_IMPORTANCE', () => {
    expect(IMPORTANCE_LEVELS.map(mapiImportance)).toEqual([0, 0, 1, 2, 2]);
  });
});

describe('Simple MAPI codes', () => {
  test('known codes map to stable names; unknown ones to MAPI_UNKNOWN_<n>', () => {
    expect(simpleMapiCode(1)).toBe('MAPI_USER_ABORT');
    expect(simpleMapiCode(3)).toBe('MAPI_LOGIN_FAILURE');
    expect(simpleMapiCode(11)).toBe('MAPI_ATTACHMENT_NOT_FOUND');
    expect(simpleMapiCode(14)).toBe('MAPI_UNKNOWN_RECIPIENT');
    expect(simpleMapiCode(99)).toBe('MAPI_UNKNOWN_99');
  });
  test('the error names the call, carries the MAPI number and a hint where one helps', () => {
    const err = simpleMapiError(2, 'MAPISendMailW');
    expect(err).toBeInstanceOf(MailError);
    expect(err.message).toBe('send (MAPISendMailW): the mail client failed');
    expect(err.mapiCode).toBe(2);
    expect(err.hint).toMatch(/default mail program[\s\S]*new Outlook[\s\S]*32-bit/);
  });
});

describe('Extended MAPI HRESULTs', () => {
  test('known HRESULTs map to stable names; others to MAPI_HRESULT_0x...', () => {
    expect(extendedMapiCode(0x80040111)).toBe('MAPI_LOGON_FAILED');
    expect(extendedMapiCode(0x80040113)).toBe('MAPI_USER_CANCEL');
    expect(extendedMapiCode(0x80004005)).toBe('MAPI_CALL_FAILED');
    expect(extendedMapiCode(0x80040607)).toBe('MAPI_NO_RECIPIENTS');
    expect(extendedMapiCode(-2147221233)).toBe('MAPI_NOT_FOUND'); // a signed HRESULT is the same code
    expect(extendedMapiCode(0x80041234)).toBe('MAPI_HRESULT_0x80041234');
  });
  test('the error names the failing call; CALL_FAILED carries the bitness hint; a refused password says so', () => {
    const failed = extendedMapiError(0x80004005, 'MAPILogonEx');
    expect(failed.message).toBe('send (MAPILogonEx): call failed (HRESULT 0x80004005)');
    expect(failed.mapiCode).toBe(0x80004005);
    expect(failed.hint).toMatch(/bitness/);
    expect(extendedMapiError(0x80040111, 'MAPILogonEx', 'send', true).hint).toMatch(/must be NULL/);
    expect(extendedMapiError(0x80040111, 'MAPILogonEx', 'send', false).hint).toMatch(/mapi profiles/);
  });
});

describe('addresses', () => {
  test.each(['bob@example.com', "o'brien+tag@sub.example.co.uk", 'zoé@exemple.fr', 'a@[127.0.0.1]'])('%s is valid', (a) => {
    expect(checkAddress(a)).toBeUndefined();
  });
  test.each(['bob', 'bob@', '@example.com', 'bob@example', 'bo b@example.com', 'bob@exa_mple.com', 'a..b@example.com'])('%s is invalid', (a) => {
    expect(checkAddress(a)).toBeDefined();
  });
});

describe('parent window (ulUIParam)', () => {
  test('Electron handle Buffers (8 and 4 bytes, little endian) and bigints', () => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(0x1234abcdn);
    expect(uiParam(b)).toBe(0x1234abcdn);
    expect(uiParam(Buffer.from([0x78, 0x56, 0x34, 0x12]))).toBe(0x12345678n);
    expect(uiParam(42n)).toBe(42n);
    expect(uiParam(undefined)).toBe(0n);
    expect(() => uiParam(Buffer.alloc(3))).toThrow(TypeError);
  });
});

describe('managed relay from the environment', () => {
  test('smtp:// and smtps:// URLs with credentials', () => {
    expect(resolveRelay(undefined, { OXYMAIL_MANAGED_RELAY: 'smtps://u%40x:p%2Fw@relay.example.com', OXYMAIL_MANAGED_FROM: 'a@relay.example.com' })).toEqual({
      host: 'relay.example.com',
      port: 465,
      security: 'tls',
      username: 'u@x',
      password: 'p/w',
      assignedAddress: 'a@relay.example.com',
    });
    expect(resolveRelay(undefined, { OXYMAIL_MANAGED_RELAY: 'smtp://relay.example.com:2525', OXYMAIL_MANAGED_FROM: 'a@relay.example.com' })?.port).toBe(2525);
    expect(resolveRelay(undefined, {})).toBeUndefined();
  });
  test('a relay without an assigned address is not connected', () => {
    expect(() => resolveRelay(undefined, { OXYMAIL_MANAGED_RELAY: 'smtp://relay.example.com' })).toThrow(
      expect.objectContaining({ code: 'MANAGED_NOT_CONNECTED' }),
    );
  });
});

describe('nodemailer options from settings', () => {
  test('login is forced when credentials are set; STARTTLS is required for a remote host with a password', () => {
    const o = poolOptions({ host: 'mail.example.com', port: 25, security: 'auto', username: 'a', password: 'p' });
    expect(o).toMatchObject({ port: 25, secure: false, requireTLS: true, forceAuth: true, auth: { user: 'a', pass: 'p' } });
  });
  test('465 auto is implicit TLS; none ignores STARTTLS; OAuth2 token', () => {
    expect(poolOptions({ host: 'h', port: 465, security: 'auto' })).toMatchObject({ secure: true, requireTLS: false });
    expect(poolOptions({ host: 'h', port: 25, security: 'none' })).toMatchObject({ secure: false, ignoreTLS: true });
    expect(poolOptions({ host: 'h', port: 587, security: 'starttls', username: 'a', accessToken: 't' }).auth).toEqual({
      type: 'OAuth2',
      user: 'a',
      accessToken: 't',
    });
  });
});

describe('did you mean', () => {
  test('a misspelt message field is answered with the closest known one', async () => {
    const err = await validateMessage({ to: 'bob@example.com', text: 'x', prority: 'high', attachements: [] } as never).catch((e) => e);
    expect(err.code).toBe('UNKNOWN_OPTION');
    expect(err.problems.map((p: { path: string; message: string }) => [p.path, /did you mean (\w+)\?/.exec(p.message)?.[1]])).toEqual([
      ['prority', 'priority'],
      ['attachements', 'attachments'],
    ]);
  });

  test('closest: swaps and a missing letter count as one edit; nothing far off is guessed', () => {
    expect(closest('prot', ['host', 'port', 'security'])).toBe('port');
    expect(closest('secuirty', ['host', 'port', 'security'])).toBe('security');
    expect(closest('zzz', ['host', 'port'])).toBeUndefined();
  });
});
