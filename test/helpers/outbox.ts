/**
 * What the outbox suites share: a loopback port nothing listens on yet (the server is down, and
 * later starts there), settings sending to it in clear, and test servers closed after each test.
 */
import { startServer, ServerOptions, TestServer } from './server';

export { freePort } from './fixtures';

/** Settings of alice@example.com sending to 127.0.0.1:`port` in clear; `top` adds or overrides top-level keys. */
export function plainSmtpSettings<T extends Record<string, unknown> = {}>(port: number, top: T = {} as T) {
  return {
    email: 'alice@example.com',
    customize: true,
    protocol: 'smtp' as const,
    smtp: { host: '127.0.0.1', port, security: 'none' as const },
    ...top,
  };
}

/** Starts test servers for the current test (`serve(options)`); each is closed after it (afterEach). */
export function useServers(): (options?: ServerOptions) => Promise<TestServer> {
  const servers: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const s = await startServer(options);
    servers.push(s);
    return s;
  };
}
