// A consumer's file, compiled by test/types/types.test.ts under each module resolution with
// esModuleInterop and skipLibCheck off: every public entry point and the types a user writes.
import { capabilities, createMailer, MailError, openSettingsStore, runDoctor, STORE_VERSION, validateSettings } from 'oxymail';
import type { Mailer, MailMessage, SendResult, UserMailSettings, VerifyResult, ErrorCode, MailWarning, ManagedRelay } from 'oxymail';
import { readRecords, recordingEnv, registerRecordingClient } from 'oxymail/testing';
import { mapiTransport, oxymailTransport } from 'oxymail/nodemailer';
import type { OxymailNodemailerTransport, OxymailSentInfo } from 'oxymail/nodemailer';

const settings: UserMailSettings = validateSettings({ email: 'alice@example.com' });
const relay: ManagedRelay = { host: 'relay.example.com', assignedAddress: 'noreply@example.com' };
const mailer: Mailer = createMailer(settings, { managed: relay, unsupported: 'warn' });
const message: MailMessage = { to: ['Bob <bob@example.com>'], subject: 'Facture', text: 'Bonjour', attachments: [{ path: 'f.pdf' }] };

export async function consumer(): Promise<void> {
  try {
    const result: SendResult = await mailer.send(message, { protocol: 'smtp' });
    const warnings: MailWarning[] = result.warnings;
    const verified: VerifyResult = await mailer.verify();
    void warnings;
    void verified;
  } catch (err) {
    if (err instanceof MailError) {
      const code: ErrorCode = err.code;
      void err.problems?.map((p) => p.path);
      void code;
    }
  }
  const store = openSettingsStore();
  void (await store.list());
  void (await runDoctor({}));
  void capabilities('mapi-simple').html.supported;
  void STORE_VERSION;
  void recordingEnv('records.jsonl', { returnCode: 0 });
  void readRecords;
  void registerRecordingClient;
  const transport: OxymailNodemailerTransport = mapiTransport({ profile: 'Outlook', interface: 'extended' });
  transport.send({ data: { to: 'bob@example.com', text: 'x' } }, (err: Error | null, info?: OxymailSentInfo) => void [err, info?.messageId]);
  void oxymailTransport(settings).oxymail.protocol;
  mailer.close();
}
