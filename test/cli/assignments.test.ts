/**
 * `key=value` assignments and dotted paths in this process: the CLI runs in a child process in the
 * other suites, so only here can a polluted Object.prototype be seen.
 */
import { CommanderError } from 'commander';
import * as path from 'node:path';
import { main } from '../../lib/cli/main';
import { keyKind, parseAssignment } from '../../lib/cli/settings-commands';
import { getPath, setPath } from '../../lib/store/paths';
import { tempDir } from '../helpers/fixtures';

const POLLUTING = ['__proto__.polluted', 'constructor.prototype.polluted', 'smtp.__proto__.polluted', 'toString', 'hasOwnProperty.polluted'];

function expectClean(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
}

afterEach(() => {
  delete (Object.prototype as Record<string, unknown>).polluted; // so that one failure does not fail the rest
  jest.restoreAllMocks();
});

test.each(POLLUTING)('%s is no setting: keyKind says so and parseAssignment refuses it (a usage error, exit 2)', (key) => {
  expect(keyKind(key)).toBeUndefined();
  let thrown: unknown;
  try {
    parseAssignment(`${key}=1`);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CommanderError);
  expect(thrown).toMatchObject({ exitCode: 2, message: expect.stringContaining(`unknown setting '${key}'`) });
  expectClean();
});

test('a known key is typed by the schema', () => {
  expect(parseAssignment('smtp.port=587')).toEqual(['smtp.port', 587]);
  expect(parseAssignment('customize=true')).toEqual(['customize', true]);
  expect(parseAssignment('label=a=b')).toEqual(['label', 'a=b']);
});

test.each(POLLUTING)('setPath/getPath with %s only ever touch own properties', (key) => {
  const o: Record<string, unknown> = {};
  setPath(o, key, 1);
  expectClean();
  expect(getPath(o, key)).toBe(1); // an own property named so, nothing more
  expect(getPath({}, key)).toBeUndefined(); // inherited names are not read either
  setPath(o, key, undefined);
  expect(getPath(o, key)).toBeUndefined();
  expectClean();
});

test('the whole `settings set` command, run in this process with polluting keys, exits 2 and pollutes nothing', async () => {
  const store = path.join(tempDir(), 'users.json');
  jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  for (const key of POLLUTING) {
    expect(await main(['node', 'oxymail', '--store', store, 'settings', 'set', 'alice', 'email=a@example.com', `${key}=1`])).toBe(2);
    expectClean();
  }
});
