/**
 * The one table from Simple MAPI return codes (mapi.h) to stable oxymail codes, and the hints
 * a user can act on.
 */
import { ErrorCode, MailError } from './errors';
import { MessageKey, Text, text } from './i18n';

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

const DESCRIPTIONS: Record<string, MessageKey> = {
  USER_ABORT: 'MAPI_USER_ABORT.what',
  FAILURE: 'MAPI_FAILURE.what',
  LOGIN_FAILURE: 'MAPI_LOGIN_FAILURE.what',
  ACCESS_DENIED: 'MAPI_ACCESS_DENIED.what',
  TOO_MANY_FILES: 'MAPI_TOO_MANY_FILES.what',
  TOO_MANY_RECIPIENTS: 'MAPI_TOO_MANY_RECIPIENTS.what',
  ATTACHMENT_NOT_FOUND: 'MAPI_ATTACHMENT_NOT_FOUND.what',
  ATTACHMENT_OPEN_FAILURE: 'MAPI_ATTACHMENT_OPEN_FAILURE.what',
  UNKNOWN_RECIPIENT: 'MAPI_UNKNOWN_RECIPIENT.what',
  AMBIGUOUS_RECIPIENT: 'MAPI_AMBIGUOUS_RECIPIENT.what',
  UNICODE_NOT_SUPPORTED: 'MAPI_UNICODE_NOT_SUPPORTED.what',
};

const NO_CLIENT_HINT = text('MAPI.hint.noClient');

const hex = (hr: number) => `0x${(hr >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;

const HINTS: Record<string, Text> = {
  LOGIN_FAILURE: text('MAPI_LOGIN_FAILURE.hint'),
  FAILURE: NO_CLIENT_HINT,
  NOT_SUPPORTED: NO_CLIENT_HINT,
  TOO_MANY_FILES: text('MAPI_TOO_MANY_FILES.hint'),
  TOO_MANY_RECIPIENTS: text('MAPI_TOO_MANY_RECIPIENTS.hint'),
  UNKNOWN_RECIPIENT: text('MAPI_UNKNOWN_RECIPIENT.hint'),
};

/** The oxymail code for a Simple MAPI return code (MAPI_UNKNOWN_<n> when it is not in the table). */
export function simpleMapiCode(status: number): ErrorCode {
  const name = SIMPLE_MAPI_CODES[status];
  return name ? `MAPI_${name}` : `MAPI_UNKNOWN_${status}`;
}

/** The MailError for a failed Simple MAPI call. */
export function simpleMapiError(status: number, call: string, op = 'send'): MailError {
  const name = SIMPLE_MAPI_CODES[status];
  const described = name ? DESCRIPTIONS[name] : undefined;
  const what = described ? text(described) : name ? name.toLowerCase().replace(/_/g, ' ') : text('MAPI.unknownError', { status });
  return new MailError(simpleMapiCode(status), text('MAPI.failed', { op, call, what }), {
    protocol: 'mapi',
    mapiCode: status,
    hint: name ? HINTS[name] : undefined,
  });
}

const WIN32_HINTS: Record<number, Text> = {
  126: text('MAPI_UNAVAILABLE.hint.dllNotFound'),
  193: text('MAPI_UNAVAILABLE.hint.bitness'),
};

const NO_EXTENDED_HINT = text('MAPI_UNAVAILABLE.hint.noExtended');

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
  const code = win32 !== undefined ? text('MAPI.win32Error', { win32 }) : `HRESULT ${hex(failure.hresult ?? 0)}`;
  const lacks = MISSING_EXPORTS[`${iface}:${op}`] ?? MISSING_EXPORTS[`${iface}:send`];
  const what =
    failure.call === 'LoadLibraryW'
      ? text('MAPI_UNAVAILABLE.cannotLoad', { dll: failure.dll })
      : text('MAPI_UNAVAILABLE.noExports', { dll: failure.dll, mapi: iface === 'simple' ? 'Simple' : 'Extended', lacks });
  const fallbackHint = failure.call === 'GetProcAddress' && iface === 'extended' ? NO_EXTENDED_HINT : NO_CLIENT_HINT;
  return new MailError('MAPI_UNAVAILABLE', text('MAPI_UNAVAILABLE.load', { op, call: failure.call, what, code }), {
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
  const [call, what, hint]: [string, Text, Text] =
    field === 'profile' || field === 'password'
      ? [
          'MAPILogon',
          field === 'profile' ? text('MAPI_ANSI_UNREPRESENTABLE.profile', { profile: request.profile ?? '' }) : text('MAPI_ANSI_UNREPRESENTABLE.password'),
          text('MAPI_ANSI_UNREPRESENTABLE.hint.logon'),
        ]
      : at?.[1] === 'attachments'
        ? ['MAPISendMail', text('MAPI_ANSI_UNREPRESENTABLE.attachment', { path: value ?? field }), text('MAPI_ANSI_UNREPRESENTABLE.hint.attachment')]
        : ['MAPISendMail', text('MAPI_ANSI_UNREPRESENTABLE.address', { address: value ?? field }), text('MAPI_ANSI_UNREPRESENTABLE.hint.address')];
  return new MailError('MAPI_ANSI_UNREPRESENTABLE', text('MAPI_ANSI_UNREPRESENTABLE.message', { call, what }), {
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

const BITNESS_HINT = text('MAPI_CALL_FAILED.hint');

const EXTENDED_HINTS: Record<string, (password: boolean) => Text> = {
  CALL_FAILED: () => BITNESS_HINT,
  NOT_INITIALIZED: () => BITNESS_HINT,
  LOGON_FAILED: (password) => (password ? text('MAPI_LOGON_FAILED.hint.password') : text('MAPI_LOGON_FAILED.hint')),
  UNCONFIGURED: () => text('MAPI_UNCONFIGURED.hint'),
  NOT_FOUND: () => text('MAPI_NOT_FOUND.hint'),
  NO_RECIPIENTS: () => text('MAPI_NO_RECIPIENTS.hint'),
  USER_CANCEL: () => text('MAPI_USER_CANCEL.hint'),
  FILE_NOT_FOUND: () => text('MAPI_FILE_NOT_FOUND.hint'),
};

/** The oxymail code for an Extended MAPI HRESULT (MAPI_HRESULT_0x... when it is not in the table). */
export function extendedMapiCode(hresult: number): ErrorCode {
  const name = EXTENDED_MAPI_CODES[hresult >>> 0];
  return name ? `MAPI_${name}` : `MAPI_HRESULT_${hex(hresult)}`;
}

/** The MailError for a failed Extended MAPI call (`call` names the interface method). */
export function extendedMapiError(hresult: number, call: string, op = 'send', passwordGiven = false): MailError {
  const name = EXTENDED_MAPI_CODES[hresult >>> 0];
  const what = name ? name.toLowerCase().replace(/_/g, ' ') : text('MAPI.extendedFailed');
  return new MailError(extendedMapiCode(hresult), text('MAPI.hresult', { op, call, what, hresult: hex(hresult) }), {
    protocol: 'mapi',
    mapiCode: hresult >>> 0,
    hint: name ? EXTENDED_HINTS[name]?.(passwordGiven) : BITNESS_HINT,
  });
}
