/**
 * oxymail: send e-mail on behalf of a business-software user, by the managed relay, SMTP or
 * the Windows mail client (MAPI). Re-exports only.
 */
export { createMailer } from './mailer';
export type { Mailer, MailerOptions, SendOptions, VerifyResult } from './mailer';
export { validateSettings, resolveSettings, maskSecrets } from './settings';
export type { UserMailSettings, SettingsInput, SmtpSettings, MapiSettings, SmtpSecurity, EffectiveSettings, SettingsSource } from './settings';
export { validateMessage } from './message';
export type { MailMessage, Attachment, DeliveryReceiptOptions, AddressField } from './message';
export type { SendResult } from './result';
export { capabilities, FEATURES } from './capabilities';
export type { Capability, Feature, ProtocolKey } from './capabilities';
export { MailError, ERROR_CODES, WARNING_CODES } from './errors';
export type { ErrorCode, Protocol, MailWarning, Problem, RejectedRecipient, WarningCode } from './errors';
export { IMPORTANCE_LEVELS } from './importance';
export type { Importance } from './importance';
export { SIMPLE_MAPI_CODES, simpleMapiCode } from './mapi-codes';
export type { ManagedRelay } from './transports/managed';
export { openSettingsStore, defaultStorePath, STORE_VERSION } from './store/store';
export type { GetOptions, ReadableSettings, SettingsStore, StoredUser, StoreOptions, UpdateFn } from './store/store';
export { listProfiles } from './transports/mapi';
export { EXTENDED_MAPI_CODES, extendedMapiCode } from './mapi-codes';
export { runDoctor, formatDoctorReport } from './doctor';
export type { DoctorOptions, DoctorReport, DoctorLine, Verdict, RecommendationChoice, Probe, DoctorFacts } from './doctor';
