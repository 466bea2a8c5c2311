/**
 * The only file that loads the native addon (Windows only; nothing is built elsewhere).
 */
import * as path from 'node:path';
import { Text, text } from './i18n';

/** One Simple MAPI send, as the addon takes it (see native/mapi_request.h). */
export interface NativeSimpleRequest {
  dllPath?: string;
  profile?: string;
  password?: string;
  logonUI: boolean;
  dialog: boolean;
  uiParam: bigint;
  subject: string;
  body: string;
  readReceipt: boolean;
  recipients: { recipClass: 1 | 2 | 3; name: string; address: string }[];
  attachments: { path: string; name: string }[];
}

/**
 * What the addon reports: the MAPI code of the call that ended the send (0: sent). When
 * MAPISendMailW refuses with MAPI_E_NOT_SUPPORTED or MAPI_E_UNICODE_NOT_SUPPORTED the addon retries
 * with MAPISendMail: `call` and `unicode` then describe that second call.
 */
export interface NativeSimpleResult {
  status: number;
  call: string;
  unicode: boolean;
  win32Error: number;
  dll: string;
  /**
   * With call 'WideCharToMultiByte': the request field the ANSI code page cannot hold unchanged
   * ('attachments[0].path', 'recipients[1].address', 'profile', 'password'); nothing was sent.
   */
  unrepresentable: string;
}

/** One Extended MAPI send (see native/mapi_request.h). */
export interface NativeExtendedRequest {
  dllPath?: string;
  profile?: string;
  password?: string;
  logonUI: boolean;
  uiParam: bigint;
  subject: string;
  body: string;
  importance: 0 | 1 | 2;
  readReceipt: boolean;
  deliveryReport: boolean;
  saveToSent: boolean;
  recipients: { recipClass: 1 | 2 | 3; name: string; address: string }[];
  attachments: { path: string; name: string }[];
}

/** What the addon reports for an Extended MAPI send: the HRESULT of the call that ended it. */
export interface NativeExtendedResult {
  hresult: number;
  call: string;
  savedToSent: boolean;
  dll: string;
}

/** The profiles MAPIAdminProfiles lists. */
export interface NativeProfiles {
  hresult: number;
  call: string;
  dll: string;
  profiles: { name: string; isDefault: boolean }[];
}

/** The addon's exports. */
export interface NativeBinding {
  sendSimple(request: NativeSimpleRequest): Promise<NativeSimpleResult>;
  sendExtended?(request: NativeExtendedRequest): Promise<NativeExtendedResult>;
  listProfiles?(request: { dllPath?: string }): Promise<NativeProfiles>;
  /** CryptProtectData for the current user (DPAPI). */
  protectData?(data: Buffer): Promise<Buffer>;
  /** CryptUnprotectData; rejects when the data was sealed by another user or machine. */
  unprotectData?(data: Buffer): Promise<Buffer>;
  /**
   * One REG_SZ / REG_EXPAND_SZ value (unexpanded; `name` null: the key's default), read in this
   * process, so in the same 32- or 64-bit registry view as the MAPI32 it loads; null when absent.
   */
  readRegistry?(hive: 'HKCU' | 'HKLM', subkey: string, name: string | null): { type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string } | null;
}

/** The addon, or the reason it cannot be loaded here. */
export type NativeLoad = { binding: NativeBinding } | { binding?: undefined; reason: Text | string };

let cached: NativeLoad | undefined;

/** Loads the addon once; never throws. */
export function loadNative(): NativeLoad {
  if (cached) return cached;
  if (process.platform !== 'win32') {
    cached = { reason: text('MAPI_UNAVAILABLE.notWindows', { platform: process.platform }) };
    return cached;
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    cached = { binding: load(path.join(__dirname, '..')) };
  } catch (err) {
    cached = { reason: text('MAPI_UNAVAILABLE.addon', { error: (err as Error).message }) };
  }
  return cached;
}
