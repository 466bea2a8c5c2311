/**
 * The settings store under Windows (node.exe under Wine): secrets are sealed with DPAPI
 * (CryptProtectData) on disk and opened for the process that asks.
 */
import * as path from 'path';
import { runScenario, winPath, wineReady } from './harness';

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
  });
}
