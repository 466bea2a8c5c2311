/**
 * What each OAuth2 provider preset means: its endpoints (Microsoft's and Google's are fixed, so no
 * discovery request is made for them), its scopes, and the SMTP server it goes with. Pure data and
 * checks: nothing here loads openid-client.
 */
import type { OAuth2Provider, OAuth2Settings, SmtpSecurity } from '../settings';

/** What a preset fills in when the settings leave it out. */
export interface OAuth2Preset {
  /** The SMTP server, used when smtp.host is unset. */
  smtp?: { host: string; port: number; security: SmtpSecurity };
  scopes?: string;
  tenant?: string;
}

/** The presets, by provider. */
export const OAUTH2_PRESETS: Record<OAuth2Provider, OAuth2Preset> = {
  microsoft: {
    smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
    scopes: 'https://outlook.office.com/SMTP.Send offline_access',
    tenant: 'organizations',
  },
  google: { smtp: { host: 'smtp.gmail.com', port: 587, security: 'starttls' }, scopes: 'https://mail.google.com/' },
  oidc: {},
};

/** An authorization server as RFC 8414 describes it: the fields oxymail uses. */
export interface ServerMetadata {
  issuer: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  device_authorization_endpoint?: string;
  revocation_endpoint?: string;
  [key: string]: string | undefined;
}

/** Where the tokens come from: fixed metadata (microsoft, google), or the issuer to discover (oidc). */
export type AuthorizationServer = { kind: 'static'; metadata: ServerMetadata } | { kind: 'discover'; issuer: string };

/**
 * The authorization server of validated settings. Microsoft's multi-tenant authorities
 * (organizations, common) publish a discovery document whose issuer names a tenant placeholder,
 * which a conforming client must refuse: their endpoints are written here instead.
 */
export function authorizationServer(o: OAuth2Settings): AuthorizationServer {
  if (o.provider === 'microsoft') {
    const base = `https://login.microsoftonline.com/${encodeURIComponent(o.tenant ?? 'organizations')}`;
    return {
      kind: 'static',
      metadata: {
        issuer: `${base}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      },
    };
  }
  if (o.provider === 'google') {
    return {
      kind: 'static',
      metadata: {
        issuer: 'https://accounts.google.com',
        authorization_endpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
        token_endpoint: 'https://oauth2.googleapis.com/token',
        device_authorization_endpoint: 'https://oauth2.googleapis.com/device/code',
        revocation_endpoint: 'https://oauth2.googleapis.com/revoke',
      },
    };
  }
  return { kind: 'discover', issuer: o.issuer as string };
}

const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Why `issuer` cannot be an issuer URL, or undefined: https, or http on loopback only; no query or fragment. */
export function issuerProblem(issuer: string): string | undefined {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'must be a URL (https://login.example.com/realm)';
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.test(url.hostname))
    return 'must be https:// (http:// is accepted on loopback only: localhost, 127.0.0.1, [::1])';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https:// URL';
  if (url.search || url.hash) return 'must not have a query or a fragment';
  if (url.username || url.password) return 'must not hold a user name or password';
  return undefined;
}

/** True when requests to this URL may go over http (a loopback issuer in tests and local setups). */
export function isLoopbackHttp(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && LOOPBACK_HOSTS.test(u.hostname);
}
