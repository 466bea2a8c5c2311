/**
 * Extended MAPI through the raw addon (sendExtended, listProfiles) under
 * Wine. Wine's MAPI32 forwards MAPIInitialize, MAPILogonEx... to the fake
 * provider in the recording client DLL (registered as DLLPathEx), which
 * records every call: see test/fixtures/mapi-client/extended_provider.c.
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  CLIENT_DLL,
  crc32,
  decodeOneOff,
  EXTENDED_FAILURE_POINTS,
  failureHresult,
  ONE_OFF_UID,
  recordsBySteps,
  registerClient,
  runScenario,
  unregisterClient,
  winPath,
  wineReady,
  prepareWine,
  TARGET,
} from './harness';

jest.setTimeout(120_000);

// Property tags as the provider records them.
const PR = {
  MESSAGE_CLASS_W: '0x001a001f',
  SUBJECT_W: '0x0037001f',
  BODY_W: '0x1000001f',
  IMPORTANCE: '0x00170003',
  READ_RECEIPT_REQUESTED: '0x0029000b',
  ORIGINATOR_DELIVERY_REPORT_REQUESTED: '0x0023000b',
  SENTMAIL_ENTRYID: '0x0e0a0102',
  DELETE_AFTER_SUBMIT: '0x0e01000b',
  RECIPIENT_TYPE: '0x0c150003',
  DISPLAY_NAME_W: '0x3001001f',
  EMAIL_ADDRESS_W: '0x3003001f',
  ADDRTYPE_W: '0x3002001f',
  ENTRYID: '0x0fff0102',
  ATTACH_METHOD: '0x37050003',
  RENDERING_POSITION: '0x370b0003',
  ATTACH_LONG_FILENAME_W: '0x3707001f',
  ATTACH_DATA_BIN: '0x37010102',
} as const;

// MAPI_EXTENDED | MAPI_UNICODE | MAPI_NEW_SESSION, plus MAPI_USE_DEFAULT or MAPI_EXPLICIT_PROFILE.
const LOGON_DEFAULT = 0x80000062;
const LOGON_PROFILE = 0x80000032;
const MAPI_LOGON_UI = 0x1;
const IID_IStream = '{0000000C-0000-0000-C000-000000000046}';
const IID_IMAPIFolder = '{0002030C-0000-0000-C000-000000000046}';
// MAPI_UNICODE | MAPI_SEND_NO_RICH_INFO to CreateOneOff; in the entry ID: MAPI_ONE_OFF_UNICODE | MAPI_ONE_OFF_NO_RICH_INFO.
const ONE_OFF_FLAGS = 0x80000000 + 0x00010000;
const ONE_OFF_ID_FLAGS = 0x8000 | 0x0001;
const hex = (s: string) => Buffer.from(s).toString('hex');

const recip = (recipClass: number, name: string, address: string) => ({ recipClass, name, address });
const base = { subject: 's', recipients: [recip(1, 'a', 'a@example.fr')] };
const submits = (records: Array<Record<string, any>>) => records.filter((r) => r.fn === 'IMessage::SubmitMessage');
const fns = (records: Array<Record<string, any>>) => records.map((r) => r.fn);
/** The recorded recipient rows, PR_ENTRYID decoded. */
const rows = (submit: Record<string, any>) =>
  submit.recipients.map((r: Record<string, any>) => ({ ...r, ...(r[PR.ENTRYID] !== undefined ? { [PR.ENTRYID]: decodeOneOff(r[PR.ENTRYID]) } : {}) }));
const row = (type: number, name: string, address: string, entryId = true) => ({
  [PR.RECIPIENT_TYPE]: type,
  [PR.DISPLAY_NAME_W]: name,
  [PR.EMAIL_ADDRESS_W]: address,
  [PR.ADDRTYPE_W]: 'SMTP',
  ...(entryId ? { [PR.ENTRYID]: { uid: ONE_OFF_UID, flags: ONE_OFF_ID_FLAGS, name, type: 'SMTP', address } } : {}),
});

if (wineReady('Windows native suite (Wine): Extended MAPI')) {
  describe('Windows native suite (Wine): Extended MAPI', () => {
    beforeAll(prepareWine, 300_000);

    test('a send: Unicode properties, importance, receipts, Sent Items, recipients and attachments', async () => {
      const subject = 'Réunion de l’équipe — déjà prévue 🎉';
      const body = 'Bonjour Zoé,\r\nvoici le récapitulatif 📎.\r\n\tÀ bientôt';
      const { result, records } = await runScenario('extended', (dir: string) => {
        fs.writeFileSync(path.join(dir, 'récap 🎉.txt'), 'été\n');
        fs.writeFileSync(path.join(dir, 'empty.bin'), '');
        return {
          steps: [
            {
              send: {
                subject,
                body,
                importance: 2,
                readReceipt: true,
                deliveryReport: true,
                saveToSent: true,
                recipients: [
                  recip(1, 'Zoé Lefèvre', 'zoe@example.fr'),
                  recip(1, 'Ève 🎉', 'eve@example.fr'),
                  recip(2, 'Ça Cc', 'cc@example.fr'),
                  recip(3, 'bcc@example.fr', 'bcc@example.fr'),
                ],
                attachments: [
                  { path: winPath(path.join(dir, 'récap 🎉.txt')), name: 'Récap été 🎉.txt' },
                  { path: winPath(path.join(dir, 'empty.bin')), name: 'vide.bin' },
                ],
              },
            },
            { send: { ...base, importance: 0, saveToSent: false } },
            { send: { ...base, importance: 1, readReceipt: true } },
          ],
        };
      });
      expect(result.results).toEqual([
        { hresult: 0, call: 'IMessage::SubmitMessage', savedToSent: true, dll: expect.stringMatching(/mapi32\.dll$/i) },
        { hresult: 0, call: 'IMessage::SubmitMessage', savedToSent: false, dll: expect.stringMatching(/mapi32\.dll$/i) },
        { hresult: 0, call: 'IMessage::SubmitMessage', savedToSent: true, dll: expect.stringMatching(/mapi32\.dll$/i) },
      ]);
      const [first, second, third] = submits(records);
      expect(first.props).toEqual({
        [PR.MESSAGE_CLASS_W]: 'IPM.Note',
        [PR.SUBJECT_W]: subject,
        [PR.BODY_W]: body,
        [PR.IMPORTANCE]: 2,
        [PR.READ_RECEIPT_REQUESTED]: true,
        [PR.ORIGINATOR_DELIVERY_REPORT_REQUESTED]: true,
        [PR.SENTMAIL_ENTRYID]: hex('OXY-SENT'),
      });
      // One-off recipients: each row has the entry ID CreateOneOff made from its name, SMTP and address.
      expect(rows(first)).toEqual([
        row(1, 'Zoé Lefèvre', 'zoe@example.fr'),
        row(1, 'Ève 🎉', 'eve@example.fr'),
        row(2, 'Ça Cc', 'cc@example.fr'),
        row(3, 'bcc@example.fr', 'bcc@example.fr'),
      ]);
      const attachment = (name: string, data: Buffer) => ({
        props: { [PR.ATTACH_METHOD]: 1, [PR.RENDERING_POSITION]: -1, [PR.ATTACH_LONG_FILENAME_W]: name },
        bytes: data.length,
        writes: data.length > 0 ? 1 : 0,
        maxWrite: data.length,
        crc32: crc32(data),
        committed: true,
      });
      expect(first.attachments).toEqual([attachment('Récap été 🎉.txt', Buffer.from('été\n')), attachment('vide.bin', Buffer.alloc(0))]);
      // Never both PR_SENTMAIL_ENTRYID and PR_DELETE_AFTER_SUBMIT.
      expect(second.props).toMatchObject({ [PR.IMPORTANCE]: 0, [PR.DELETE_AFTER_SUBMIT]: true });
      expect(second.props).not.toHaveProperty(PR.SENTMAIL_ENTRYID);
      expect(first.props).not.toHaveProperty(PR.DELETE_AFTER_SUBMIT);
      expect(third.props).toMatchObject({
        [PR.IMPORTANCE]: 1,
        [PR.READ_RECEIPT_REQUESTED]: true,
        [PR.ORIGINATOR_DELIVERY_REPORT_REQUESTED]: false,
        [PR.SENTMAIL_ENTRYID]: hex('OXY-SENT'),
      });
      expect(third.props).not.toHaveProperty(PR.DELETE_AFTER_SUBMIT);

      // The path to the Outbox: default store (the second row), Outbox entry ID, stream on PR_ATTACH_DATA_BIN.
      const call = (fn: string) => records.find((r) => r.fn === fn)!;
      expect(call('HrQueryAllRows').columns).toEqual(['0x0fff0102', '0x3400000b']);
      expect(call('IMAPISession::OpenMsgStore')).toMatchObject({ entryId: hex('OXY-STORE-DEFAULT'), flags: 0x15 });
      expect(call('IMsgStore::GetProps').tags).toEqual(['0x35e20102', '0x35e40102']);
      expect(call('IMsgStore::OpenEntry')).toMatchObject({ entryId: hex('OXY-OUTBOX'), iid: IID_IMAPIFolder, flags: 0x11 });
      expect(call('IMessage::ModifyRecipients').flags).toBe(2); // MODRECIP_ADD
      // One address book per send, opened without a dialog and released with everything else.
      const books = records.filter((r) => r.fn === 'IMAPISession::OpenAddressBook');
      expect(books).toEqual([1, 2, 3].map(() => expect.objectContaining({ uiParam: '0', iid: null, flags: 1, return: 0 }))); // AB_NO_DIALOG
      const oneOffs = records.filter((r) => r.fn === 'IAddrBook::CreateOneOff');
      expect(oneOffs.slice(0, 4).map((r) => [r.addrBook, r.flags, r.name, r.type, r.address])).toEqual(
        first.recipients.map((r: any) => [books[0].addrBook, ONE_OFF_FLAGS, r[PR.DISPLAY_NAME_W], 'SMTP', r[PR.EMAIL_ADDRESS_W]]),
      );
      expect(oneOffs).toHaveLength(6);
      expect(call('IAttach::OpenProperty')).toMatchObject({ tag: PR.ATTACH_DATA_BIN, iid: IID_IStream, flags: 3 });
      // Everything released: after the session at teardown, then at MAPIUninitialize.
      expect(records.slice(-4)).toEqual([
        expect.objectContaining({ fn: 'IMAPISession::Logoff' }),
        expect.objectContaining({ fn: 'liveObjects', count: 0, buffers: 0, after: 'IMAPISession' }),
        expect.objectContaining({ fn: 'MAPIUninitialize' }),
        expect.objectContaining({ fn: 'liveObjects', count: 0, buffers: 0, after: 'MAPIUninitialize' }),
      ]);
    });

    test('one MAPIInitialize on the MAPI thread; sessions cached per profile, logged off at teardown', async () => {
      // The largest ULONG_PTR of the target's arch (test/windows/targets.test.ts: a larger one is a TypeError on ia32).
      const max = TARGET.arch === 'ia32' ? '4294967295' : '18446744073709551615';
      const { result, records } = await runScenario('extended', {
        steps: [
          // The provider accepts only OXYMAIL_MAPI_PASSWORD: a logon that succeeds proves its password arrived.
          { env: { OXYMAIL_MAPI_PASSWORD: 'secret' }, send: { ...base, profile: 'Profil Été 🎉', password: 'secret', uiParam: max } },
          { send: { ...base, profile: 'Profil Été 🎉', password: 'secret', uiParam: max } },
          { env: { OXYMAIL_MAPI_PASSWORD: null }, send: { ...base } },
          { send: { ...base, profile: 'Autre', logonUI: true, uiParam: '4660' } },
          { send: { ...base } },
          // Another password for a cached profile: logged on again.
          { env: { OXYMAIL_MAPI_PASSWORD: 'autre' }, send: { ...base, profile: 'Profil Été 🎉', password: 'autre' } },
        ],
      });
      expect(result.results.map((r: any) => r.hresult)).toEqual([0, 0, 0, 0, 0, 0]);
      const logons = records.filter((r) => r.fn === 'MAPILogonEx');
      expect(logons.map((r) => [r.profile, r.passwordSet, r.passwordMatches, r.flags])).toEqual([
        ['Profil Été 🎉', true, true, LOGON_PROFILE],
        [null, false, undefined, LOGON_DEFAULT],
        ['Autre', false, undefined, LOGON_PROFILE + MAPI_LOGON_UI],
        ['Profil Été 🎉', true, true, LOGON_PROFILE],
      ]);
      // The record files end up as CI artifacts: never a password in them.
      for (const r of logons) expect(r).not.toHaveProperty('password');
      expect(JSON.stringify(records)).not.toMatch(/secret|autre/);
      expect(logons[0].uiParam).toBe(max);
      expect(logons[2].uiParam).toBe('4660');
      expect(records.filter((r) => r.fn === 'IMAPISession::OpenMsgStore')[0].uiParam).toBe(max);
      // Sends 1-2 share logon 1's session, 3 and 5 share logon 2's.
      const stores = records.filter((r) => r.fn === 'IMAPISession::GetMsgStoresTable').map((r) => r.session);
      const s = logons.map((l) => l.session);
      expect(stores).toEqual([s[0], s[0], s[1], s[2], s[1], s[3]]);
      expect(records.filter((r) => r.fn === 'MAPIInitialize')).toEqual([
        expect.objectContaining({ version: 0, flags: 1 }), // MAPI_MULTITHREAD_NOTIFICATIONS
      ]);
      // The replaced session at the 6th send, the 3 others at teardown, before MAPIUninitialize.
      const logoffs = records.filter((r) => r.fn === 'IMAPISession::Logoff').map((r) => r.session);
      expect(logoffs[0]).toBe(s[0]);
      expect([...logoffs].sort()).toEqual([...s].sort());
      expect(fns(records).slice(-2)).toEqual(['MAPIUninitialize', 'liveObjects']);
      expect(records[records.length - 1]).toMatchObject({ count: 0, buffers: 0 });
      expect(new Set(records.filter((r) => r.thread).map((r) => r.thread)).size).toBe(1);
    });

    test('wrong password: 0x80040111 (MAPI_E_LOGON_FAILED) at MAPILogonEx; the right one then works', async () => {
      const { result, records } = await runScenario(
        'extended',
        {
          steps: [
            { send: { ...base, profile: 'Outlook', password: 'faux' } },
            { send: { ...base, profile: 'Outlook' } },
            { send: { ...base, profile: 'Outlook', password: 'vrai' } },
          ],
        },
        { OXYMAIL_MAPI_PASSWORD: 'vrai' },
      );
      expect(result.results.map((r: any) => [r.hresult, r.call, r.savedToSent])).toEqual([
        [0x80040111, 'MAPILogonEx', false],
        [0x80040111, 'MAPILogonEx', false],
        [0, 'IMessage::SubmitMessage', true],
      ]);
      expect(records.filter((r) => r.fn === 'MAPILogonEx').map((r) => [r.passwordSet, r.passwordMatches, r.session])).toEqual([
        [true, false, 0],
        [false, false, 0],
        [true, true, expect.any(Number)],
      ]);
      expect(JSON.stringify(records)).not.toMatch(/faux|vrai/);
      expect(submits(records)).toHaveLength(1);
    });

    test('no default store, and a store without Sent Items', async () => {
      const { result, records } = await runScenario('extended', {
        steps: [
          { env: { OXYMAIL_MAPI_NO_DEFAULT_STORE: '1' }, send: base },
          { env: { OXYMAIL_MAPI_NO_DEFAULT_STORE: null, OXYMAIL_MAPI_NO_SENT: '1' }, send: { ...base, saveToSent: true } },
        ],
      });
      // MAPI_E_NOT_FOUND: the store table has no PR_DEFAULT_STORE row.
      expect(result.results.map((r: any) => [r.hresult, r.call, r.savedToSent])).toEqual([
        [0x8004010f, 'HrQueryAllRows', false],
        [0, 'IMessage::SubmitMessage', false],
      ]);
      const steps = recordsBySteps(records);
      expect(fns(steps[0])).not.toContain('IMAPISession::OpenMsgStore');
      expect(steps[0]).toContainEqual(expect.objectContaining({ fn: 'liveObjects', count: 0, buffers: 0 }));
      const [submit] = submits(steps[1]);
      expect(submit.props[PR.DELETE_AFTER_SUBMIT]).toBe(true);
      expect(submit.props).not.toHaveProperty(PR.SENTMAIL_ENTRYID);
    });

    test('a failure at each step is reported with its call, and leaks nothing', async () => {
      const { result, records } = await runScenario('extended', (dir: string) => {
        fs.writeFileSync(path.join(dir, 'a.bin'), Buffer.alloc(100_000, 1));
        const request = {
          ...base,
          recipients: [recip(1, 'a', 'a@example.fr'), recip(2, 'b', 'b@example.fr')],
          attachments: [{ path: winPath(path.join(dir, 'a.bin')), name: 'a.bin' }],
        };
        return {
          steps: [
            ...EXTENDED_FAILURE_POINTS.map(([at], i) => ({
              env: { OXYMAIL_MAPI_FAIL_AT: at, OXYMAIL_MAPI_FAIL_HR: '0x' + failureHresult(i).toString(16) },
              send: request,
            })),
            { env: { OXYMAIL_MAPI_FAIL_AT: null }, send: { ...request, attachments: [{ path: winPath(path.join(dir, 'absent.bin')), name: 'x' }] } },
            { send: { ...request, recipients: [] } },
            { send: request },
          ],
        };
      });
      const outcomes = result.results.map((r: any) => [r.hresult, r.call]);
      expect(outcomes).toEqual([
        ...EXTENDED_FAILURE_POINTS.map(([, call], i) => [failureHresult(i), call]),
        [0x80070002, 'CreateFileW'], // HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND)
        [0x80040607, 'IMessage::SubmitMessage'], // MAPI_E_NO_RECIPIENTS
        [0, 'IMessage::SubmitMessage'],
      ]);
      expect(result.results.map((r: any) => r.savedToSent)).toEqual([...outcomes.slice(0, -1).map(() => false), true]);
      const steps = recordsBySteps(records);
      // After logon, a failure drops the session: all it opened is released by then.
      for (let i = 2; i < EXTENDED_FAILURE_POINTS.length + 2; i++) {
        const live = steps[i].filter((r) => r.fn === 'liveObjects');
        expect({ step: i, live }).toEqual({ step: i, live: [expect.objectContaining({ count: 0, buffers: 0, after: 'IMAPISession' })] });
      }
      // Every send after a failure logs on again (step 0 never got that far).
      expect(records.filter((r) => r.fn === 'MAPILogonEx')).toHaveLength(steps.length - 1);
      // A failed MAPIInitialize is retried by the next send; a failed logon opens nothing.
      expect(records.filter((r) => r.fn === 'MAPIInitialize').map((r) => r.return)).toEqual([failureHresult(0), 0]);
      expect(steps[1].filter((r) => r.fn === 'MAPILogonEx')).toEqual([expect.objectContaining({ session: 0, return: failureHresult(1) })]);
      // A missing file is found before any attachment is created.
      expect(fns(steps[EXTENDED_FAILURE_POINTS.length])).not.toContain('IMessage::CreateAttach');
      // The final send logs on again and succeeds; nothing is left at MAPIUninitialize.
      expect(submits(steps[steps.length - 1])).toEqual([expect.objectContaining({ return: 0 })]);
      expect(records[records.length - 1]).toMatchObject({ fn: 'liveObjects', after: 'MAPIUninitialize', count: 0, buffers: 0 });
    });

    test('no address book or no CreateOneOff: sent without PR_ENTRYID; a one-off failing half way leaks nothing', async () => {
      const recipients = [recip(1, 'Élodie 🎉', 'elodie@example.fr'), recip(2, 'Ça Cc', 'cc@example.fr'), recip(3, 'Bcc', 'bcc@example.fr')];
      const request = { ...base, recipients };
      const failOneOff = (hr: string, only: string | null) => ({
        OXYMAIL_MAPI_FAIL_AT: 'IAddrBook::CreateOneOff',
        OXYMAIL_MAPI_FAIL_HR: hr,
        OXYMAIL_MAPI_FAIL_FOR: only,
      });
      const { result, records } = await runScenario('extended', {
        steps: [
          { env: { OXYMAIL_MAPI_NO_ADDRESS_BOOK: '1' }, send: request },
          {
            env: { OXYMAIL_MAPI_NO_ADDRESS_BOOK: null, OXYMAIL_MAPI_FAIL_AT: 'IMAPISession::OpenAddressBook', OXYMAIL_MAPI_FAIL_HR: '0x80004001' },
            send: request,
          },
          { env: { OXYMAIL_MAPI_FAIL_HR: '0x80004005' }, send: request },
          { env: { OXYMAIL_MAPI_FAIL_HR: '0x8007000e' }, send: request },
          // CreateOneOff: not supported for the first recipient, or only for the second (all rows alike then).
          { env: failOneOff('0x80040102', null), send: request },
          { env: failOneOff('0x80040102', 'cc@example.fr'), send: request },
          // A real failure at the third recipient: the first two entry IDs and the address book are freed.
          { env: failOneOff('0x8007000e', 'bcc@example.fr'), send: request },
          { env: { OXYMAIL_MAPI_FAIL_AT: null, OXYMAIL_MAPI_FAIL_FOR: null }, send: request },
        ],
      });
      expect(result.results.map((r: any) => [r.hresult, r.call])).toEqual([
        [0, 'IMessage::SubmitMessage'],
        [0, 'IMessage::SubmitMessage'], // E_NOTIMPL
        [0, 'IMessage::SubmitMessage'], // MAPI_E_CALL_FAILED
        [0x8007000e, 'IMAPISession::OpenAddressBook'],
        [0, 'IMessage::SubmitMessage'],
        [0, 'IMessage::SubmitMessage'],
        [0x8007000e, 'IAddrBook::CreateOneOff'],
        [0, 'IMessage::SubmitMessage'],
      ]);
      const steps = recordsBySteps(records);
      const withoutIds = [row(1, 'Élodie 🎉', 'elodie@example.fr', false), row(2, 'Ça Cc', 'cc@example.fr', false), row(3, 'Bcc', 'bcc@example.fr', false)];
      for (const i of [0, 1, 2, 4, 5]) {
        expect({ i, rows: rows(submits(steps[i])[0]) }).toEqual({ i, rows: withoutIds });
      }
      expect(fns(steps[0])).not.toContain('IAddrBook::CreateOneOff');
      expect(steps[5].filter((r) => r.fn === 'IAddrBook::CreateOneOff').map((r) => r.return)).toEqual([0, 0x80040102]);
      expect(steps[6].filter((r) => r.fn === 'IAddrBook::CreateOneOff').map((r) => r.return)).toEqual([0, 0, 0x8007000e]);
      expect(fns(steps[6])).not.toContain('IMessage::ModifyRecipients');
      // The failures drop the session: the address book and the entry IDs made so far are released by then.
      for (const i of [3, 6]) {
        expect({ i, live: steps[i].filter((r) => r.fn === 'liveObjects') }).toEqual({
          i,
          live: [expect.objectContaining({ count: 0, buffers: 0, after: 'IMAPISession' })],
        });
      }
      expect(rows(submits(steps[7])[0])).toEqual([row(1, 'Élodie 🎉', 'elodie@example.fr'), row(2, 'Ça Cc', 'cc@example.fr'), row(3, 'Bcc', 'bcc@example.fr')]);
      expect(records[records.length - 1]).toMatchObject({ fn: 'liveObjects', after: 'MAPIUninitialize', count: 0, buffers: 0 });
    });

    test('a 64 MiB attachment is streamed in 64 KiB writes without being held in memory', async () => {
      const size = 64 << 20;
      let checksum = 0;
      const { result, records } = await runScenario(
        'extended',
        (dir: string) => {
          const file = path.join(dir, 'big.bin');
          const fd = fs.openSync(file, 'w');
          const chunk = Buffer.alloc(1 << 20);
          for (let i = 0; i < size / chunk.length; i++) {
            for (let j = 0; j < chunk.length; j += 4) chunk.writeUInt32LE((i * 2654435761 + j * 40503) >>> 0, j);
            checksum = crc32(chunk, checksum);
            fs.writeSync(fd, chunk);
          }
          fs.closeSync(fd);
          return {
            steps: [
              { send: base }, // loads MAPI32 and the provider: not part of the measure
              { sampleMemory: true, send: { ...base, attachments: [{ path: winPath(file), name: 'big.bin' }] } },
            ],
          };
        },
        {},
        90_000,
      );
      const sent = result.results[1];
      expect([sent.hresult, sent.call]).toEqual([0, 'IMessage::SubmitMessage']);
      expect(submits(records)[1].attachments).toEqual([
        expect.objectContaining({ bytes: size, writes: size / 65536, maxWrite: 65536, crc32: checksum, committed: true }),
      ]);
      // The node.exe process grows by far less than the file (a few 64 KiB buffers at most).
      const { before, peak, maxRSS } = sent.memory;
      if (process.env.OXYMAIL_TEST_VERBOSE) console.log('64 MiB attachment, node.exe memory:', sent.memory);
      expect(peak - before).toBeLessThan(size / 8);
      expect(maxRSS).toBeLessThan(before + size / 4);
    });

    test('20 concurrent sends are queued: all recorded, in order, never overlapping, on one session', async () => {
      const subjects = Array.from({ length: 20 }, (_, i) => `message ${i + 1}`);
      const { result, records } = await runScenario(
        'extended',
        { steps: [{ concurrent: subjects.map((subject) => ({ ...base, subject })) }] },
        { OXYMAIL_MAPI_SLEEP_MS: '20' },
      );
      const { results, settled } = result.results[0];
      expect(results.map((r: any) => r.hresult)).toEqual(subjects.map(() => 0));
      expect(settled).toEqual(subjects.map((_, i) => i));
      const done = submits(records);
      expect(done.map((r) => r.props[PR.SUBJECT_W])).toEqual(subjects);
      // Each message's calls, from CreateMessage to SubmitMessage, are contiguous.
      const created = records.filter((r) => r.fn === 'IMAPIFolder::CreateMessage').map((r) => r.msg);
      expect(created).toEqual(done.map((r) => r.msg));
      let open: number | undefined;
      for (const r of records) {
        if (r.fn === 'IMAPIFolder::CreateMessage') {
          expect(open).toBeUndefined();
          open = r.msg;
        } else if (r.msg !== undefined) {
          expect(r.msg).toBe(open);
          if (r.fn === 'IMessage::SubmitMessage') open = undefined;
        }
      }
      for (let i = 1; i < done.length; i++) expect(done[i].tStart).toBeGreaterThanOrEqual(done[i - 1].t);
      expect(records.filter((r) => r.fn === 'MAPILogonEx')).toHaveLength(1);
      expect(new Set(records.filter((r) => r.thread).map((r) => r.thread)).size).toBe(1);
    });

    test('node exits by itself with cached sessions (MAPIUninitialize at teardown), and process.exit() mid-send does not wait', async () => {
      const idle = await runScenario('exit', { extended: true, sends: 2, request: base }, {}, 45_000);
      expect([idle.run.timedOut, idle.run.code]).toEqual([false, 0]);
      expect(idle.result.results.map((r: any) => r.hresult)).toEqual([0, 0]);
      expect(fns(idle.records).slice(-4)).toEqual(['IMAPISession::Logoff', 'liveObjects', 'MAPIUninitialize', 'liveObjects']);

      // SubmitMessage takes 10 minutes (recorded once over): the MAPI thread is left behind, exit does not wait
      // for it (the run would be killed at 2 minutes), and MAPI is not uninitialized under it.
      const busy = await runScenario('exit', { extended: true, exitAfterMs: 300, request: base }, { OXYMAIL_MAPI_SLEEP_MS: '600000' }, 120_000);
      expect(busy.result).toEqual({ exiting: true });
      expect([busy.run.timedOut, busy.run.code]).toEqual([false, 7]);
      expect(fns(busy.records)).not.toContain('IMessage::SubmitMessage');
      expect(fns(busy.records)).not.toContain('MAPIUninitialize');
    }, 180_000);

    test('listProfiles: names from the profile table, the default one flagged; failures named', async () => {
      const { result, records } = await runScenario('extended', {
        steps: [
          { env: { OXYMAIL_MAPI_PROFILES: 'Outlook,Profil Été 🎉,Test' }, profiles: {} },
          { env: { OXYMAIL_MAPI_FAIL_AT: 'MAPIAdminProfiles', OXYMAIL_MAPI_FAIL_HR: '0x80040111' }, profiles: {} },
          { env: { OXYMAIL_MAPI_FAIL_AT: 'IProfAdmin::GetProfileTable', OXYMAIL_MAPI_FAIL_HR: '0x8004010f' }, profiles: {} },
          { env: { OXYMAIL_MAPI_FAIL_AT: 'HrQueryAllRows', OXYMAIL_MAPI_FAIL_HR: '0x80004005' }, profiles: {} },
          { env: { OXYMAIL_MAPI_FAIL_AT: null, OXYMAIL_MAPI_PROFILES: null }, profiles: {} },
        ],
      });
      expect(result.results).toEqual([
        {
          hresult: 0,
          call: 'HrQueryAllRows',
          dll: expect.stringMatching(/mapi32\.dll$/i),
          profiles: [
            { name: 'Outlook', isDefault: true },
            { name: 'Profil Été 🎉', isDefault: false },
            { name: 'Test', isDefault: false },
          ],
        },
        { hresult: 0x80040111, call: 'MAPIAdminProfiles', dll: expect.stringMatching(/mapi32\.dll$/i), profiles: [] },
        { hresult: 0x8004010f, call: 'IProfAdmin::GetProfileTable', dll: expect.stringMatching(/mapi32\.dll$/i), profiles: [] },
        { hresult: 0x80004005, call: 'HrQueryAllRows', dll: expect.stringMatching(/mapi32\.dll$/i), profiles: [] },
        { hresult: 0, call: 'HrQueryAllRows', dll: expect.stringMatching(/mapi32\.dll$/i), profiles: [{ name: 'Outlook', isDefault: true }] },
      ]);
      expect(records.filter((r) => r.fn === 'MAPIInitialize')).toHaveLength(1);
      expect(records.filter((r) => r.fn === 'MAPILogonEx')).toHaveLength(0);
      expect(records[records.length - 1]).toMatchObject({ fn: 'liveObjects', after: 'MAPIUninitialize', count: 0, buffers: 0 });
    });

    test('dllPath: the provider loaded directly; LoadLibraryW and GetProcAddress failures as HRESULTs', async () => {
      const { result, records } = await runScenario('extended', {
        steps: [
          { send: { ...base, dllPath: winPath(CLIENT_DLL.wide) } },
          { profiles: { dllPath: winPath(CLIENT_DLL.wide) } },
          { send: { ...base, dllPath: 'Z:\\no\\such\\mapi.dll' } },
          { profiles: { dllPath: 'Z:\\no\\such\\mapi.dll' } },
          // Loads, but exports no MAPI function; the ANSI client has no Extended MAPI.
          { send: { ...base, dllPath: 'C:\\windows\\system32\\kernel32.dll' } },
          { send: { ...base, dllPath: winPath(CLIENT_DLL.ansi) } },
        ],
      });
      expect(result.results).toEqual([
        { hresult: 0, call: 'IMessage::SubmitMessage', savedToSent: true, dll: winPath(CLIENT_DLL.wide) },
        { hresult: 0, call: 'HrQueryAllRows', dll: winPath(CLIENT_DLL.wide), profiles: [{ name: 'Outlook', isDefault: true }] },
        { hresult: 0x8007007e, call: 'LoadLibraryW', savedToSent: false, dll: 'Z:\\no\\such\\mapi.dll' },
        { hresult: 0x8007007e, call: 'LoadLibraryW', dll: 'Z:\\no\\such\\mapi.dll', profiles: [] },
        { hresult: 0x8007007f, call: 'GetProcAddress', savedToSent: false, dll: expect.stringMatching(/kernel32\.dll$/i) },
        { hresult: 0x8007007f, call: 'GetProcAddress', savedToSent: false, dll: winPath(CLIENT_DLL.ansi) },
      ]);
      expect(submits(records)).toHaveLength(1);
      expect(records[records.length - 1]).toMatchObject({ fn: 'liveObjects', after: 'MAPIUninitialize', count: 0 });
    });

    test('argument mistakes throw a TypeError synchronously', async () => {
      const { result } = await runScenario('types', {
        fn: 'sendExtended',
        cases: [
          { name: 'no object', raw: 'mail' },
          { name: 'subject missing', remove: ['subject'] },
          { name: 'importance 3', override: { importance: 3 } },
          { name: 'importance 1.5', override: { importance: 1.5 } },
          { name: 'importance as string', override: { importance: '1' } },
          { name: 'saveToSent missing', remove: ['saveToSent'] },
          { name: 'deliveryReport not boolean', override: { deliveryReport: 1 } },
          { name: 'uiParam as number', uiParamNumber: 5 },
          { name: 'password not string', override: { password: 1 } },
          { name: 'recipClass 0', override: { recipients: [{ recipClass: 0, name: 'a', address: 'a@b.c' }] } },
          { name: 'attachment without name', override: { attachments: [{ path: 'C:\\a' }] } },
          { name: 'NUL in subject', override: { subject: 'a\u0000b' } },
          { name: 'valid', override: { dllPath: 'Z:\\no\\such.dll' } },
        ],
      });
      const { result: profiles } = await runScenario('types', {
        fn: 'listProfiles',
        cases: [
          { name: 'no object', raw: 1 },
          { name: 'dllPath not string', override: { dllPath: 7 } },
          { name: 'valid', override: { dllPath: 'Z:\\no\\such.dll' } },
        ],
      });
      for (const outcomes of [result.outcomes, profiles.outcomes] as any[][]) {
        for (const o of outcomes.slice(0, -1)) {
          expect({ name: o.name, threw: o.threw, errorName: o.errorName }).toEqual({ name: o.name, threw: true, errorName: 'TypeError' });
        }
        expect(outcomes[outcomes.length - 1]).toEqual({ name: 'valid', threw: false, promise: true });
      }
    });

    describe('default mail client registration', () => {
      afterAll(() => registerClient('wide'));

      test("a client without DLLPathEx: Wine's MAPIInitialize answers 0x80040605 (MAPI_E_NOT_INITIALIZED)", async () => {
        await registerClient('ansi');
        const { result, records } = await runScenario('extended', { steps: [{ send: base }, { profiles: {} }] });
        expect(result.results).toEqual([
          { hresult: 0x80040605, call: 'MAPIInitialize', savedToSent: false, dll: expect.stringMatching(/mapi32\.dll$/i) },
          { hresult: 0x80040605, call: 'MAPIInitialize', dll: expect.stringMatching(/mapi32\.dll$/i), profiles: [] },
        ]);
        expect(records).toEqual([
          { fn: 'step', i: 0 },
          { fn: 'step', i: 1 },
        ]);
        await unregisterClient();
        const none = await runScenario('extended', { steps: [{ send: base }] });
        expect(none.result.results[0]).toMatchObject({ hresult: 0x80040605, call: 'MAPIInitialize' });
      });
    });
  });
}
