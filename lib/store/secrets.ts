/**
 * How secrets (SMTP and MAPI passwords, OAuth tokens) are kept in the settings file. On Windows
 * they are encrypted with DPAPI for the current Windows user (the native addon's
 * CryptProtectData); elsewhere the file itself is private (mode 0600) and they stay as text.
 */
import { MailError } from '../errors';
import { Text, text } from '../i18n';
import { loadNative } from '../native';

/** An encrypted secret as it appears in the file in place of the text. */
export interface SealedSecret {
  dpapi: string;
}

/** Seals and opens secrets; `kind` says what protects them on disk. */
export interface SecretCodec {
  kind: 'dpapi' | 'file-permissions';
  seal(plain: string): Promise<string | SealedSecret>;
  /**
   * The secret in clear, or SECRET_UNREADABLE. `stored` has passed storedSecretProblem();
   * `where` names it (`users.alice.smtp.password`) and `fix` says how to set it again.
   */
  open(stored: string | SealedSecret, where: string, fix: string | Text): Promise<string>;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** True for `{ "dpapi": "<base64>" }` and nothing else. */
export function isSealed(value: unknown): value is SealedSecret {
  return (
    !!value &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    typeof (value as SealedSecret).dpapi === 'string' &&
    BASE64.test((value as SealedSecret).dpapi)
  );
}

/** Why a value found in the file where a secret goes is not one (a string or a sealed secret), or undefined. */
export function storedSecretProblem(value: unknown): Text | undefined {
  return typeof value === 'string' || isSealed(value) ? undefined : text('INVALID_SETTINGS.secretShape');
}

/** The codec for this machine: DPAPI on Windows, file permissions elsewhere. */
export function defaultCodec(platform = process.platform): SecretCodec {
  if (platform !== 'win32') {
    return {
      kind: 'file-permissions',
      seal: async (plain) => plain,
      open: async (stored, where, fix) => {
        if (typeof stored === 'string') return stored;
        throw new MailError('SECRET_UNREADABLE', text('SECRET_UNREADABLE.notWindows', { where, platform }), {
          hint: text('SECRET_UNREADABLE.hint.notWindows', { fix }),
        });
      },
    };
  }
  const native = () => {
    const loaded = loadNative();
    if (!loaded.binding?.protectData || !loaded.binding.unprotectData) {
      throw new MailError('MAPI_UNAVAILABLE', text('MAPI_UNAVAILABLE.dpapi', { reason: loaded.binding ? text('MAPI_UNAVAILABLE.noDpapi') : loaded.reason }), {
        hint: text('MAPI_UNAVAILABLE.hint.reinstall'),
      });
    }
    return loaded.binding as Required<Pick<NonNullable<typeof loaded.binding>, 'protectData' | 'unprotectData'>>;
  };
  return {
    kind: 'dpapi',
    seal: async (plain) => ({ dpapi: (await native().protectData(Buffer.from(plain, 'utf8'))).toString('base64') }),
    open: async (stored, where, fix) => {
      if (typeof stored === 'string') return stored; // written by hand: sealed at the next write
      try {
        return (await native().unprotectData(Buffer.from(stored.dpapi, 'base64'))).toString('utf8');
      } catch (err) {
        if (err instanceof MailError) throw err;
        throw new MailError('SECRET_UNREADABLE', text('SECRET_UNREADABLE.decrypt', { where, error: (err as Error).message }), {
          cause: err,
          hint: text('SECRET_UNREADABLE.hint.dpapi', { fix }),
        });
      }
    },
  };
}
