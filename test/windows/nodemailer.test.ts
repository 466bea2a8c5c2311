/**
 * oxymail/nodemailer under Wine: nodemailer.createTransport(mapiTransport(...)).sendMail(...) in a
 * real Windows node.exe, through Wine's MAPI32 to the recording mail client; the assertions are on
 * what the client recorded (MAPISendMailW: subject, body, recipients, attachments).
 */
import * as fs from 'fs';
import * as path from 'path';
import { prepareWine, runScenario, wineReady, winPath } from './harness';

if (wineReady('nodemailer through MAPI (Wine)')) {
  describe('nodemailer through MAPI (Wine)', () => {
    beforeAll(prepareWine, 300_000);

    test('text with HTML, a file and an inline logo: the client gets the text, both files; headers are refused before MAPI', async () => {
      const { result, records } = await runScenario('nodemailer', (dir: string) => {
        const file = path.join(dir, 'facture-12.pdf');
        fs.writeFileSync(file, Buffer.alloc(1500, 0x25));
        return {
          attachment: winPath(file),
          cases: [
            {
              name: 'sent',
              mapi: {},
              withAttachments: true,
              mail: {
                from: 'zoe@example.fr',
                to: 'Bob <bob@example.com>',
                cc: 'carol@example.com',
                subject: 'Facture n° 12 — été',
                text: 'Bonjour Élodie,\nla facture est jointe.',
                html: '<p>Bonjour <b>Élodie</b></p><img src="cid:logo@oxygene">',
              },
            },
            { name: 'headers', mapi: {}, mail: { to: 'bob@example.com', subject: 'x', text: 'x', headers: { 'X-Dossier': '12' } } },
          ],
        };
      });
      expect(result.error).toBeUndefined();
      expect(result.transportName).toBe('oxymail-mapi');
      const sent = result.outcomes.sent;
      expect(sent.error).toBeUndefined();
      expect(sent.info).toMatchObject({ messageId: null, accepted: ['bob@example.com', 'carol@example.com'], rejected: [] });
      expect(sent.info.oxymail.warnings.map((w: { code: string }) => w.code).sort()).toEqual(['HTML_DROPPED', 'INLINE_ATTACHED']);
      expect(result.outcomes.headers.error).toMatchObject({ code: 'UNSUPPORTED_OPTION', problems: [expect.objectContaining({ path: 'headers' })] });
      // One MAPI call in all: the refused message never reached the client.
      expect(records).toHaveLength(1);
      expect(records[0]).toMatchObject({ fn: 'MAPISendMailW', subject: 'Facture n° 12 — été', body: 'Bonjour Élodie,\nla facture est jointe.' });
      expect(records[0].recipients).toEqual([
        { class: 1, name: 'Bob', address: 'SMTP:bob@example.com' },
        { class: 2, name: 'carol@example.com', address: 'SMTP:carol@example.com' },
      ]);
      expect(records[0].attachments.map((a: { name: string; size: number }) => [a.name, a.size])).toEqual([
        ['facture-12.pdf', 1500],
        ['logo.png', 8],
      ]);
    }, 120_000);
  });
}
