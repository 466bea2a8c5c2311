/**
 * The one table from Simple MAPI return codes (mapi.h) to stable oxymail codes, and the hints
 * a user can act on.
 */
import { ErrorCode, MailError } from './errors';

/** Simple MAPI return code -> name (MAPI_E_<name> in mapi.h, oxymail code MAPI_<name>). */
export const SIMPLE_MAPI_CODES: Record<number, string> = {
  1: 'USER_ABORT',
  2: 'FAILURE',
  3: 'LOGIN_FAILURE',
  4: 'DISK_FULL',
  5: 'INSUFFICIENT_MEMORY',
  6: 'ACCESS_DENIED',
  8: 'TOO_MANY_SESSIONS',
  9: 'TOO_MANY_FILES',
  10: 'TOO_MANY_RECIPIENTS',
  11: 'ATTACHMENT_NOT_FOUND',
  12: 'ATTACHMENT_OPEN_FAILURE',
  13: 'ATTACHMENT_WRITE_FAILURE',
  14: 'UNKNOWN_RECIPIENT',
  15: 'BAD_RECIPTYPE',
  17: 'TEXT_TOO_LARGE',
  21: 'AMBIGUOUS_RECIPIENT',
  25: 'INVALID_RECIPS',
  26: 'NOT_SUPPORTED',
  27: 'UNICODE_NOT_SUPPORTED',
  28: 'ATTACHMENT_TOO_LARGE',
};

const DESCRIPTIONS: Record<string, string> = {
  USER_ABORT: 'the user cancelled',
  FAILURE: 'the mail client failed',
  LOGIN_FAILURE: 'logon to the mail profile failed',
  ACCESS_DENIED: 'access denied',
  TOO_MANY_FILES: 'too many attachments',
  TOO_MANY_RECIPIENTS: 'too many recipients',
  ATTACHMENT_NOT_FOUND: 'an attachment was not found',
  ATTACHMENT_OPEN_FAILURE: 'an attachment could not be opened',
  UNKNOWN_RECIPIENT: 'a recipient is unknown to the mail client',
  AMBIGUOUS_RECIPIENT: 'a recipient name is ambiguous',
  UNICODE_NOT_SUPPORTED: 'the mail client does not support Unicode',
};

const NO_CLIENT_HINT =
  'No usable default mail client: install or repair Outlook or Thunderbird and set it as the default mail program ' +
  '(Windows Settings > Apps > Default apps > Email). The new Outlook (olk.exe) has no MAPI: switch back to classic Outlook or use SMTP. ' +
  'A 32-bit Outlook cannot serve a 64-bit process (and the reverse): use a Node/Electron build of the same bitness, or SMTP.';

const HINTS: Record<string, string> = {
  LOGIN_FAILURE: 'Check mapi.profile and mapi.password, or leave the profile empty to use the default one.',
  FAILURE: NO_CLIENT_HINT,
  NOT_SUPPORTED: NO_CLIENT_HINT,
  TOO_MANY_FILES: 'Thunderbird accepts at most 100 attachments: send several messages or use SMTP.',
  TOO_MANY_RECIPIENTS: 'Thunderbird accepts at most 2000 recipients: send several messages or use SMTP.',
  UNKNOWN_RECIPIENT: 'Check the address; some clients only accept addresses from their address book in silent mode: try the dialog.',
};

/** The oxymail code for a Simple MAPI return code (MAPI_UNKNOWN_<n> when it is not in the table). */
export function simpleMapiCode(status: number): ErrorCode {
  const name = SIMPLE_MAPI_CODES[status];
  return name ? `MAPI_${name}` : `MAPI_UNKNOWN_${status}`;
}

/** The MailError for a failed Simple MAPI call. */
export function simpleMapiError(status: number, call: string, op = 'send'): MailError {
  const name = SIMPLE_MAPI_CODES[status];
  const what = (name && DESCRIPTIONS[name]) ?? (name ? name.toLowerCase().replace(/_/g, ' ') : `unknown MAPI error ${status}`);
  return new MailError(simpleMapiCode(status), `${op} (${call}): ${what}`, {
    protocol: 'mapi',
    mapiCode: status,
    hint: name ? HINTS[name] : undefined,
  });
}

const WIN32_HINTS: Record<number, string> = {
  126: 'The MAPI DLL was not found: install a MAPI mail client (classic Outlook, Thunderbird) and make it the default, or check OXYMAIL_MAPI_DLL.',
  193:
    'The mail client is not of the same bitness as this process (a 32-bit Outlook cannot serve 64-bit Node/Electron): ' +
    'use a Node/Electron build of the same bitness as Office, or SMTP.',
};

/** The MailError when the MAPI DLL itself cannot be used (LoadLibraryW / GetProcAddress failed). */
export function mapiLoadError(call: string, dll: string, win32Error: number): MailError {
  const what = call === 'LoadLibraryW' ? `cannot load ${dll}` : `${dll} exports no MAPISendMail`;
  return new MailError('MAPI_UNAVAILABLE', `send (${call}): ${what} (Win32 error ${win32Error})`, {
    protocol: 'mapi',
    hint: WIN32_HINTS[win32Error] ?? NO_CLIENT_HINT,
  });
}
