/**
 * `oxymail auth login|status|logout <user>`: OAuth2 sign-in for SMTP (smtp.oauth2). The work is
 * the library's (signIn, the store's token source, signOut); this file parses, calls and prints.
 * A token is never printed: only who signed in, the scopes and the lifetime.
 */
import { Command, Option } from 'commander';
import { MailError, problem } from '../errors';
import { text } from '../i18n';
import { signIn, signOut, UserCodePrompt } from '../oauth/signin';
import type { SettingsStore } from '../store/store';
import type { UserMailSettings } from '../settings';
import { green, print, t, yellow } from './output';
import { checkUser, examples, storeFrom, userNotFound } from './settings-commands';

/** The user's settings with smtp.oauth2, or the error that says what to set. */
async function oauthUser(store: SettingsStore, user: string): Promise<UserMailSettings & { smtp: NonNullable<UserMailSettings['smtp']> }> {
  const settings = await store.get(checkUser(user));
  if (!settings) throw userNotFound(user, store);
  if (!settings.smtp?.oauth2) {
    throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.authNoOAuth2', { user }), {
      hint: text('INVALID_SETTINGS.hint.authNoOAuth2', { user }),
      problems: [problem('smtp.oauth2', text('INVALID_SETTINGS.authOAuth2Required'))],
    });
  }
  return settings as UserMailSettings & { smtp: NonNullable<UserMailSettings['smtp']> };
}

const protection = (store: SettingsStore) => (store.secrets === 'dpapi' ? t('cli.auth.dpapi') : t('cli.auth.fileMode'));

/** m:ss */
function clock(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Shows the time left until `until` on stderr: rewritten in place every second on a terminal, a
 * line a minute otherwise (a log file gets no carriage returns). Returns the function that stops it.
 */
function countdown(until: Date): () => void {
  const tty = !!process.stderr.isTTY;
  const show = () => {
    const left = until.getTime() - Date.now();
    if (tty) process.stderr.write(`\r${t('cli.auth.waitingTty', { left: clock(left) })} `);
    else process.stderr.write(`${t('cli.auth.waiting', { left: clock(left) })}\n`);
  };
  show();
  const timer = setInterval(show, tty ? 1000 : 60_000);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (tty) process.stderr.write('\n');
  };
}

/** Adds `auth` and its sub-commands to the program. */
export function addAuthCommands(cli: Command): void {
  const auth = cli
    .command('auth')
    .description(t('cli.help.auth'))
    .addHelpText('after', examples('oxymail auth login alice', 'oxymail auth status alice', 'oxymail auth logout alice'));

  auth
    .command('login')
    .argument('<user>', t('cli.help.arg.user'))
    .description(t('cli.help.auth.login'))
    .addOption(new Option('--flow <flow>', t('cli.help.auth.login.flow')).choices(['device', 'browser']))
    .option('--json', t('cli.help.auth.login.json'))
    .addHelpText('after', examples('oxymail auth login alice', 'oxymail auth login alice --flow browser') + `\n\n${t('cli.help.auth.login.after')}`)
    .action(async (user: string, opts: { flow?: 'device' | 'browser'; json?: boolean }, cmd: Command) => {
      const store = storeFrom(cmd);
      const settings = await oauthUser(store, user);
      const flow = opts.flow ?? (settings.smtp.oauth2?.provider === 'google' ? 'browser' : 'device');
      let stop: (() => void) | undefined;
      const line = (data: object, text: string) => process.stdout.write(opts.json ? `${JSON.stringify(data)}\n` : `${text}\n`);
      try {
        const result = await signIn(settings, {
          flow,
          loginHint: settings.smtp.username ?? settings.email,
          onUserCode: (p: UserCodePrompt) => {
            line(
              { event: 'user_code', user, ...p },
              [
                t('cli.auth.open', { user, uri: p.verificationUri }),
                t('cli.auth.code', { code: p.userCode }),
                ...(p.verificationUriComplete ? [t('cli.auth.orOpen', { uri: p.verificationUriComplete })] : []),
              ].join('\n'),
            );
            stop = countdown(p.expiresAt);
          },
          openUrl: (url: string) => {
            line({ event: 'open_url', user, url }, t('cli.auth.openUrl', { user, url }));
            stop = countdown(new Date(Date.now() + 600_000));
          },
        });
        stop?.();
        stop = undefined;
        await store.saveRefreshToken(user, result.refreshToken);
        const who = result.account?.email ?? result.account?.sub ?? settings.smtp.username ?? settings.email;
        line(
          { event: 'signed_in', user, account: result.account, scope: result.scope, expiresAt: result.expiresAt, store: store.path },
          `${green(t('cli.auth.signedIn'))} ${t('cli.auth.signedInLine', { user, as: who ? t('cli.auth.as', { who }) : '', scope: result.scope, protection: protection(store), file: store.path })}`,
        );
      } finally {
        stop?.();
      }
    });

  auth
    .command('status')
    .argument('<user>', t('cli.help.arg.user'))
    .description(t('cli.help.auth.status'))
    .option('--json', t('cli.help.json'))
    .addHelpText('after', examples('oxymail auth status alice', 'oxymail auth status alice --json'))
    .action(async (user: string, opts: { json?: boolean }, cmd: Command) => {
      const store = storeFrom(cmd);
      const settings = await oauthUser(store, user);
      const o = settings.smtp.oauth2 as NonNullable<typeof settings.smtp.oauth2>;
      const where = o.provider === 'oidc' ? (o.issuer as string) : o.provider;
      if (o.refreshToken === undefined) {
        print(
          opts.json,
          { user, signedIn: false, provider: o.provider },
          t('cli.labelled', { label: yellow(t('cli.auth.notSignedIn')), text: t('cli.auth.notSignedInLine', { user, where }) }),
        );
        process.exitCode = 1;
        return;
      }
      const source = await store.tokenSourceFor(user);
      const status = await (source as NonNullable<typeof source>).status();
      const lifetime = status.expiresAt ? Math.round((status.expiresAt.getTime() - Date.now()) / 1000) : undefined;
      const who = status.account?.email ?? status.account?.sub;
      print(
        opts.json,
        {
          user,
          signedIn: true,
          provider: o.provider,
          issuer: o.issuer,
          xoauth2User: status.user,
          account: status.account,
          scope: status.scope,
          expiresAt: status.expiresAt,
          lifetimeSeconds: lifetime,
        },
        [
          t('cli.labelled', { label: green(t('cli.auth.signedIn')), text: t('cli.auth.statusAt', { user, where, as: who ? t('cli.auth.as', { who }) : '' }) }),
          t('cli.auth.xoauth2User', { user: status.user }),
          t('cli.auth.scopes', { scope: status.scope ?? t('cli.auth.notSaid') }),
          t('cli.auth.accessToken', { seconds: lifetime ?? '?', until: status.expiresAt ? t('cli.auth.until', { date: status.expiresAt.toISOString() }) : '' }),
        ].join('\n'),
      );
    });

  auth
    .command('logout')
    .argument('<user>', t('cli.help.arg.user'))
    .description(t('cli.help.auth.logout'))
    .option('--json', t('cli.help.json'))
    .addHelpText('after', examples('oxymail auth logout alice'))
    .action(async (user: string, opts: { json?: boolean }, cmd: Command) => {
      const store = storeFrom(cmd);
      const settings = await oauthUser(store, user);
      const token = settings.smtp.oauth2?.refreshToken;
      if (token === undefined) {
        print(
          opts.json,
          { user, signedIn: false, revocation: 'none' },
          t('cli.labelled', { label: yellow(t('cli.note')), text: t('cli.auth.nothingToForget', { user }) }),
        );
        return;
      }
      const r = await signOut(settings, token);
      await store.saveRefreshToken(user, undefined);
      const said = {
        revoked: t('cli.auth.revoked'),
        unsupported: t('cli.auth.noRevocation'),
        failed: t('cli.auth.revokeFailed', { error: r.error?.message }),
      }[r.revocation];
      print(
        opts.json,
        {
          user,
          signedIn: false,
          revocation: r.revocation,
          ...(r.error ? { error: { code: r.error.code, message: r.error.message, hint: r.error.hint } } : {}),
        },
        `${r.revocation === 'failed' ? yellow(t('cli.auth.signedOut')) : green(t('cli.auth.signedOut'))} ${t('cli.auth.signedOutLine', { user, said })}`,
      );
      if (r.revocation === 'failed') process.exitCode = 1;
    });
}
