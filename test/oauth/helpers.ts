/**
 * The OAuth2 test bench: the real OpenID provider (provider.mjs, its own process), a person who
 * signs in through its pages (a tiny browser: cookies, redirects, forms), and a real SMTP server
 * whose XOAUTH2 login asks that provider whether the bearer token is active (RFC 7662).
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { startServer, ServerOptions, TestServer } from '../helpers/server';

export const CLIENT_ID = 'oxymail-test';
export const SCOPES = 'openid offline_access smtp';
const INTROSPECTION = { id: 'smtp-server', secret: 'smtp-server-introspection-secret' };

export interface TestProvider {
  issuer: string;
  /** Token endpoint requests so far, by grant type (refresh_token, device_code...). */
  stats(): Promise<{ token: number; byGrant: Record<string, number>; errors: Record<string, number> }>;
  /** Access tokens issued from now on live this long. */
  setAccessTtl(seconds: number): Promise<void>;
  /** RFC 7662 introspection, as the SMTP server does it. */
  introspect(token: string): Promise<{ active: boolean; sub?: string; scope?: string; exp?: number }>;
  /** RFC 7009 revocation by the test client (an access token: just it; a refresh token: the whole grant). */
  revoke(token: string): Promise<void>;
  /** A refresh_token grant made directly (to check that an old refresh token is refused). */
  refresh(refreshToken: string): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/** Starts provider.mjs and waits for its issuer line. */
export async function startProvider(): Promise<TestProvider> {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [path.join(__dirname, 'provider.mjs')], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const issuer = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve(JSON.parse(line).issuer));
    child.once('exit', (code) => reject(new Error(`provider.mjs exited (${code}): ${stderr}`)));
  });
  const json = async (r: Response): Promise<any> => r.json();
  const meta = await json(await fetch(`${issuer}/.well-known/openid-configuration`));
  const form = (params: Record<string, string>) => new URLSearchParams(params);
  const basic = `Basic ${Buffer.from(`${INTROSPECTION.id}:${INTROSPECTION.secret}`).toString('base64')}`;
  return {
    issuer,
    stats: async () => json(await fetch(`${issuer}/_test/stats`)),
    setAccessTtl: async (seconds) => void (await fetch(`${issuer}/_test/ttl?seconds=${seconds}`, { method: 'POST' })),
    introspect: async (token) => json(await fetch(meta.introspection_endpoint, { method: 'POST', headers: { authorization: basic }, body: form({ token }) })),
    revoke: async (token) => {
      const r = await fetch(meta.revocation_endpoint, { method: 'POST', body: form({ token, client_id: CLIENT_ID }) });
      if (!r.ok) throw new Error(`revocation: HTTP ${r.status}`);
    },
    refresh: async (refreshToken) => {
      const r = await fetch(meta.token_endpoint, {
        method: 'POST',
        body: form({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID }),
      });
      return { status: r.status, body: await json(r) };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** smtp.oauth2 settings for the test provider. */
export function oidcSettings(issuer: string, extra: Record<string, unknown> = {}) {
  return { provider: 'oidc', issuer, clientId: CLIENT_ID, scopes: SCOPES, ...extra };
}

/**
 * A person at a browser: keeps cookies, follows redirects, fills in and submits the page's form.
 * Stops at a URL outside the provider (the application's loopback redirect), which it fetches.
 */
export class Person {
  private cookies = new Map<string, string>();
  /** Every page it saw, for assertions. */
  readonly pages: string[] = [];

  constructor(
    private readonly issuer: string,
    private readonly login: string,
  ) {}

  private async request(url: string, init: RequestInit = {}): Promise<{ url: string; status: number; text: string }> {
    let current = url;
    let options = init;
    for (let hops = 0; hops < 20; hops++) {
      const headers = new Headers(options.headers);
      if (current.startsWith(this.issuer) && this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
      const res = await fetch(current, { ...options, headers, redirect: 'manual' });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair.indexOf('=');
        this.cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        current = new URL(location, current).toString();
        options = {};
        continue;
      }
      const text = await res.text();
      this.pages.push(text);
      return { url: current, status: res.status, text };
    }
    throw new Error('too many redirects');
  }

  /** Submits the page's first form with its hidden fields and `fields`. */
  private async submit(page: { url: string; text: string }, fields: Record<string, string>) {
    const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(page.text);
    if (!form) throw new Error(`no form on ${page.url}: ${page.text.slice(0, 300)}`);
    const body = new URLSearchParams();
    for (const input of form[2].matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
      if (name) body.set(name, value);
    }
    for (const [k, v] of Object.entries(fields)) body.set(k, v);
    return this.request(new URL(form[1].replace(/&amp;/g, '&'), page.url).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
  }

  /** Opens the device confirmation page and presses its "Abort" button. */
  async abortDevice(url: string): Promise<void> {
    const page = await this.request(url);
    await this.submit(page, { abort: 'yes' });
  }

  /** Goes through the provider's pages from `url` (confirm the code, log in, consent) until they are done. */
  async signIn(url: string): Promise<{ url: string; status: number; text: string }> {
    let page = await this.request(url);
    for (let step = 0; step < 6 && page.url.startsWith(this.issuer); step++) {
      if (/name="login"/.test(page.text)) page = await this.submit(page, { login: this.login, password: 'any' });
      else if (/name="prompt" value="consent"/.test(page.text)) page = await this.submit(page, {});
      else if (/op\.deviceConfirmForm/.test(page.text)) page = await this.submit(page, {});
      // A page that a browser submits by itself (its script posts the form on load).
      else if (/document\.forms\[0\]\.submit\(\)/.test(page.text)) page = await this.submit(page, {});
      else if (/op\.deviceInputForm/.test(page.text)) throw new Error('the device page asks for the code: give verification_uri_complete');
      else break;
    }
    return page;
  }
}

/** The SMTP server of startOAuthSmtpServer, with the XOAUTH2 logins it checked. */
export type OAuthSmtpServer = TestServer & { attempts: { user: string; active: boolean; token: string }[] };

/**
 * The OAuth2 bench of one test file: the provider and an SMTP server checking its tokens, started
 * before the file's tests (beforeAll) and stopped after them (afterAll). Read `provider` and
 * `server` inside tests and hooks.
 */
export function useOAuthStack(): { readonly provider: TestProvider; readonly server: OAuthSmtpServer } {
  let provider: TestProvider | undefined;
  let server: OAuthSmtpServer | undefined;
  beforeAll(async () => {
    provider = await startProvider();
    server = await startOAuthSmtpServer(provider);
  });
  afterAll(async () => {
    await server?.close();
    await provider?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`useOAuthStack: the ${what} is not started (read it inside a test or hook)`);
    return value;
  };
  return {
    get provider() {
      return started(provider, 'provider');
    },
    get server() {
      return started(server, 'SMTP server');
    },
  };
}

/** A real SMTP server whose XOAUTH2 login asks the provider about the token (active, scope smtp, sub = user). */
export async function startOAuthSmtpServer(
  provider: TestProvider,
  options: ServerOptions & { refuse?: (user: string) => { responseCode: number; message: string } | undefined } = {},
): Promise<OAuthSmtpServer> {
  const attempts: { user: string; active: boolean; token: string }[] = [];
  const { refuse, ...rest } = options;
  const server = await startServer({
    authMethods: ['XOAUTH2'],
    onAuth(auth, _session, cb) {
      const user = auth.username ?? '';
      const forced = refuse?.(user);
      if (forced) return cb(Object.assign(new Error(forced.message), { responseCode: forced.responseCode }));
      provider.introspect(auth.accessToken ?? '').then(
        (r) => {
          const ok = r.active && r.sub === user && (r.scope ?? '').split(' ').includes('smtp');
          attempts.push({ user, active: ok, token: auth.accessToken ?? '' });
          if (ok) return cb(null, { user });
          // XOAUTH2's failure: 334 with the error JSON, then 535 (what Gmail and Microsoft do).
          cb(null, { data: { status: '401', schemes: 'bearer', scope: 'smtp' } });
        },
        (err) => cb(err),
      );
    },
    ...rest,
  });
  return Object.assign(server, { attempts });
}
