/**
 * A real OpenID provider for the OAuth2 tests: oidc-provider (certified) on loopback, in its own
 * process (it is an ES module; Jest on Node 20 cannot load those in-process). Device flow,
 * authorization code + PKCE for a native public client with loopback redirects, refresh-token
 * rotation, revocation, introspection (for the SMTP server's check), its development login and
 * consent pages (the tests fill them in as a person would).
 *
 * Prints `{"issuer": ...}` on its first stdout line. Test-only routes under /_test/: GET stats
 * (token endpoint requests by grant type), POST ttl?seconds=N (access token lifetime from now on).
 */
import * as http from 'node:http';
import Provider from 'oidc-provider';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

let accessTtl = 3600;
const stats = { token: 0, byGrant: {}, errors: {} };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'oxymail-test',
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback'],
    },
    // The SMTP server, as a resource server that asks the provider about the tokens it is shown.
    { client_id: 'smtp-server', client_secret: 'smtp-server-introspection-secret', grant_types: [], response_types: [], redirect_uris: [] },
  ],
  scopes: ['openid', 'offline_access', 'smtp'],
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  ttl: {
    AccessToken: () => accessTtl,
    DeviceCode: 600,
    Grant: 14 * 24 * 3600,
    Interaction: 600,
    Session: 3600,
    IdToken: 3600,
    RefreshToken: 14 * 24 * 3600,
    AuthorizationCode: 60,
  },
  rotateRefreshToken: () => true,
  cookies: { keys: ['oxymail-test-cookie-key'] },
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
});

const count = (table, key) => (table[key] = (table[key] ?? 0) + 1);
provider.on('grant.success', (ctx) => {
  stats.token++;
  count(stats.byGrant, ctx.oidc.params.grant_type);
});
provider.on('grant.error', (ctx, err) => {
  stats.token++;
  count(stats.byGrant, ctx.oidc.params?.grant_type ?? 'unknown');
  count(stats.errors, err.error ?? err.message);
});

const callback = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/_test/stats') {
    res.setHeader('content-type', 'application/json');
    return res.end(JSON.stringify(stats));
  }
  if (url.pathname === '/_test/ttl' && req.method === 'POST') {
    accessTtl = Number(url.searchParams.get('seconds'));
    return res.end('ok');
  }
  callback(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// The parent's end is this process's end too (a crashed test run leaves no provider behind).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
