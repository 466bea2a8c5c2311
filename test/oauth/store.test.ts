/**
 * OAuth2 with the settings store: a mailer from the store saves each rotated refresh token (the
 * old one is refused by the provider, the next send works), and a long-running mailer takes the
 * token another process saved meanwhile instead of reusing a rotated one.
 */
import * as path from 'node:path';
import { openSettingsStore, signIn } from '../../lib';
import { tempDir } from '../helpers/fixtures';
import { smtpSettings } from '../helpers/server';
import { oidcSettings, Person, useOAuthStack } from './helpers';

const stack = useOAuthStack();

const USER = 'alice@example.com';

test('a rotation is saved to the store; a mailer running since before another process rotated the token uses the newest one', async () => {
  const store = openSettingsStore(path.join(tempDir(), 'users.json'));
  const settings = smtpSettings(stack.server.port, { username: USER, oauth2: oidcSettings(stack.provider.issuer) });
  await store.set('alice', settings);
  const person = new Person(stack.provider.issuer, USER);
  const { refreshToken: first } = await signIn((await store.get('alice')) as never, { flow: 'browser', openUrl: (url) => void person.signIn(url) });
  await store.saveRefreshToken('alice', first);
  const stored = async () => (await store.get('alice'))?.smtp?.oauth2?.refreshToken as string;

  await stack.provider.setAccessTtl(2);
  const app = await store.mailerFor('alice'); // the application's mailer, kept open
  try {
    await app.send({ to: 'bob@example.com', subject: 'one', text: '1' });
    const second = await stored();
    expect(second).not.toBe(first);

    // Meanwhile another process (the admin's `oxymail auth status`) refreshes and saves a new one.
    const admin = await store.tokenSourceFor('alice');
    await admin?.status();
    const third = await stored();
    expect(third).not.toBe(second);

    // The app's access token expires; its refresh uses the newest saved token, not its own rotated one.
    await new Promise((r) => setTimeout(r, 3000));
    await app.send({ to: 'bob@example.com', subject: 'two', text: '2' });
    const fourth = await stored();
    expect(fourth).not.toBe(third);
    expect((await stack.provider.introspect(fourth)).active).toBe(true);
  } finally {
    app.close();
    await stack.provider.setAccessTtl(3600);
  }
  expect(stack.server.received.slice(-2).map((r) => r.parsed.subject)).toEqual(['one', 'two']);
  // An old refresh token is refused by the provider (checked last: its reuse revokes the grant).
  expect((await stack.provider.refresh(first)).body.error).toBe('invalid_grant');
});
