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

/** Extended MAPI HRESULT -> oxymail code (MAPI_<name>); others become MAPI_HRESULT_0x<hex>. */
export const EXTENDED_MAPI_CODES: Record<number, string> = {
  0x80004005: 'CALL_FAILED',
  0x8007000e: 'NOT_ENOUGH_MEMORY',
  0x80070057: 'INVALID_PARAMETER',
  0x80004002: 'INTERFACE_NOT_SUPPORTED',
  0x80070005: 'NO_ACCESS',
  0x80070002: 'FILE_NOT_FOUND',
  0x80070003: 'FILE_NOT_FOUND',
  0x80040102: 'NO_SUPPORT',
  0x80040106: 'UNKNOWN_FLAGS',
  0x80040107: 'INVALID_ENTRYID',
  0x8004010d: 'NOT_ENOUGH_DISK',
  0x8004010f: 'NOT_FOUND',
  0x80040111: 'LOGON_FAILED',
  0x80040112: 'SESSION_LIMIT',
  0x80040113: 'USER_CANCEL',
  0x80040115: 'NETWORK_ERROR',
  0x80040116: 'DISK_ERROR',
  0x8004011c: 'UNCONFIGURED',
  0x8004011d: 'FAILONEPROVIDER',
  0x80040120: 'PASSWORD_CHANGE_REQUIRED',
  0x80040121: 'PASSWORD_EXPIRED',
  0x80040124: 'ACCOUNT_DISABLED',
  0x80040305: 'TOO_BIG',
  0x80040401: 'TIMEOUT',
  0x80040600: 'CORRUPT_STORE',
  0x80040605: 'NOT_INITIALIZED',
  0x80040607: 'NO_RECIPIENTS',
  0x80040700: 'AMBIGUOUS_RECIP',
};

const BITNESS_HINT =
  'Extended MAPI fails with MAPI_E_CALL_FAILED when the process and Outlook differ in bitness (the default Office ' +
  'install is 32-bit): run a Node/Electron of the same bitness as Office, or use SMTP. Also check that classic Outlook ' +
  '(not the new Outlook) is the default mail client and has a profile.';

const EXTENDED_HINTS: Record<string, (password: boolean) => string> = {
  CALL_FAILED: () => BITNESS_HINT,
  NOT_INITIALIZED: () => BITNESS_HINT,
  LOGON_FAILED: (password) =>
    password
      ? "The profile refused the logon. Outlook's own provider takes no password here (Microsoft documents it as 'must be NULL'): clear mapi.password and let Outlook use the profile's stored credentials, or check the profile name."
      : 'Check mapi.profile (oxymail mapi profiles lists them), or leave it empty to use the default profile.',
  UNCONFIGURED: () => 'The mail profile is not configured: open the mail client once and finish its account setup.',
  NOT_FOUND: () => 'The profile has no default message store or no Outbox: open the mail client once, or choose another profile.',
  NO_RECIPIENTS: () => 'The message has no recipient the mail client accepted.',
  USER_CANCEL: () => 'The user cancelled the logon dialog.',
  FILE_NOT_FOUND: () => 'An attachment file disappeared before it could be read.',
};

const hex = (hr: number) => `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

/** The oxymail code for an Extended MAPI HRESULT (MAPI_HRESULT_0x... when it is not in the table). */
export function extendedMapiCode(hresult: number): ErrorCode {
  const name = EXTENDED_MAPI_CODES[hresult >>> 0];
  return name ? `MAPI_${name}` : `MAPI_HRESULT_${hex(hresult)}`;
}

/** The MailError for a failed Extended MAPI call (`call` names the interface method). */
export function extendedMapiError(hresult: number, call: string, op = 'send', passwordGiven = false): MailError {
  const name = EXTENDED_MAPI_CODES[hresult >>> 0];
  const what = name ? name.toLowerCase().replace(/_/g, ' ') : 'failed';
  return new MailError(extendedMapiCode(hresult), `${op} (${call}): ${what} (HRESULT ${hex(hresult)})`, {
    protocol: 'mapi',
    mapiCode: hresult >>> 0,
    hint: name ? EXTENDED_HINTS[name]?.(passwordGiven) : BITNESS_HINT,
  });
}
