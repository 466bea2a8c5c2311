/**
 * The doctor's OAuth2 line: signed in (a refresh token is stored)? does the refresh work (the
 * provider answers and the grant is valid)? was the XOAUTH2 login accepted (the SMTP login that
 * follows uses the token this refresh gave)?
 */
import { localizeError, MailError } from '../errors';
import { translator } from '../i18n';
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
  /** The language of the line and of `skipped` (default: the process default). */
  locale?: string;
}

/** Checks the sign-in and the refresh; undefined without smtp.oauth2. */
export async function checkOAuth2(settings: UserMailSettings, options: OAuthCheckOptions): Promise<OAuthCheck | undefined> {
  const o = settings.smtp?.oauth2;
  if (!o) return undefined;
  const t = translator(options.locale);
  const at = o.provider === 'oidc' ? `OAuth2 (${o.issuer})` : `OAuth2 (${o.provider})`;
  if (options.unreadable.some((p) => p.startsWith('smtp.oauth2.'))) {
    return {
      verdict: 'fail',
      title: t('doctor.oauth.unreadable.title', { at }),
      detail: t('doctor.oauth.unreadable.detail'),
      skipped: t('doctor.oauth.unreadable.skipped'),
    };
  }
  if (o.refreshToken === undefined) {
    return {
      verdict: 'fail',
      title: t('doctor.oauth.notSignedIn.title', { at }),
      detail: t('doctor.oauth.notSignedIn.detail', { command: options.loginCommand }),
      skipped: t('doctor.oauth.notSignedIn.skipped'),
    };
  }
  const source =
    options.tokenSource ??
    (options.onTokens ? createTokenSource({ oauth2: o, user: settings.smtp?.username ?? (settings.email as string), onTokens: options.onTokens }) : undefined);
  if (!source) {
    return {
      verdict: 'info',
      title: t('doctor.oauth.notTried.title', { at }),
      detail: t('doctor.oauth.notTried.detail'),
      skipped: t('doctor.oauth.notTried.skipped'),
    };
  }
  try {
    const status = 'status' in source && typeof source.status === 'function' ? await source.status() : undefined;
    if (!status) await source.getAccessToken({ forceRefresh: true });
    const who = status?.account?.email ?? status?.account?.sub ?? source.user;
    const lifetime = status?.expiresAt ? t('doctor.oauth.lifetime', { seconds: Math.round((status.expiresAt.getTime() - Date.now()) / 1000) }) : '';
    return {
      tokenSource: source,
      verdict: 'ok',
      title: t('doctor.oauth.ok.title', { at, who }),
      detail: t('doctor.oauth.ok.detail', { scopes: status?.scope ?? o.scopes, lifetime }),
    };
  } catch (err) {
    const e = err instanceof MailError ? err : new MailError('OAUTH_PROVIDER', String((err as Error)?.message ?? err));
    if (options.locale !== undefined) localizeError(e, options.locale);
    return {
      verdict: 'fail',
      title: t('doctor.oauth.failed.title', { at, code: e.code }),
      detail: [e.message, e.hint].filter(Boolean).join(' '),
      skipped: t('doctor.oauth.failed.skipped'),
    };
  }
}

/** The line, with the XOAUTH2 login's outcome (in `locale`, as checkOAuth2 was given). */
export function oauthLine(check: OAuthCheck, login: LoginFact | undefined, locale?: string): DoctorLine {
  const t = translator(locale);
  if (check.verdict !== 'ok') return { id: 'smtp.oauth2', verdict: check.verdict, title: check.title, detail: check.detail };
  if (!login) return { id: 'smtp.oauth2', verdict: 'info', title: t('doctor.oauth.loginNotTried', { title: check.title }), detail: check.detail };
  if (login.ok) return { id: 'smtp.oauth2', verdict: 'ok', title: t('doctor.oauth.loginAccepted', { title: check.title }), detail: check.detail };
  return {
    id: 'smtp.oauth2',
    verdict: 'fail',
    title: t('doctor.oauth.loginRefused', { title: check.title, code: login.code }),
    detail: [login.message, login.hint].filter(Boolean).join(' '),
  };
}
