/**
 * The token source the SMTP transport asks for an access token (CONTRACTS.md #3). It owns the
 * refresh token, the access token cached in memory, refreshing before expiry (one refresh shared
 * by concurrent callers), and handing a rotated refresh token to `onTokens` to be saved. It never
 * reads or writes the store itself, and never shows a token (inspect, JSON, errors).
 */
import { inspect } from 'node:util';
import { MailError } from '../errors';
import { text } from '../i18n';
import type { OAuth2Settings } from '../settings';
import { configuration, oauthError, OAuthErrorContext, openidClient, withSignal } from './client';

/** What the SMTP transport needs for XOAUTH2: the login name and a way to get a current token. */
export interface TokenSource {
  /** The XOAUTH2 user (the mailbox signed in). */
  readonly user: string;
  /** A current access token; `forceRefresh` when the server refused the last one. */
  getAccessToken(options?: { forceRefresh?: boolean; signal?: AbortSignal }): Promise<string>;
}

/** What the provider gave at a sign-in or a refresh, handed to `onTokens` when the refresh token is new. */
export interface IssuedTokens {
  /** The refresh token to store (it replaces the previous one: providers that rotate refuse the old one). */
  refreshToken: string;
  /** The scopes granted, space-separated. */
  scope?: string;
  /** When the access token issued with it expires. */
  expiresAt?: Date;
}

/** Receives each new refresh token; a mailer made by the store saves it to the user's settings. */
export type OnTokens = (tokens: IssuedTokens) => void | Promise<void>;

/** Who is signed in and what the last refresh gave (never a token). */
export interface TokenStatus {
  user: string;
  scope?: string;
  expiresAt?: Date;
  /** The ID token's claims, when the scopes include openid. */
  account?: { sub?: string; email?: string; name?: string };
}

/** Options of createTokenSource. */
export interface TokenSourceOptions {
  oauth2: OAuth2Settings;
  /** The XOAUTH2 user: smtp.username, else the e-mail address. */
  user: string;
  /** The refresh token (else smtp.oauth2.refreshToken). */
  refreshToken?: string;
  onTokens?: OnTokens;
  /**
   * Reads the refresh token as saved now, before each refresh (the store's: another process may
   * have rotated it since; undefined means signed out). Without it, the one held in memory is used.
   */
  currentRefreshToken?: () => Promise<string | undefined>;
  /** Names the user in hints (`oxymail auth login <user>`). */
  loginCommand?: string;
  /**
   * Refreshes shared between processes (the store's): each refresh runs under a cross-process lock,
   * and a process that waited for it uses the access token the other one just got instead of
   * refreshing again. Without it, refreshes are shared within this process only.
   */
  shared?: SharedRefresh;
}

/** An access token, when it expires and when it is due for a refresh (ms since the epoch). */
export interface SavedAccess {
  token: string;
  expiresAt: number;
  refreshAt: number;
  scope?: string;
}

/**
 * What lets processes share one user's refreshes (see TokenSourceOptions.shared). The saved access
 * token belongs to the refresh token it came with: after a sign-out or a new sign-in it is not used.
 */
export interface SharedRefresh {
  /** Runs `work` while no other process refreshes this user's tokens. */
  lock<T>(work: () => Promise<T>): Promise<T>;
  /** The access token saved with this refresh token, if any. */
  readAccess(refreshToken: string): Promise<SavedAccess | undefined>;
  /** Saves the access token got with this refresh token (a failure only costs other processes a refresh). */
  saveAccess(refreshToken: string, access: SavedAccess): Promise<void>;
}

/** Refresh this long before the access token expires, at most; a quarter of a short lifetime. */
const MAX_MARGIN_MS = 60_000;

/** How long before expiry a token of this remaining lifetime is refreshed. */
function margin(lifetimeMs: number): number {
  return Math.min(MAX_MARGIN_MS, lifetimeMs / 4);
}

/** Races `promise` against `signal`: a caller that gives up does not cancel the refresh others wait for. */
function raced<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new MailError('ABORTED', text('ABORTED', { where: what })));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new MailError('ABORTED', text('ABORTED', { where: what })));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The token source of OAuth2 settings: see the module comment. */
export class OAuth2TokenSource implements TokenSource {
  readonly user: string;
  readonly #oauth2: OAuth2Settings;
  readonly #onTokens?: OnTokens;
  readonly #current?: () => Promise<string | undefined>;
  readonly #shared?: SharedRefresh;
  readonly #ctx: OAuthErrorContext;
  #refreshToken?: string;
  #access?: { token: string; expiresAt: number; margin: number };
  #status?: TokenStatus;
  #refreshing?: Promise<string>;
  /** How many refreshes this source made (for the doctor and tests). */
  refreshes = 0;

  constructor(options: TokenSourceOptions) {
    this.user = options.user;
    this.#oauth2 = options.oauth2;
    this.#refreshToken = options.refreshToken ?? options.oauth2.refreshToken;
    this.#onTokens = options.onTokens;
    this.#current = options.currentRefreshToken;
    this.#shared = options.shared;
    this.#ctx = { loginCommand: options.loginCommand, provider: options.oauth2.provider };
  }

  /** True when there is a refresh token to use (signed in, as far as this machine knows). */
  get signedIn(): boolean {
    return this.#refreshToken !== undefined;
  }

  async getAccessToken(options: { forceRefresh?: boolean; signal?: AbortSignal } = {}): Promise<string> {
    const a = this.#access;
    if (!options.forceRefresh && !this.#refreshing && a && Date.now() < a.expiresAt - a.margin) return a.token;
    // forceRefresh: the server refused this token; one another process got since is a new one.
    const refused = options.forceRefresh ? (a?.token ?? '') : undefined;
    this.#refreshing ??= this.#refresh(refused).finally(() => (this.#refreshing = undefined));
    return raced(this.#refreshing, options.signal, 'OAuth2 token refresh');
  }

  /** Refreshes now (at the provider, never from another process's token) and says who is signed in, the scopes and the new access token's lifetime. */
  async status(signal?: AbortSignal): Promise<TokenStatus> {
    await raced(
      (this.#refreshing ?? Promise.resolve('')).catch(() => ''),
      signal,
      'OAuth2 token refresh',
    );
    this.#refreshing ??= this.#refresh(null).finally(() => (this.#refreshing = undefined));
    await raced(this.#refreshing, signal, 'OAuth2 token refresh');
    return { ...(this.#status as TokenStatus) };
  }

  /**
   * One refresh; with `shared`, under the cross-process lock, and answered by the access token
   * another process saved for the current refresh token when it is still valid and is not
   * `refused` (null: always ask the provider).
   */
  #refresh(refused?: string | null): Promise<string> {
    const shared = this.#shared;
    if (!shared) return this.#refreshAtProvider();
    return shared.lock(async () => {
      if (this.#current) this.#refreshToken = await this.#current();
      const current = this.#refreshToken;
      if (current !== undefined && refused !== null) {
        const saved = await shared.readAccess(current).catch(() => undefined);
        if (saved && saved.token !== refused && Date.now() < saved.refreshAt && saved.refreshAt <= saved.expiresAt) {
          this.#access = { token: saved.token, expiresAt: saved.expiresAt, margin: saved.expiresAt - saved.refreshAt };
          this.#status = {
            ...this.#status,
            user: this.user,
            scope: saved.scope ?? this.#status?.scope ?? this.#oauth2.scopes,
            expiresAt: new Date(saved.expiresAt),
          };
          return saved.token;
        }
      }
      const token = await this.#refreshAtProvider(false);
      const access = this.#access;
      if (access && this.#refreshToken !== undefined) {
        await shared
          .saveAccess(this.#refreshToken, { token, expiresAt: access.expiresAt, refreshAt: access.expiresAt - access.margin, scope: this.#status?.scope })
          .catch(() => undefined);
      }
      return token;
    });
  }

  async #refreshAtProvider(reread = true): Promise<string> {
    // A provider that rotates refuses a refresh token used twice (and may revoke the grant): take
    // the newest saved one, in case another process (the CLI, the doctor) refreshed meanwhile.
    if (reread && this.#current) this.#refreshToken = await this.#current();
    const refreshToken = this.#refreshToken;
    if (refreshToken === undefined) {
      throw new MailError('OAUTH_SIGNIN_REQUIRED', text('OAUTH_SIGNIN_REQUIRED', { provider: this.#oauth2.provider, user: this.user }), {
        hint: this.#ctx.loginCommand
          ? text('OAUTH_SIGNIN_REQUIRED.hint.first', { command: this.#ctx.loginCommand })
          : text('OAUTH_SIGNIN_REQUIRED.hint.firstApi'),
      });
    }
    const client = await openidClient();
    const config = await configuration(this.#oauth2);
    const params: Record<string, string> = {};
    if (this.#oauth2.scopes) params.scope = this.#oauth2.scopes;
    let tokens;
    try {
      this.refreshes++;
      // No caller's signal here: the refresh is shared, and one caller giving up must not fail the others.
      tokens = await withSignal(undefined, () => client.refreshTokenGrant(config, refreshToken, params));
    } catch (err) {
      this.#access = undefined;
      throw oauthError(err, `OAuth2 token refresh (${this.#oauth2.provider})`, this.#ctx);
    }
    const lifetime = (typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : 300) * 1000;
    const now = Date.now();
    this.#access = { token: tokens.access_token, expiresAt: now + lifetime, margin: margin(lifetime) };
    const claims = tokens.id_token ? tokens.claims() : undefined;
    this.#status = {
      user: this.user,
      scope: tokens.scope ?? this.#oauth2.scopes,
      expiresAt: new Date(now + lifetime),
      account: claims ? pickAccount(claims) : this.#status?.account,
    };
    if (tokens.refresh_token && tokens.refresh_token !== refreshToken) {
      this.#refreshToken = tokens.refresh_token;
      await this.#onTokens?.({ refreshToken: tokens.refresh_token, scope: this.#status.scope, expiresAt: this.#status.expiresAt });
    }
    return tokens.access_token;
  }

  /** What JSON.stringify and console.log show: never a token. */
  toJSON(): object {
    return { user: this.user, provider: this.#oauth2.provider, signedIn: this.signedIn };
  }

  [inspect.custom](): string {
    return `OAuth2TokenSource ${inspect(this.toJSON())}`;
  }
}

/** The account fields worth showing, from ID token claims. */
export function pickAccount(claims: Record<string, unknown>): TokenStatus['account'] {
  const str = (k: string) => (typeof claims[k] === 'string' ? (claims[k] as string) : undefined);
  return { sub: str('sub'), email: str('email') ?? str('preferred_username') ?? str('upn'), name: str('name') };
}

/** A token source for OAuth2 settings (see OAuth2TokenSource). */
export function createTokenSource(options: TokenSourceOptions): OAuth2TokenSource {
  return new OAuth2TokenSource(options);
}
