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

const hex = (hr: number) => `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

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

const NO_EXTENDED_HINT =
  "This DLL has no Extended MAPI: only classic Outlook (and clients with an Extended MAPI provider) has it. Use mapi.interface 'simple' " +
  'with other mail clients, make classic Outlook the default mail client, or check OXYMAIL_MAPI_DLL.';

/** Which MAPI a native call used: Simple (MAPISendMail) or Extended (MAPILogonEx, profiles). */
export type MapiInterface = 'simple' | 'extended';

/** What the addon reports when it could not use the MAPI DLL at all. */
export interface MapiLoadFailure {
  call: string;
  dll: string;
  /** GetLastError(), as Simple MAPI reports it. */
  win32Error?: number;
  /** HRESULT_FROM_WIN32(GetLastError()), as Extended MAPI reports it. */
  hresult?: number;
}

/** True when a native result stopped at loading the MAPI DLL (LoadLibraryW or GetProcAddress). */
export function isLoadFailure(call: string): boolean {
  return call === 'LoadLibraryW' || call === 'GetProcAddress';
}

/** The Win32 error inside an HRESULT_FROM_WIN32 value (facility 7, failure bit set), else undefined. */
export function win32FromHresult(hresult: number): number | undefined {
  const hr = hresult >>> 0;
  return hr >>> 31 === 1 && ((hr >>> 16) & 0x1fff) === 7 ? hr & 0xffff : undefined;
}

const MISSING_EXPORTS: Record<string, string> = {
  'simple:send': 'MAPISendMailW or MAPISendMail, MAPILogon, MAPILogoff',
  'extended:send': 'MAPIInitialize, MAPILogonEx, MAPIAllocateBuffer, HrQueryAllRows',
  'extended:profiles': 'MAPIInitialize, MAPIAdminProfiles, HrQueryAllRows',
};

/**
 * The MailError when the MAPI DLL itself cannot be used (LoadLibraryW / GetProcAddress failed), for
 * Simple and Extended MAPI, sends and profile lists alike: MAPI_UNAVAILABLE, naming the operation,
 * the call and the Win32 error, with the hint for that error (not found, other bitness).
 */
export function mapiLoadError(failure: MapiLoadFailure, iface: MapiInterface, op = 'send'): MailError {
  const win32 = failure.win32Error || (failure.hresult !== undefined ? win32FromHresult(failure.hresult) : undefined);
  const code = win32 !== undefined ? `Win32 error ${win32}` : `HRESULT ${hex(failure.hresult ?? 0)}`;
  const lacks = MISSING_EXPORTS[`${iface}:${op}`] ?? MISSING_EXPORTS[`${iface}:send`];
  const what =
    failure.call === 'LoadLibraryW'
      ? `cannot load ${failure.dll}`
      : `${failure.dll} does not export ${iface === 'simple' ? 'Simple' : 'Extended'} MAPI (${lacks})`;
  const fallbackHint = failure.call === 'GetProcAddress' && iface === 'extended' ? NO_EXTENDED_HINT : NO_CLIENT_HINT;
  return new MailError('MAPI_UNAVAILABLE', `${op} (${failure.call}): ${what} (${code})`, {
    protocol: 'mapi',
    hint: (win32 !== undefined ? WIN32_HINTS[win32] : undefined) ?? fallbackHint,
  });
}

/**
 * A request field the addon could not put in the Windows ANSI code page unchanged (for the ANSI
 * MAPISendMail, and for MAPILogon, which has no wide form): `attachments[0].path`,
 * `recipients[1].address`, `profile` or `password`. Nothing was sent.
 */
export function ansiError(field: string, request: { profile?: string; recipients: { address: string }[]; attachments: { path: string }[] }): MailError {
  const at = /^(attachments|recipients)\[(\d+)\]\.(path|address)$/.exec(field);
  const value = at ? (at[1] === 'attachments' ? request.attachments[Number(at[2])]?.path : request.recipients[Number(at[2])]?.address) : undefined;
  const unicodeless = 'The mail client has no Unicode MAPI (MAPISendMailW), so this goes through the Windows code page, which cannot hold it unchanged: ';
  const [call, what, hint] =
    field === 'profile' || field === 'password'
      ? [
          'MAPILogon',
          field === 'profile' ? `the profile name "${request.profile ?? ''}"` : 'the password',
          "Simple MAPI's MAPILogon takes the profile and password in the Windows code page: rename the profile, use mapi.interface 'extended' (Unicode), or leave mapi.profile and mapi.password empty to use the default session.",
        ]
      : at?.[1] === 'attachments'
        ? [
            'MAPISendMail',
            `the attachment path "${value ?? field}"`,
            unicodeless +
              'rename the file (and its folder) with characters of that code page, attach it as in-memory content (its temp copy gets a safe name), use a mail client with Unicode MAPI, or SMTP.',
          ]
        : ['MAPISendMail', `the address "${value ?? field}"`, unicodeless + 'use SMTP for this message, or a mail client with Unicode MAPI.'];
  return new MailError('MAPI_ANSI_UNREPRESENTABLE', `send (${call}): ${what} has characters the Windows ANSI code page cannot hold: nothing was sent`, {
    protocol: 'mapi',
    hint,
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
