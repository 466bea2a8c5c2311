/**
 * The doctor's OAuth2 line: signed in (a refresh token is stored)? does the refresh work (the
 * provider answers and the grant is valid)? was the XOAUTH2 login accepted (the SMTP login that
 * follows uses the token this refresh gave)?
 */
import { MailError } from '../errors';
import { createTokenSource, OnTokens, TokenSource, TokenStatus } from '../oauth/token-source';
import type { UserMailSettings } from '../settings';
import type { LoginFact } from './probe';
import type { DoctorLine } from './verdicts';

/** What the OAuth2 check found before the SMTP login. */
export interface OAuthCheck {
  /** The token source whose refresh worked: the login uses it. */
  tokenSource?: TokenSource;
  /** Why the XOAUTH2 login is not tried. */
  skipped?: string;
  /** The line, completed by oauthLine() once the login is known. */
  title: string;
  verdict: DoctorLine['verdict'];
  detail: string;
}

/** Options: the token source to check (the store's), or onTokens to make one that saves a rotated refresh token. */
export interface OAuthCheckOptions {
  tokenSource?: TokenSource & { status?(signal?: AbortSignal): Promise<TokenStatus> };
  onTokens?: OnTokens;
  /** Secrets that cannot be opened here. */
  unreadable: string[];
  /** `oxymail auth login alice`, for the hint. */
  loginCommand: string;
}

/** Checks the sign-in and the refresh; undefined without smtp.oauth2. */
export async function checkOAuth2(settings: UserMailSettings, options: OAuthCheckOptions): Promise<OAuthCheck | undefined> {
  const o = settings.smtp?.oauth2;
  if (!o) return undefined;
  const at = o.provider === 'oidc' ? `OAuth2 (${o.issuer})` : `OAuth2 (${o.provider})`;
  if (options.unreadable.some((p) => p.startsWith('smtp.oauth2.'))) {
    return {
      verdict: 'fail',
      title: `${at}: the stored sign-in cannot be read on this machine`,
      detail: 'See the settings line above.',
      skipped: 'the OAuth2 secrets cannot be read here',
    };
  }
  if (o.refreshToken === undefined) {
    return { verdict: 'fail', title: `${at}: not signed in`, detail: `Sign in once: ${options.loginCommand}`, skipped: 'not signed in to OAuth2 yet' };
  }
  const source =
    options.tokenSource ??
    (options.onTokens ? createTokenSource({ oauth2: o, user: settings.smtp?.username ?? (settings.email as string), onTokens: options.onTokens }) : undefined);
  if (!source) {
    return {
      verdict: 'info',
      title: `${at}: signed in (a refresh token is stored); the refresh was not tried`,
      detail: 'runDoctor refreshes only when given onTokens or a tokenSource, so that a rotated refresh token is saved.',
      skipped: 'the OAuth2 refresh was not tried',
    };
  }
  try {
    const status = 'status' in source && typeof source.status === 'function' ? await source.status() : undefined;
    if (!status) await source.getAccessToken({ forceRefresh: true });
    const who = status?.account?.email ?? status?.account?.sub ?? source.user;
    const lifetime = status?.expiresAt ? ` access token valid ${Math.round((status.expiresAt.getTime() - Date.now()) / 1000)} s.` : '';
    return {
      tokenSource: source,
      verdict: 'ok',
      title: `${at}: signed in as ${who}, refresh works`,
      detail: `Scopes: ${status?.scope ?? o.scopes}.${lifetime}`,
    };
  } catch (err) {
    const e = err instanceof MailError ? err : new MailError('OAUTH_PROVIDER', String((err as Error)?.message ?? err));
    return {
      verdict: 'fail',
      title: `${at}: the refresh failed (${e.code})`,
      detail: [e.message, e.hint].filter(Boolean).join(' '),
      skipped: 'the OAuth2 refresh failed',
    };
  }
}

/** The line, with the XOAUTH2 login's outcome. */
export function oauthLine(check: OAuthCheck, login: LoginFact | undefined): DoctorLine {
  if (check.verdict !== 'ok') return { id: 'smtp.oauth2', verdict: check.verdict, title: check.title, detail: check.detail };
  if (!login) return { id: 'smtp.oauth2', verdict: 'info', title: `${check.title}; XOAUTH2 login not tried (see the SMTP lines)`, detail: check.detail };
  if (login.ok) return { id: 'smtp.oauth2', verdict: 'ok', title: `${check.title}, XOAUTH2 login accepted`, detail: check.detail };
  return {
    id: 'smtp.oauth2',
    verdict: 'fail',
    title: `${check.title}, but the XOAUTH2 login was refused (${login.code})`,
    detail: [login.message, login.hint].filter(Boolean).join(' '),
  };
}
