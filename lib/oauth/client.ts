/**
 * The one file that loads openid-client (certified OpenID client, ES module only), lazily: a
 * mailer without smtp.oauth2 never loads it. tsconfig.build.json (module node16) keeps the
 * `import()` native, so the CommonJS build loads the ES module on every Node 20. Also the
 * provider's Configuration for a user's settings, and the mapping of OAuth2 failures to codes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as Oidc from 'openid-client' with { 'resolution-mode': 'import' };
import { ErrorCode, MailError } from '../errors';
import { Text, text } from '../i18n';
import type { OAuth2Settings } from '../settings';
import { authorizationServer, isLoopbackHttp } from './presets';

/** openid-client's module. */
export type OpenIdClient = typeof Oidc;
/** A provider and a client, as openid-client holds them. */
export type Configuration = Oidc.Configuration;

let loading: Promise<OpenIdClient> | undefined;

/** Loads openid-client once (on the first OAuth2 use). */
export function openidClient(): Promise<OpenIdClient> {
  return (loading ??= import('openid-client'));
}

/** The AbortSignal of the operation under way: every request openid-client makes for it observes it. */
const requestSignal = new AsyncLocalStorage<AbortSignal | undefined>();

/** Runs `fn` with its provider requests aborted by `signal` (as well as by openid-client's own timeout). */
export function withSignal<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  return requestSignal.run(signal, fn);
}

const configurations = new Map<string, Promise<Configuration>>();

/** The provider's Configuration for these settings (discovered once per process for 'oidc'). */
export async function configuration(o: OAuth2Settings): Promise<Configuration> {
  const key = JSON.stringify([o.provider, o.clientId, o.tenant, o.issuer, o.clientSecret !== undefined]);
  let found = configurations.get(key);
  if (!found) {
    found = makeConfiguration(o);
    configurations.set(key, found);
    // A failed discovery (provider down) is tried again next time.
    found.catch(() => configurations.delete(key));
  }
  return found;
}

async function makeConfiguration(o: OAuth2Settings): Promise<Configuration> {
  const client = await openidClient();
  const server = authorizationServer(o);
  const auth = o.clientSecret !== undefined ? client.ClientSecretPost(o.clientSecret) : client.None();
  const insecure = server.kind === 'discover' && isLoopbackHttp(server.issuer);
  let config: Configuration;
  if (server.kind === 'static') {
    config = new client.Configuration(server.metadata, o.clientId, undefined, auth);
  } else {
    try {
      config = await client.discovery(new URL(server.issuer), o.clientId, undefined, auth, {
        execute: insecure ? [client.allowInsecureRequests] : [],
        [client.customFetch]: signalledFetch,
      });
    } catch (err) {
      throw oauthError(err, `discovery (${server.issuer})`, {});
    }
  }
  if (insecure) client.allowInsecureRequests(config);
  config[client.customFetch] = signalledFetch;
  return config;
}

/** fetch with the current operation's signal joined to openid-client's own (its timeout). */
const signalledFetch: Oidc.CustomFetch = (url, options) => {
  const outer = requestSignal.getStore();
  const signal = outer ? (options.signal ? AbortSignal.any([options.signal, outer]) : outer) : options.signal;
  return fetch(url, { ...options, signal } as RequestInit);
};

/** What a hint needs to know: the user id for `oxymail auth login <user>`, the provider. */
export interface OAuthErrorContext {
  /** The command that signs this user in again (`oxymail auth login alice`). */
  loginCommand?: string;
  provider?: OAuth2Settings['provider'];
}

const signInAgain = (ctx: OAuthErrorContext): Text =>
  ctx.loginCommand ? text('OAUTH_SIGNIN_REQUIRED.hint.command', { command: ctx.loginCommand }) : text('OAUTH_SIGNIN_REQUIRED.hint');

/** Hints, one per code, kept together for the message catalog. */
export const OAUTH_HINTS = {
  consent: (ctx: OAuthErrorContext) => (ctx.provider === 'microsoft' ? text('OAUTH_CONSENT_REQUIRED.hint.microsoft') : text('OAUTH_CONSENT_REQUIRED.hint')),
  tenant: () => text('OAUTH_WRONG_TENANT.hint'),
  client: (ctx: OAuthErrorContext) => (ctx.provider === 'microsoft' ? text('OAUTH_CLIENT.hint.microsoft') : text('OAUTH_CLIENT.hint')),
  unreachable: () => text('OAUTH_UNREACHABLE.hint'),
  denied: () => text('OAUTH_SIGNIN_DENIED.hint'),
  expired: () => text('OAUTH_SIGNIN_EXPIRED.hint'),
  scope: () => text('OAUTH_PROVIDER.hint.scope'),
};

/** What a failed request says when it never got an HTTP answer (fetch's TypeError, possibly wrapped by openid-client), or undefined. */
function networkFailure(err: unknown): string | undefined {
  let e = err as { name?: string; message?: string; code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 5; depth++, e = e.cause as typeof e) {
    if (e.name === 'TimeoutError') return 'timed out';
    if (e.name === 'TypeError' && /fetch failed/i.test(e.message ?? '')) {
      const why = e.cause as { code?: unknown; message?: string } | undefined;
      return typeof why?.code === 'string' ? why.code : (why?.message ?? 'fetch failed');
    }
  }
  return undefined;
}

/**
 * Maps an openid-client or fetch failure to a MailError. Never quotes a request: the provider's
 * error and error_description only, which never hold our tokens.
 */
export function oauthError(err: unknown, op: string, ctx: OAuthErrorContext): MailError {
  if (err instanceof MailError) return err;
  const e = err as { name?: string; code?: string; error?: string; error_description?: string; status?: number; message?: string; cause?: unknown };
  const make = (code: ErrorCode, message: Text | string, hint?: Text) => new MailError(code, text('OAUTH.failed', { op, message }), { cause: err, hint });
  if (e?.name === 'AbortError') return make('ABORTED', text('OAUTH.aborted'));
  if (typeof e?.error === 'string') {
    const description = e.error_description ? ` (${e.error_description.split(/\r?\n/)[0]})` : '';
    const said = text('OAUTH.answered', { error: e.error, description });
    const said2 = `${e.error} ${e.error_description ?? ''}`;
    if (/AADSTS65001|AADSTS65004|consent_required/.test(said2)) return make('OAUTH_CONSENT_REQUIRED', said, OAUTH_HINTS.consent(ctx));
    if (/AADSTS50020|AADSTS90072|AADSTS700016|AADSTS50128|AADSTS50059|AADSTS90002/.test(said2)) return make('OAUTH_WRONG_TENANT', said, OAUTH_HINTS.tenant());
    if (/AADSTS7000218|AADSTS700025|AADSTS50011|AADSTS500113/.test(said2)) return make('OAUTH_CLIENT', said, OAUTH_HINTS.client(ctx));
    switch (e.error) {
      case 'invalid_grant':
      case 'interaction_required':
      case 'login_required':
        return make('OAUTH_SIGNIN_REQUIRED', text('OAUTH_SIGNIN_REQUIRED.invalid', { said }), signInAgain(ctx));
      case 'invalid_client':
      case 'unauthorized_client':
      case 'invalid_request_uri':
        return make('OAUTH_CLIENT', said, OAUTH_HINTS.client(ctx));
      case 'access_denied':
        return make('OAUTH_SIGNIN_DENIED', said, OAUTH_HINTS.denied());
      case 'expired_token':
        return make('OAUTH_SIGNIN_EXPIRED', said, OAUTH_HINTS.expired());
      case 'invalid_scope':
        return make('OAUTH_PROVIDER', said, OAUTH_HINTS.scope());
      case 'temporarily_unavailable':
      case 'server_error':
        return make('OAUTH_UNREACHABLE', said, OAUTH_HINTS.unreachable());
      default:
        return make('OAUTH_PROVIDER', said);
    }
  }
  const network = networkFailure(err);
  if (network) return make('OAUTH_UNREACHABLE', text('OAUTH_UNREACHABLE', { network }), OAUTH_HINTS.unreachable());
  if (typeof e?.status === 'number' && e.status >= 500) {
    return make('OAUTH_UNREACHABLE', text('OAUTH_UNREACHABLE.http', { status: e.status }), OAUTH_HINTS.unreachable());
  }
  return make('OAUTH_PROVIDER', text('OAUTH_PROVIDER.unexpected', { error: e?.message ?? String(err) }));
}
