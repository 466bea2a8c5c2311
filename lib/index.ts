/**
 * oxymail: send e-mail on behalf of a business-software user, by the managed relay, SMTP or
 * the Windows mail client (MAPI). Re-exports only.
 *
 * `require('oxymail')` loads what createMailer needs and nothing more: the settings store and the
 * doctor are loaded by their first call (below), nodemailer, html-to-text and jsonc-parser by the
 * first send or parse that needs them (lib/lazy.ts), the native addon by the first MAPI call.
 */
import { lazy, lazyExports } from './lazy';
import type * as DoctorModule from './doctor';
import type * as StoreModule from './store/store';
import type * as MapiModule from './transports/mapi';
import type * as SignInModule from './oauth/signin';
import type * as TokenSourceModule from './oauth/token-source';
import type * as MapiCodesModule from './mapi-codes';

export { createMailer } from './mailer';
export type { Mailer, MailerOptions, MailerOutboxOptions, SendOptions, VerifyResult } from './mailer';
export type { OutboxEvent, FlushReport, FlushOptions, FlushProgress, FlushOutcome } from './outbox/outbox';
export type { OutboxEntry, EntryState, Attempt } from './outbox/store';
export { validateSettings, resolveSettings, maskSecrets } from './settings';
export type {
  UserMailSettings,
  SettingsInput,
  SmtpSettings,
  MapiSettings,
  ImapSettings,
  ImapSecurity,
  SentCopyMode,
  SmtpSecurity,
  EffectiveSettings,
  SettingsSource,
  OAuth2Settings,
  OAuth2Provider,
} from './settings';
export { validateMessage } from './message';
export type { MailMessage, Attachment, DeliveryReceiptOptions, AddressField } from './message';
export type { SendResult, SmtpVerifyResult } from './result';
export { capabilities, FEATURES } from './capabilities';
export type { Capability, Feature, ProtocolKey } from './capabilities';
export { MailError, ERROR_CODES, WARNING_CODES } from './errors';
export type { ErrorCode, Protocol, MailWarning, Problem, RejectedRecipient, WarningCode } from './errors';
export { IMPORTANCE_LEVELS } from './importance';
export type { Importance } from './importance';
export type { ManagedRelay } from './transports/managed';
export { STORE_VERSION } from './store/version';
export type { GetOptions, ReadableSettings, SettingsStore, StoredUser, StoreOptions, UpdateFn } from './store/store';
export type { DoctorOptions, DoctorReport, DoctorLine, Verdict, RecommendationChoice, Probe, DoctorFacts } from './doctor';

/* eslint-disable @typescript-eslint/no-require-imports */
const store = lazy(() => require('./store/store') as typeof StoreModule);
const doctor = lazy(() => require('./doctor') as typeof DoctorModule);
const mapi = lazy(() => require('./transports/mapi') as typeof MapiModule);
const signin = lazy(() => require('./oauth/signin') as typeof SignInModule);
const tokenSource = lazy(() => require('./oauth/token-source') as typeof TokenSourceModule);
const mapiCodes = lazy(() => require('./mapi-codes') as typeof MapiCodesModule);

/** Opens the settings store (see the README, "The settings store"); loads the store on first call. */
export const openSettingsStore: typeof StoreModule.openSettingsStore = (...args) => store().openSettingsStore(...args);
/** Where the settings store lives by default on this platform. */
export const defaultStorePath: typeof StoreModule.defaultStorePath = (...args) => store().defaultStorePath(...args);
/** Checks which protocol will work on this machine (see the README, "oxymail doctor"); loads the doctor on first call. */
export const runDoctor: typeof DoctorModule.runDoctor = (...args) => doctor().runDoctor(...args);
/** The doctor's report as text, one verdict per line. */
export const formatDoctorReport: typeof DoctorModule.formatDoctorReport = (...args) => doctor().formatDoctorReport(...args);
/** The MAPI profiles of this machine (MAPIAdminProfiles), to fill mapi.profile; loads the MAPI transport on first call. */
export const listProfiles: typeof MapiModule.listProfiles = (...args) => mapi().listProfiles(...args);
/** Signs a user in to their OAuth2 provider (see the README, "OAuth2"); loads the sign-in code (node:http, openid-client) on first call. */
export const signIn: typeof SignInModule.signIn = (...args) => signin().signIn(...args);
/** Revokes and forgets a user's OAuth2 grant; loads the sign-in code on first call. */
export const signOut: typeof SignInModule.signOut = (...args) => signin().signOut(...args);
export type { SignInOptions, SignInResult, SignOutResult, UserCodePrompt } from './oauth/signin';
/** An OAuth2 token source for smtp.oauth2 settings (see the README, "OAuth2"); loads the OAuth2 code on first call. */
export const createTokenSource: typeof TokenSourceModule.createTokenSource = (...args) => tokenSource().createTokenSource(...args);
/** The code of a Simple MAPI status (MAPI_E_*); loads the MAPI code tables on first call. */
export const simpleMapiCode: typeof MapiCodesModule.simpleMapiCode = (...args) => mapiCodes().simpleMapiCode(...args);
/** The code of an Extended MAPI HRESULT; loads the MAPI code tables on first call. */
export const extendedMapiCode: typeof MapiCodesModule.extendedMapiCode = (...args) => mapiCodes().extendedMapiCode(...args);

// A class and two tables, exported as getters: their modules load when they are first read.
export declare const OAuth2TokenSource: typeof TokenSourceModule.OAuth2TokenSource;
export type OAuth2TokenSource = TokenSourceModule.OAuth2TokenSource;
export declare const SIMPLE_MAPI_CODES: typeof MapiCodesModule.SIMPLE_MAPI_CODES;
export declare const EXTENDED_MAPI_CODES: typeof MapiCodesModule.EXTENDED_MAPI_CODES;
// (The assignments, never run, name them for Node's ES module loader, which reads `exports.NAME =`.)
if (!exports) exports.OAuth2TokenSource = exports.SIMPLE_MAPI_CODES = exports.EXTENDED_MAPI_CODES = undefined;
lazyExports(exports, {
  OAuth2TokenSource: () => tokenSource().OAuth2TokenSource,
  SIMPLE_MAPI_CODES: () => mapiCodes().SIMPLE_MAPI_CODES,
  EXTENDED_MAPI_CODES: () => mapiCodes().EXTENDED_MAPI_CODES,
});
export type { TokenSource, TokenSourceOptions, TokenStatus, IssuedTokens, OnTokens } from './oauth/token-source';
export { OAUTH2_PRESETS } from './oauth/presets';
export type { OAuth2Preset } from './oauth/presets';
