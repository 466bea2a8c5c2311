/**
 * Signing in once, to get the refresh token the token source lives on: the device authorization
 * grant (RFC 8628: a code to enter on another device, for terminals and admins) or the
 * authorization code flow with PKCE and a loopback redirect (RFC 8252, for desktop apps: the
 * application opens the URL in the user's browser). Also signing out (RFC 7009 revocation).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { MailError, problem } from '../errors';
import { text } from '../i18n';
import { OAuth2Settings, resolveSettings, SettingsInput, UserMailSettings } from '../settings';
import { configuration, oauthError, OAuthErrorContext, openidClient, withSignal } from './client';
import { pickAccount, TokenStatus } from './token-source';

/** What the person signing in with the device flow must be shown. */
export interface UserCodePrompt {
  /** Where to go (on any device). */
  verificationUri: string;
  /** The same with the code filled in, when the provider gives one. */
  verificationUriComplete?: string;
  /** The code to enter there. */
  userCode: string;
  /** When the code stops working. */
  expiresAt: Date;
}

/** Options of signIn. */
export interface SignInOptions {
  /** 'device' (default; not for Google's mail scope) or 'browser' (authorization code + PKCE, loopback redirect). */
  flow?: 'device' | 'browser';
  /** Device flow: shows the URL and the code to the person (required for 'device'). */
  onUserCode?: (prompt: UserCodePrompt) => void | Promise<void>;
  /** Browser flow: opens this URL in the user's browser (required for 'browser'). */
  openUrl?: (url: string) => void | Promise<void>;
  /** Browser flow: the loopback port to listen on (default: any free port, as RFC 8252 allows). */
  port?: number;
  /** Browser flow: how long to wait for the browser to come back (default 10 minutes). */
  timeoutMs?: number;
  /** Browser flow: suggests the account to the provider (login_hint). */
  loginHint?: string;
  signal?: AbortSignal;
}

/** The outcome of a sign-in. `refreshToken` is not enumerable: printing the result never shows it. */
export interface SignInResult {
  /** Store it as smtp.oauth2.refreshToken (the store's saveRefreshToken() does). */
  readonly refreshToken: string;
  scope?: string;
  /** When the access token issued with it expires. */
  expiresAt?: Date;
  account?: TokenStatus['account'];
}

function oauth2Of(settings: SettingsInput | UserMailSettings): OAuth2Settings {
  const s = resolveSettings(settings).settings;
  if (!s.smtp?.oauth2) {
    throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.noOAuth2'), {
      hint: text('INVALID_SETTINGS.hint.noOAuth2'),
      problems: [problem('smtp.oauth2', text('INVALID_SETTINGS.oauth2Required'))],
    });
  }
  return s.smtp.oauth2;
}

function result(
  tokens: { refresh_token?: string; scope?: string; expires_in?: number; id_token?: string; claims(): Record<string, unknown> | undefined },
  o: OAuth2Settings,
  op: string,
): SignInResult {
  if (!tokens.refresh_token) {
    throw new MailError('OAUTH_PROVIDER', text('OAUTH_PROVIDER.noRefreshToken', { op }), {
      hint:
        o.provider === 'microsoft'
          ? text('OAUTH_PROVIDER.hint.microsoftOffline')
          : o.provider === 'google'
            ? text('OAUTH_PROVIDER.hint.googleRemove')
            : text('OAUTH_PROVIDER.hint.oidcOffline'),
    });
  }
  const out: SignInResult = Object.defineProperty(
    {
      scope: tokens.scope ?? o.scopes,
      expiresAt: typeof tokens.expires_in === 'number' ? new Date(Date.now() + tokens.expires_in * 1000) : undefined,
      account: tokens.id_token ? pickAccount(tokens.claims() ?? {}) : undefined,
    },
    'refreshToken',
    { value: tokens.refresh_token, enumerable: false },
  ) as SignInResult;
  Object.defineProperty(out, inspect.custom, { value: () => `SignInResult ${inspect({ ...out })}`, enumerable: false });
  return out;
}

/**
 * Signs the user of `settings` in at their OAuth2 provider and returns the refresh token to store.
 * Errors: OAUTH_SIGNIN_DENIED, OAUTH_SIGNIN_EXPIRED, OAUTH_CONSENT_REQUIRED, OAUTH_CLIENT,
 * OAUTH_UNREACHABLE, ABORTED.
 */
export async function signIn(settings: SettingsInput | UserMailSettings, options: SignInOptions = {}): Promise<SignInResult> {
  const o = oauth2Of(settings);
  const flow = options.flow ?? 'device';
  if (flow !== 'device' && flow !== 'browser') throw new MailError('INVALID_OPTION', text('INVALID_OPTION.flow'));
  if (flow === 'device' && typeof options.onUserCode !== 'function') throw new TypeError('signIn: the device flow needs options.onUserCode to show the code');
  if (flow === 'browser' && typeof options.openUrl !== 'function')
    throw new TypeError('signIn: the browser flow needs options.openUrl to open the sign-in page');
  const ctx: OAuthErrorContext = { provider: o.provider };
  if (flow === 'device' && o.provider === 'google') {
    throw new MailError('INVALID_OPTION', text('INVALID_OPTION.googleDevice'), {
      hint: text('INVALID_OPTION.hint.googleDevice'),
    });
  }
  const op = `sign-in (${o.provider}, ${flow})`;
  return withSignal(options.signal, async () => {
    try {
      return flow === 'device' ? await deviceFlow(o, options, op) : await browserFlow(o, options, op);
    } catch (err) {
      if (options.signal?.aborted) throw new MailError('ABORTED', text('ABORTED', { where: op }), { cause: err });
      throw oauthError(err, op, ctx);
    }
  });
}

async function deviceFlow(o: OAuth2Settings, options: SignInOptions, op: string): Promise<SignInResult> {
  const client = await openidClient();
  const config = await configuration(o);
  // No login_hint here: RFC 8628 does not define it for the device endpoint (the person types the account on their device).
  const params: Record<string, string> = { scope: o.scopes as string };
  const device = await client.initiateDeviceAuthorization(config, params);
  await options.onUserCode?.({
    verificationUri: device.verification_uri,
    verificationUriComplete: device.verification_uri_complete,
    userCode: device.user_code,
    expiresAt: new Date(Date.now() + device.expires_in * 1000),
  });
  const tokens = await client.pollDeviceAuthorizationGrant(config, device, undefined, { signal: options.signal });
  return result(tokens, o, op);
}

/** The page the browser shows when it comes back to the loopback redirect. */
function page(title: string, text: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;
}

async function browserFlow(o: OAuth2Settings, options: SignInOptions, op: string): Promise<SignInResult> {
  const client = await openidClient();
  const config = await configuration(o);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  try {
    const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: o.scopes as string,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    };
    // A refresh token comes with consent: Google wants access_type=offline, OpenID providers prompt=consent with offline_access.
    if (o.provider === 'google') Object.assign(params, { access_type: 'offline', prompt: 'consent' });
    if (o.provider === 'oidc') params.prompt = 'consent';
    if (options.loginHint) params.login_hint = options.loginHint;
    const url = client.buildAuthorizationUrl(config, params);
    const callback = new Promise<URL>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new MailError('OAUTH_SIGNIN_EXPIRED', text('OAUTH_SIGNIN_EXPIRED.browser', { op, seconds: Math.round((options.timeoutMs ?? 600_000) / 1000) })),
          ),
        options.timeoutMs ?? 600_000,
      );
      const onAbort = () => reject(new MailError('ABORTED', text('ABORTED', { where: op })));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      server.on('request', (req, res) => {
        const got = new URL(req.url ?? '/', redirectUri);
        if (got.pathname !== '/callback') {
          res.writeHead(404).end();
          return;
        }
        const error = got.searchParams.get('error');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' });
        res.end(
          error
            ? page('Sign-in not completed', `The provider answered: ${error}. You can close this window.`)
            : page('Signed in', 'oxymail is signed in. You can close this window.'),
        );
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(got);
      });
    });
    await options.openUrl?.(url.toString());
    const returned = await callback;
    const tokens = await client.authorizationCodeGrant(config, returned, { pkceCodeVerifier: verifier, expectedState: state });
    return result(tokens, o, op);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** What signOut did at the provider. */
export interface SignOutResult {
  /** 'revoked'; 'unsupported' when the provider has no revocation endpoint (Microsoft); 'failed' with the error. */
  revocation: 'revoked' | 'unsupported' | 'failed';
  error?: MailError;
}

/** Revokes a refresh token at the provider's revocation endpoint (RFC 7009), when it has one. Never throws for the provider's sake. */
export async function signOut(
  settings: SettingsInput | UserMailSettings,
  refreshToken: string,
  options: { signal?: AbortSignal } = {},
): Promise<SignOutResult> {
  const o = oauth2Of(settings);
  const op = `sign-out (${o.provider})`;
  return withSignal(options.signal, async () => {
    try {
      const client = await openidClient();
      const config = await configuration(o);
      if (!config.serverMetadata().revocation_endpoint) return { revocation: 'unsupported' as const };
      await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
      return { revocation: 'revoked' as const };
    } catch (err) {
      return { revocation: 'failed' as const, error: oauthError(err, op, { provider: o.provider }) };
    }
  });
}
