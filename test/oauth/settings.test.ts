/**
 * smtp.oauth2 settings: presets, what each provider needs, http issuers on loopback only, scopes
 * as a string or (in files) an array, secrets masked; and the mapping of provider errors to codes.
 */
import { inspect } from 'node:util';
import { createMailer, maskSecrets, resolveSettings, validateSettings } from '../../lib';
import { oauthError } from '../../lib/oauth/client';
import { authorizationServer } from '../../lib/oauth/presets';
import { settingsProblems as problems } from '../helpers/fixtures';

const base = { email: 'alice@contoso.com', customize: true, protocol: 'smtp' as const };

test('microsoft preset: tenant organizations, SMTP.Send + offline_access, smtp.office365.com:587 STARTTLS when smtp.host is unset; no refresh token yet is valid', () => {
  const { settings, effective } = resolveSettings({ ...base, smtp: { oauth2: { provider: 'microsoft', clientId: '11111111-2222-3333-4444-555555555555' } } });
  expect(settings.smtp).toMatchObject({
    host: 'smtp.office365.com',
    port: 587,
    security: 'starttls',
    oauth2: { provider: 'microsoft', tenant: 'organizations', scopes: 'https://outlook.office.com/SMTP.Send offline_access' },
  });
  expect(effective['smtp.host']).toEqual({ value: 'smtp.office365.com', source: 'default' });
  expect(effective['smtp.oauth2.clientId'].source).toBe('user');
  const server = authorizationServer(settings.smtp!.oauth2!);
  expect(server).toMatchObject({
    kind: 'static',
    metadata: { device_authorization_endpoint: 'https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode' },
  });
});

test('google preset: https://mail.google.com/ on smtp.gmail.com; a host given by the user is kept', () => {
  const g = validateSettings({ ...base, smtp: { oauth2: { provider: 'google', clientId: 'x.apps.googleusercontent.com' } } });
  expect(g.smtp).toMatchObject({ host: 'smtp.gmail.com', oauth2: { scopes: 'https://mail.google.com/' } });
  const own = validateSettings({
    ...base,
    smtp: { host: 'relay.contoso.com', port: 2525, oauth2: { provider: 'microsoft', clientId: 'c', tenant: 'contoso.onmicrosoft.com' } },
  });
  expect(own.smtp).toMatchObject({ host: 'relay.contoso.com', port: 2525, security: 'auto', oauth2: { tenant: 'contoso.onmicrosoft.com' } });
});

test('oidc needs issuer and scopes; scopes as an array (files) becomes one string', () => {
  expect(problems({ ...base, smtp: { host: 'h', oauth2: { provider: 'oidc', clientId: 'c' } } }).map((p) => p.path)).toEqual([
    'smtp.oauth2.issuer',
    'smtp.oauth2.scopes',
  ]);
  const s = validateSettings({
    ...base,
    smtp: { host: 'h', oauth2: { provider: 'oidc', clientId: 'c', issuer: 'https://id.example.com/realm', scopes: ['openid', 'offline_access', 'smtp'] } },
  });
  expect(s.smtp?.oauth2?.scopes).toBe('openid offline_access smtp');
  expect(
    validateSettings({ ...base, smtp: { host: 'h', oauth2: { provider: 'oidc', clientId: 'c', issuer: 'https://i', scopes: '  openid   smtp ' } } }).smtp
      ?.oauth2?.scopes,
  ).toBe('openid smtp');
});

test('http:// issuers on loopback only; every problem is listed with its path', () => {
  for (const issuer of ['http://127.0.0.1:8080', 'http://localhost/realm', 'http://[::1]:9000']) {
    expect(() => validateSettings({ ...base, smtp: { host: 'h', oauth2: { provider: 'oidc', clientId: 'c', issuer, scopes: 's' } } })).not.toThrow();
  }
  const found = problems({
    ...base,
    smtp: { host: 'h', password: 'p', oauth2: { provider: 'oidc', issuer: 'http://id.example.com', scopes: ['ok', 'a b'], tenant: 't' } },
  });
  expect(found).toEqual(
    expect.arrayContaining([
      { path: 'smtp.oauth2.clientId', message: expect.stringContaining('is required'), hint: expect.any(String) },
      { path: 'smtp.oauth2.issuer', message: expect.stringContaining('https://') },
      { path: 'smtp.oauth2.scopes', message: expect.stringContaining('RFC 6749') },
      { path: 'smtp.oauth2.tenant', message: "is for provider 'microsoft' only" },
      { path: 'smtp.password', message: expect.stringContaining('contradicts smtp.oauth2'), hint: expect.any(String) },
    ]),
  );
  expect(problems({ ...base, smtp: { host: 'h', oauth2: { provider: 'oidc', clientId: 'c', issuer: 'ftp://x', scopes: 's' } } })[0].path).toBe(
    'smtp.oauth2.issuer',
  );
  expect(problems({ ...base, smtp: { oauth2: { provider: 'google', clientId: 'c', issuer: 'https://accounts.google.com' } } })[0]).toMatchObject({
    path: 'smtp.oauth2.issuer',
    message: expect.stringContaining("provider 'oidc'"),
  });
  expect(problems({ ...base, smtp: { oauth2: { provider: 'microsoft', clientId: 'c', scopes: '' } } })[0].path).toBe('smtp.oauth2.scopes');
  expect(problems({ ...base, smtp: { oauth2: { provider: 'aol', clientId: 'c' } } })[0].path).toBe('smtp.oauth2.provider');
});

test('the refresh token and client secret are secrets: masked in effective settings, maskSecrets, and a mailer printed', () => {
  const input = { ...base, smtp: { oauth2: { provider: 'google' as const, clientId: 'c', clientSecret: 'GOCSPX-secret', refreshToken: '1//refresh-secret' } } };
  const { settings, effective } = resolveSettings(input);
  expect(effective['smtp.oauth2.refreshToken'].value).toBe('********');
  expect(effective['smtp.oauth2.clientSecret'].value).toBe('********');
  expect(JSON.stringify(maskSecrets(settings))).not.toMatch(/secret/);
  const mailer = createMailer(input);
  expect(inspect(mailer, { depth: 9 }) + JSON.stringify(mailer)).not.toMatch(/refresh-secret|GOCSPX/);
  mailer.close();
});

test('provider errors map to stable codes with hints, never quoting a request', () => {
  const err = (error: string, error_description?: string) =>
    oauthError({ error, error_description }, 'refresh', { provider: 'microsoft', loginCommand: 'oxymail auth login alice' });
  expect(err('invalid_grant', 'AADSTS70008: The provided authorization code or refresh token has expired')).toMatchObject({
    code: 'OAUTH_SIGNIN_REQUIRED',
    hint: 'Sign in again: oxymail auth login alice',
  });
  expect(err('invalid_grant', 'AADSTS65001: The user or administrator has not consented to use the application')).toMatchObject({
    code: 'OAUTH_CONSENT_REQUIRED',
    hint: expect.stringContaining('Grant admin consent'),
  });
  expect(err('invalid_request', "AADSTS50020: User account from identity provider does not exist in tenant 'Contoso'")).toMatchObject({
    code: 'OAUTH_WRONG_TENANT',
    hint: expect.stringContaining('smtp.oauth2.tenant'),
  });
  expect(err('invalid_client', 'AADSTS7000218: The request body must contain client_assertion or client_secret')).toMatchObject({
    code: 'OAUTH_CLIENT',
    hint: expect.stringContaining('Allow public client flows'),
  });
  expect(err('access_denied').code).toBe('OAUTH_SIGNIN_DENIED');
  expect(err('expired_token').code).toBe('OAUTH_SIGNIN_EXPIRED');
  expect(err('temporarily_unavailable').code).toBe('OAUTH_UNREACHABLE');
  expect(err('unsupported_grant_type').code).toBe('OAUTH_PROVIDER');
});
