/**
 * The settings store: every user's UserMailSettings in one JSON file, as user management keeps
 * them. Every write is validated, locked against other processes, atomic (temp file + rename, so
 * a crash mid-write leaves the previous file whole) and keeps the previous version as `.bak`.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { failWithProblems, MailError, Problem } from '../errors';
import { createMailer, Mailer, MailerOptions } from '../mailer';
import { maskSecrets, parseSettingsJson, SECRET_PATHS, UserMailSettings, validateSettings } from '../settings';
import { withLock } from './lock';
import { defaultCodec, SecretCodec } from './secrets';

/** The format version this oxymail writes. */
export const STORE_VERSION = 1;

/** The file as it is on disk (secrets sealed). */
interface StoreFile {
  version: number;
  users: Record<string, Record<string, unknown>>;
}

/**
 * Migrations from each older format to the next. Version 0 was a bare `{ userId: settings }` map
 * with no envelope; every later change of the format adds a step here, and files are upgraded
 * when next written.
 */
const MIGRATIONS: Record<number, (doc: Record<string, unknown>) => Record<string, unknown>> = {
  0: (doc) => ({ version: 1, users: doc }),
};

/** One stored user in a listing, secrets masked. */
export interface StoredUser {
  userId: string;
  settings: UserMailSettings;
}

/** The store's operations. */
export interface SettingsStore {
  readonly path: string;
  /** How secrets are protected on disk here. */
  readonly secrets: SecretCodec['kind'];
  /** Every user, secrets masked. */
  list(): Promise<StoredUser[]>;
  /** One user's settings with secrets decrypted (for this process only), or undefined. */
  get(userId: string): Promise<UserMailSettings | undefined>;
  /** Validates and stores a user's settings; returns them normalised. */
  set(userId: string, settings: unknown): Promise<UserMailSettings>;
  /** Validates every user first (all problems listed), then stores them in one write. */
  setMany(users: Record<string, unknown>): Promise<Record<string, UserMailSettings>>;
  /** Removes a user; false when there was none. */
  remove(userId: string): Promise<boolean>;
  /** A mailer with the user's stored settings. */
  mailerFor(userId: string, options?: MailerOptions): Promise<Mailer>;
}

/** `%APPDATA%\oxymail\users.json`, `$XDG_CONFIG_HOME/oxymail/users.json`, or OXYMAIL_SETTINGS. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.OXYMAIL_SETTINGS) return env.OXYMAIL_SETTINGS;
  if (platform === 'win32') return path.win32.join(env.APPDATA ?? path.win32.join(os.homedir(), 'AppData', 'Roaming'), 'oxymail', 'users.json');
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'oxymail', 'users.json');
}

function checkUserId(userId: unknown): string {
  if (typeof userId !== 'string' || !/^[^\x00-\x1f\x7f]{1,128}$/.test(userId)) {
    throw new TypeError('settings: a user id is 1 to 128 printable characters');
  }
  return userId;
}

const getPath = (o: Record<string, unknown>, p: string) =>
  p.split('.').reduce<unknown>((n, k) => (n && typeof n === 'object' ? (n as Record<string, unknown>)[k] : undefined), o);
function setPath(o: Record<string, unknown>, p: string, value: unknown): void {
  const keys = p.split('.');
  const parent = keys.slice(0, -1).reduce<Record<string, unknown>>((n, k) => n[k] as Record<string, unknown>, o);
  parent[keys[keys.length - 1]] = value;
}

/** Opens (without reading yet) the store at `file` (default: defaultStorePath()). */
export function openSettingsStore(file?: string, options: { codec?: SecretCodec } = {}): SettingsStore {
  const storePath = path.resolve(file ?? defaultStorePath());
  const codec = options.codec ?? defaultCodec();

  async function read(): Promise<StoreFile> {
    let text: string;
    try {
      text = await fs.readFile(storePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: STORE_VERSION, users: {} };
      throw err;
    }
    let doc = parseSettingsJson(text, `${storePath} (nothing was overwritten; the previous version is in ${storePath}.bak)`) as Record<string, unknown>;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      return failWithProblems('INVALID_SETTINGS', `settings: ${storePath} is not a settings file`, [{ path: '(file)', message: 'must be a JSON object' }]);
    }
    let version = typeof doc.version === 'number' ? doc.version : 0;
    if (version > STORE_VERSION) {
      throw new MailError(
        'INVALID_SETTINGS',
        `settings: ${storePath} has format version ${version}, written by a newer oxymail (this one reads up to ${STORE_VERSION})`,
        {
          hint: 'Upgrade oxymail on this machine.',
        },
      );
    }
    for (; version < STORE_VERSION; version++) doc = MIGRATIONS[version](doc);
    const users = doc.users as StoreFile['users'];
    if (!users || typeof users !== 'object' || Array.isArray(users)) {
      return failWithProblems('INVALID_SETTINGS', `settings: ${storePath} is not a settings file`, [{ path: 'users', message: 'must be an object' }]);
    }
    return { version: STORE_VERSION, users };
  }

  /** Opens the sealed secrets and validates one user's stored settings. */
  async function decode(userId: string, raw: Record<string, unknown>): Promise<UserMailSettings> {
    const copy = structuredClone(raw);
    for (const p of SECRET_PATHS) {
      const value = getPath(copy, p);
      if (value !== undefined) setPath(copy, p, await codec.open(value, `users.${userId}.${p}`));
    }
    try {
      return validateSettings(copy);
    } catch (err) {
      const problems = ((err as MailError).problems ?? []).map((pr: Problem) => ({ ...pr, path: `users.${userId}.${pr.path}` }));
      return failWithProblems('INVALID_SETTINGS', `settings: ${storePath} holds invalid settings (nothing was overwritten)`, problems);
    }
  }

  async function encode(settings: UserMailSettings): Promise<Record<string, unknown>> {
    const copy = structuredClone(settings) as unknown as Record<string, unknown>;
    for (const p of SECRET_PATHS) {
      const value = getPath(copy, p);
      if (typeof value === 'string') setPath(copy, p, await codec.seal(value));
    }
    return copy;
  }

  async function write(doc: StoreFile): Promise<void> {
    const tmp = `${storePath}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(doc, null, 2)}\n`);
      // On disk before the rename: after a power cut the new name never points at empty data.
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.copyFile(storePath, `${storePath}.bak`).catch((err) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await fs.rename(tmp, storePath);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  /** Read, change, write under the lock: a concurrent writer never loses an update. */
  async function update<T>(change: (doc: StoreFile) => Promise<T>): Promise<T> {
    await fs.mkdir(path.dirname(storePath), { recursive: true, mode: 0o700 });
    return withLock(storePath, async () => {
      const doc = await read();
      // Every user must still be valid: a write never buries a broken file under a new one.
      for (const [id, raw] of Object.entries(doc.users)) await decode(id, raw);
      const result = await change(doc);
      await write(doc);
      return result;
    });
  }

  return {
    path: storePath,
    secrets: codec.kind,
    async list() {
      const doc = await read();
      const out: StoredUser[] = [];
      for (const [userId, raw] of Object.entries(doc.users)) out.push({ userId, settings: maskSecrets(await decode(userId, raw)) });
      return out.sort((a, b) => a.userId.localeCompare(b.userId));
    },
    async get(userId) {
      const raw = (await read()).users[checkUserId(userId)];
      return raw === undefined ? undefined : decode(userId, raw);
    },
    async set(userId, settings) {
      checkUserId(userId);
      const valid = validateSettings(settings);
      await update(async (doc) => {
        doc.users[userId] = await encode(valid);
      });
      return valid;
    },
    async setMany(users) {
      const valid: Record<string, UserMailSettings> = {};
      const problems: Problem[] = [];
      for (const [userId, settings] of Object.entries(users)) {
        checkUserId(userId);
        try {
          valid[userId] = validateSettings(settings);
        } catch (err) {
          if (!(err instanceof MailError) || !err.problems) throw err;
          problems.push(...err.problems.map((pr) => ({ ...pr, path: `users.${userId}.${pr.path}` })));
        }
      }
      if (problems.length) failWithProblems('INVALID_SETTINGS', 'settings: nothing was imported', problems);
      await update(async (doc) => {
        for (const [userId, settings] of Object.entries(valid)) doc.users[userId] = await encode(settings);
      });
      return valid;
    },
    async remove(userId) {
      checkUserId(userId);
      return update(async (doc) => {
        if (!(userId in doc.users)) return false;
        delete doc.users[userId];
        return true;
      });
    },
    async mailerFor(userId, mailerOptions) {
      const settings = await this.get(userId);
      if (!settings) {
        throw new MailError('SETTINGS_NOT_FOUND', `settings: no settings for user '${userId}' in ${storePath}`, {
          hint: `Create them with: oxymail settings set ${userId} email=... customize=true protocol=smtp smtp.host=...`,
        });
      }
      return createMailer(settings, mailerOptions);
    },
  };
}
