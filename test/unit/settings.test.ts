import { MailError, MailWarning, validateSettings, maskSecrets } from '../../lib';
import { settingsProblems as problemsOf } from '../helpers/fixtures';

describe('validateSettings', () => {
  test('empty settings mean managed mode with defaults', () => {
    expect(validateSettings({})).toEqual({
      customize: false,
      defaults: { readReceipt: false, deliveryReceipt: false, importance: 'normal' },
    });
  });

  test('SMTP defaults: port 25 and security auto, as the product page says', () => {
    const s = validateSettings({ email: 'a@example.com', customize: true, protocol: 'smtp', smtp: { host: 'mail.example.com' } });
    expect(s.smtp).toEqual({ host: 'mail.example.com', port: 25, security: 'auto' });
  });

  test('MAPI defaults: simple interface, no dialog', () => {
    const s = validateSettings({ customize: true, protocol: 'mapi', mapi: { profile: 'Outlook' } });
    expect(s.mapi).toEqual({ profile: 'Outlook', interface: 'simple', dialog: false });
  });

  test('lists every problem with its field path', () => {
    const problems = problemsOf({
      email: 'not an address',
      customize: 'yes',
      smtp: { host: 'mail.example.com', port: 70000, security: 'ssl', colour: 'blue' },
      defaults: { importance: 'urgent' },
      signature: 'x',
    });
    expect(problems.map((p) => p.path).sort()).toEqual(
      ['customize', 'defaults.importance', 'email', 'signature', 'smtp.colour', 'smtp.port', 'smtp.security'].sort(),
    );
    expect(problems.find((p) => p.path === 'smtp.colour')?.message).toMatch(/unknown setting/);
  });

  test('type problems and missing or contradicting fields are listed together', () => {
    const problems = problemsOf({ customize: true, smtp: { port: 'x', security: 'none', username: 'u' } });
    expect(problems.map((p) => p.path).sort()).toEqual(['protocol', 'smtp.password', 'smtp.port'].sort());
    expect(
      problemsOf({ customize: true, protocol: 'smtp', email: 'bad', smtp: { port: 465, security: 'starttls' } })
        .map((p) => p.path)
        .sort(),
    ).toEqual(['email', 'smtp.host', 'smtp.security'].sort());
  });

  test('the error message names each field', () => {
    expect(() => validateSettings({ smtp: { port: 0 } })).toThrow(/smtp\.port: must be an integer from 1 to 65535/);
  });

  test.each([['starttls'], ['none']])("port 465 with security '%s' is a contradiction, with a hint", (security) => {
    const problems = problemsOf({ smtp: { host: 'mail.example.com', port: 465, security } });
    expect(problems).toEqual([expect.objectContaining({ path: 'smtp.security', hint: expect.stringMatching(/465/) })]);
  });

  test("port 465 with 'auto' or 'tls' is fine; 'tls' on 587 is allowed when chosen, with a warning", () => {
    expect(() => validateSettings({ smtp: { host: 'h.example.com', port: 465 } })).not.toThrow();
    const warnings: MailWarning[] = [];
    validateSettings({ smtp: { host: 'h.example.com', port: 587, security: 'tls' } }, { onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.code)).toEqual(['TLS_ON_STARTTLS_PORT']);
  });

  test('a password in clear text to a remote host is refused unless allowInsecureAuth', () => {
    const smtp = { host: 'mail.example.com', security: 'none', username: 'a', password: 'p' };
    expect(problemsOf({ smtp })[0]).toMatchObject({ path: 'smtp.security', hint: expect.stringMatching(/allowInsecureAuth/) });
    expect(() => validateSettings({ smtp: { ...smtp, allowInsecureAuth: true } })).not.toThrow();
    expect(() => validateSettings({ smtp: { ...smtp, host: '127.0.0.1' } })).not.toThrow();
  });

  test('the problems never echo a password', () => {
    const err = (() => {
      try {
        validateSettings({ smtp: { host: 'mail.example.com', security: 'none', username: 'a', password: 'S3cr3t-Value' } });
      } catch (e) {
        return e as MailError;
      }
    })();
    expect(JSON.stringify({ message: err?.message, problems: err?.problems, hint: err?.hint })).not.toContain('S3cr3t-Value');
  });

  test('username without password is refused', () => {
    expect(problemsOf({ smtp: { host: 'h.example.com', username: 'a' } })[0].path).toBe('smtp.password');
  });

  test('customize without protocol, and SMTP without host or email, are refused', () => {
    expect(problemsOf({ customize: true })[0].path).toBe('protocol');
    expect(
      problemsOf({ customize: true, protocol: 'smtp' })
        .map((p) => p.path)
        .sort(),
    ).toEqual(['email', 'smtp.host']);
  });

  test('CR/LF in a header-bound setting is refused', () => {
    expect(problemsOf({ label: 'Alice\r\nBcc: x@example.com' })[0]).toMatchObject({ path: 'label', message: /CR or LF/ });
    expect(problemsOf({ smtp: { host: 'h.example.com', senderName: 'A\nB' } })[0].path).toBe('smtp.senderName');
  });

  test('a section that is not an object is named as such', () => {
    expect(problemsOf({ smtp: 'mail.example.com' })[0]).toEqual({ path: 'smtp', message: 'must be an object' });
  });

  test('Gmail: spaces are stripped from the app password; a password that is not 16 letters warns', () => {
    const warnings: MailWarning[] = [];
    const s = validateSettings(
      { smtp: { host: 'smtp.gmail.com', port: 587, username: 'a@gmail.com', password: 'abcd efgh ijkl mnop' } },
      { onWarning: (w) => warnings.push(w) },
    );
    expect(s.smtp?.password).toBe('abcdefghijklmnop');
    expect(warnings).toEqual([]);
    validateSettings(
      { smtp: { host: 'smtp.gmail.com', port: 587, username: 'a@gmail.com', password: 'myGooglePassword1' } },
      { onWarning: (w) => warnings.push(w) },
    );
    expect(warnings).toEqual([expect.objectContaining({ code: 'GMAIL_APP_PASSWORD', message: expect.stringMatching(/App passwords/) })]);
  });

  test('maskSecrets hides every password and token', () => {
    const s = validateSettings({ smtp: { host: 'h.example.com', username: 'a', password: 'p1' }, mapi: { password: 'p2' } });
    const masked = JSON.stringify(maskSecrets(s));
    expect(masked).not.toMatch(/p1|p2/);
    expect(masked).toContain('********');
  });
});
