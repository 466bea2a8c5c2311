/**
 * verify() for SMTP and the managed relay: one connection with the options a send would use,
 * the login nodemailer would make, nothing sent. What it reports comes from the connection
 * itself: the TLS version and cipher of its socket (or none: the session stayed in clear), and the
 * user and mechanism of the login the server accepted (235), not what the settings ask for.
 */
import type { TLSSocket } from 'node:tls';
import type { Protocol } from '../errors';
import { nodemailer, smtpConnection } from '../lazy';
import type { SmtpVerifyResult } from '../result';
import type { SmtpEndpoint } from '../settings';
import { NO_DEFAULTS } from './compose';
import { mapSmtpError, poolOptions, provisioner } from './smtp';
import type { TokenSource } from '../oauth/token-source';

/** SMTPConnection's state after connect() and login(); underscored fields are internal, hence optional. */
interface ConnectionState {
  secure: boolean;
  authenticated?: boolean;
  allowsAuth?: boolean;
  _authMethod?: string;
  _socket?: Partial<TLSSocket> | null;
}

/** The TLS policy the settings give (what verify() is checked against). */
export function tlsPolicy(e: SmtpEndpoint): SmtpVerifyResult['tlsPolicy'] {
  const o = poolOptions(e);
  return o.secure ? 'implicit' : o.requireTLS ? 'starttls-required' : o.ignoreTLS ? 'off' : 'starttls-when-offered';
}

/**
 * Connects, negotiates TLS, logs in as a send would; sends nothing. `oauth`: XOAUTH2 with the
 * token source's tokens; a failure of the source itself is raised as it is (kept in `failures`).
 */
export async function verifySmtp(
  endpoint: SmtpEndpoint,
  protocol: Protocol,
  oauth?: { tokens: TokenSource; failures: WeakMap<object, unknown> },
): Promise<SmtpVerifyResult> {
  const { pool: _pool, maxConnections: _max, ...single } = poolOptions(endpoint, oauth?.tokens);
  // nodemailer's own transport builds the connection options and the login (password or OAuth2)
  // exactly as for a send; the connection is opened here so that its socket can be read.
  const transport = nodemailer().createTransport(single, NO_DEFAULTS) as unknown as {
    transporter: { options: object; getAuth(o: object): { user?: string; method?: string } | false };
    close(): void;
    set(key: string, value: unknown): void;
  };
  if (oauth) transport.set('oauth2_provision_cb', provisioner(oauth.tokens, oauth.failures));
  const smtp = transport.transporter;
  const Connection = smtpConnection();
  const conn = new Connection(smtp.options as ConstructorParameters<typeof Connection>[0]);
  const state = conn as unknown as ConnectionState;
  try {
    await new Promise<void>((resolve, reject) => {
      conn.once('error', reject);
      conn.once('end', () => reject(Object.assign(new Error('Connection closed'), { code: 'ECONNECTION' })));
      conn.connect(() => resolve());
    });
    const socket = state._socket;
    const encrypted = !!socket && typeof socket.getProtocol === 'function' && !!(socket as TLSSocket).encrypted;
    const cipher = encrypted && typeof socket.getCipher === 'function' ? socket.getCipher() : undefined;
    const auth = smtp.getAuth({});
    let authenticatedAs: string | null = null;
    let authMethod: string | null = null;
    if (auth && (state.allowsAuth || single.forceAuth)) {
      await new Promise<void>((resolve, reject) => conn.login(auth as never, (err?: Error | null) => (err ? reject(err) : resolve())));
      if (state.authenticated) {
        authenticatedAs = auth.user ?? null;
        authMethod = state._authMethod ?? auth.method ?? null;
      }
    }
    return {
      protocol,
      server: `${endpoint.host}:${endpoint.port}`,
      security: endpoint.security,
      tls: !encrypted ? 'none' : single.secure ? 'implicit' : 'starttls',
      tlsProtocol: encrypted ? ((socket as TLSSocket).getProtocol() ?? null) : null,
      cipher: cipher ? (cipher.standardName ?? cipher.name) : null,
      tlsPolicy: tlsPolicy(endpoint),
      authenticatedAs,
      authMethod,
      warnings: [],
    };
  } catch (err) {
    const failure = err && typeof err === 'object' ? oauth?.failures.get(err) : undefined;
    throw failure ?? mapSmtpError(err, endpoint, protocol, 'verify', !!oauth);
  } finally {
    conn.removeAllListeners('end');
    conn.on('error', () => undefined);
    conn.quit();
    transport.close();
  }
}
