/**
 * The settings store under Windows (node.exe under Wine): secrets are sealed with DPAPI
 * (CryptProtectData) on disk and opened for the process that asks.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PACKAGE, runScenario, runUnderWine, winPath, wineReady } from './harness';

/**
 * A store holding a secret that this Windows user cannot open (a blob from another user: here, not
 * a DPAPI blob at all) and a password written by hand in clear, worked on with the real codec.
 */
const CARRY_SCRIPT = `
'use strict';
const fs = require('fs');
const [distPath, resultPath, file] = process.argv.slice(2);
const { openSettingsStore } = require(distPath);
(async () => {
  const foreign = { dpapi: Buffer.from('a blob sealed by another Windows user').toString('base64') };
  fs.writeFileSync(file, JSON.stringify({ version: 1, users: {
    alice: { email: 'alice@example.com', customize: true, protocol: 'smtp',
             smtp: { host: 'smtp.example.com', port: 587, username: 'alice', password: 'hand-written' },
             mapi: { profile: 'Outlook', password: foreign } },
    bob: { email: 'bob@example.com' } } }));
  const store = openSettingsStore(file);
  const listed = await store.list();
  await store.update('alice', (s) => ({ ...s, label: 'Alice' }));
  const disk = JSON.parse(fs.readFileSync(file, 'utf8'));
  const readable = await store.getReadable('alice');
  const get = await store.get('alice').then(() => null, (e) => ({ code: e.code, message: e.message, hint: e.hint }));
  await store.update('alice', (s) => ({ ...s, mapi: { ...s.mapi, password: 'new-mapi-pw' } }));
  const repaired = await store.get('alice');
  return { kind: store.secrets, listed, foreign, disk, readable: { password: readable.settings.smtp.password, unreadable: readable.unreadable.map((u) => [u.path, u.error.code]) }, get,
           repaired: { smtp: repaired.smtp.password, mapi: repaired.mapi.password } };
})().then((r) => fs.writeFileSync(resultPath, JSON.stringify(r)), (e) => fs.writeFileSync(resultPath, JSON.stringify({ error: { message: e.message, stack: e.stack } })));
`;

jest.setTimeout(120_000);

if (wineReady('settings store under Windows (Wine)')) {
  describe('settings store under Windows (Wine)', () => {
    test('secrets are DPAPI-sealed on disk, opened by get(), masked by list(); a bad blob is SECRET_UNREADABLE', async () => {
      const { result, run } = await runScenario('store', (dir: string) => ({
        file: winPath(path.join(dir, 'users.json')),
        password: 'Sm7p-Päss-éà',
        mapiPassword: 'mapi-secret-42',
      }));
      expect(result.error).toBeUndefined();
      expect(run.code).toBe(0);
      expect(result.kind).toBe('dpapi');
      expect(result.disk).not.toContain('Sm7p-Päss-éà');
      expect(result.disk).not.toContain('mapi-secret-42');
      const disk = JSON.parse(result.disk);
      expect(disk.users.alice.smtp.password).toEqual({ dpapi: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) });
      expect(disk.users.alice.mapi.password).toEqual({ dpapi: expect.any(String) });
      expect(result.password).toBe('Sm7p-Päss-éà');
      expect(result.mapiPassword).toBe('mapi-secret-42');
      expect(JSON.stringify(result.listed)).not.toMatch(/Sm7p|mapi-secret/);
      expect(result.broken).toMatchObject({
        code: 'SECRET_UNREADABLE',
        message: expect.stringMatching(/users\.alice\.smtp\.password/),
        hint: expect.stringMatching(/Windows user/),
      });
    });

    test('a secret this user cannot open: list and updates work without opening it, the blob is kept as is, a clear one is sealed', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oxymail-store-carry-'));
      const script = path.join(dir, 'carry.js');
      const resultFile = path.join(dir, 'result.json');
      fs.writeFileSync(script, CARRY_SCRIPT);
      const run = await runUnderWine(script, [winPath(path.join(PACKAGE, 'dist')), winPath(resultFile), winPath(path.join(dir, 'users.json'))]);
      const result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
      expect(result.error).toBeUndefined();
      expect(run.code).toBe(0);
      expect(result.kind).toBe('dpapi');
      expect(result.listed.map((u: any) => [u.userId, u.settings.mapi?.password])).toEqual([
        ['alice', '********'],
        ['bob', undefined],
      ]);
      expect(result.disk.users.alice.mapi.password).toEqual(result.foreign); // carried over, never opened
      expect(result.disk.users.alice.smtp.password).toEqual({ dpapi: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/) }); // sealed at this write
      expect(JSON.stringify(result.disk)).not.toContain('hand-written');
      expect(result.readable).toEqual({ password: 'hand-written', unreadable: [['mapi.password', 'SECRET_UNREADABLE']] });
      expect(result.get).toMatchObject({
        code: 'SECRET_UNREADABLE',
        message: expect.stringMatching(/users\.alice\.mapi\.password cannot be decrypted \(CryptUnprotectData\)/),
        hint: expect.stringMatching(/oxymail settings set alice --secret-stdin mapi\.password/),
      });
      expect(result.repaired).toEqual({ smtp: 'hand-written', mapi: 'new-mapi-pw' });
    });
  });
}
