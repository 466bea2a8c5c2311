/**
 * How secrets (SMTP and MAPI passwords, OAuth tokens) are kept in the settings file. On Windows
 * they are encrypted with DPAPI for the current Windows user (the native addon's
 * CryptProtectData); elsewhere the file itself is private (mode 0600) and they stay as text.
 */
import { MailError } from '../errors';
import { loadNative } from '../native';

/** An encrypted secret as it appears in the file in place of the text. */
export interface SealedSecret {
  dpapi: string;
}

/** Seals and opens secrets; `kind` says what protects them on disk. */
export interface SecretCodec {
  kind: 'dpapi' | 'file-permissions';
  seal(plain: string): Promise<string | SealedSecret>;
  open(stored: unknown, where: string): Promise<string>;
}

export function isSealed(value: unknown): value is SealedSecret {
  return !!value && typeof value === 'object' && typeof (value as SealedSecret).dpapi === 'string';
}

/** The codec for this machine: DPAPI on Windows, file permissions elsewhere. */
export function defaultCodec(platform = process.platform): SecretCodec {
  if (platform !== 'win32') {
    return {
      kind: 'file-permissions',
      seal: async (plain) => plain,
      open: async (stored, where) => {
        if (typeof stored === 'string') return stored;
        throw new MailError('SECRET_UNREADABLE', `settings: ${where} is encrypted with Windows DPAPI and cannot be read on ${platform}`, {
          hint: 'Set the password again on this machine (oxymail settings set USER --password-stdin).',
        });
      },
    };
  }
  const native = () => {
    const loaded = loadNative();
    if (!loaded.binding?.protectData || !loaded.binding.unprotectData) {
      throw new MailError('MAPI_UNAVAILABLE', `settings: DPAPI is unavailable: ${loaded.binding ? 'the addon has no DPAPI' : loaded.reason}`, {
        hint: 'Reinstall oxymail so that its native addon matches this Node.js.',
      });
    }
    return loaded.binding as Required<Pick<NonNullable<typeof loaded.binding>, 'protectData' | 'unprotectData'>>;
  };
  return {
    kind: 'dpapi',
    seal: async (plain) => ({ dpapi: (await native().protectData(Buffer.from(plain, 'utf8'))).toString('base64') }),
    open: async (stored, where) => {
      if (typeof stored === 'string') return stored; // written by hand: sealed at the next write
      if (!isSealed(stored)) throw new MailError('INVALID_SETTINGS', `settings: ${where} must be a string`);
      try {
        return (await native().unprotectData(Buffer.from(stored.dpapi, 'base64'))).toString('utf8');
      } catch (err) {
        if (err instanceof MailError) throw err;
        throw new MailError('SECRET_UNREADABLE', `settings: ${where} cannot be decrypted (CryptUnprotectData): ${(err as Error).message}`, {
          cause: err,
          hint: 'DPAPI secrets open only for the Windows user who wrote them, on the same machine: set the password again.',
        });
      }
    },
  };
}
