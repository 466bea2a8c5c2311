/**
 * The README's "In code" example through MAPI for real, under Wine: the message and mailer options
 * the example uses (read from README.md) sent with a Simple and an Extended MAPI user, through
 * the public API in a Windows node.exe, to the recording mail client. (test/smtp/readme-example
 * runs the same block against smtp-server for SMTP and the managed relay.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { VCARD } from '../helpers/fixtures';
import { exampleCall } from '../helpers/readme';
import { prepareWine, runApiCases, wineReady, winPath } from './harness';

const PR = { BODY_W: '0x1000001f', IMPORTANCE: '0x00170003', DELIVERY_REPORT: '0x0023000b', READ_RECEIPT: '0x0029000b' } as const;

if (wineReady("the README's In code example through MAPI (Wine)")) {
  describe("the README's In code example through MAPI (Wine)", () => {
    beforeAll(prepareWine, 300_000);

    test('Simple MAPI and Extended MAPI both send it as written: text, both attachments, what each can carry', async () => {
      const { message, options } = await exampleCall(VCARD);
      const text = message.text as string;
      const out = await runApiCases((dir) => {
        const pdf = path.join(dir, 'facture-12.pdf');
        fs.writeFileSync(pdf, '%PDF-1.4 facture 12\n');
        // The example names the file relative to its working directory; here it is the case's folder.
        const attachments = message.attachments?.map((a) => (a.path === 'facture-12.pdf' ? { path: winPath(pdf) } : a));
        const user = (mapiInterface: string) => ({ email: 'zoe@example.fr', customize: true, protocol: 'mapi', mapi: { interface: mapiInterface } });
        return ['simple', 'extended'].map((i) => ({ name: i, settings: user(i), mailerOptions: options, message: { ...message, attachments } }));
      });

      const simple = out.simple.sent[0];
      expect(simple.error).toBeUndefined();
      expect(simple.result.warnings.map((w: { code: string }) => w.code).sort()).toEqual(['HTML_DROPPED', 'OPTION_DROPPED', 'OPTION_DROPPED']);
      expect(simple.result.receipts).toEqual({ read: 'requested', delivery: 'not-requested' });
      const call = out.simple.records.find((r) => r.fn === 'MAPISendMailW');
      expect(call).toMatchObject({ body: text });
      expect(call.attachments.map((a: { name: string }) => a.name)).toEqual(['facture-12.pdf', 'zoe.vcf']);
      expect(call.recipients.map((r: { address: string }) => r.address)).toEqual(['SMTP:bob@example.com', 'SMTP:zoe@example.com', 'SMTP:carol@example.com']);

      const extended = out.extended.sent[0];
      expect(extended.error).toBeUndefined();
      expect(extended.result.warnings.map((w: { code: string }) => w.code)).toEqual(['HTML_DROPPED']);
      expect(extended.result.receipts).toEqual({ read: 'requested', delivery: 'requested' });
      const submitted = out.extended.records.filter((r) => r.fn === 'IMessage::SubmitMessage');
      expect(submitted).toHaveLength(1);
      expect(submitted[0].props).toMatchObject({ [PR.BODY_W]: text, [PR.IMPORTANCE]: 2, [PR.DELIVERY_REPORT]: true, [PR.READ_RECEIPT]: true });
    }, 180_000);
  });
}
