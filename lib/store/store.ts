/**
 * The settings store: every user's UserMailSettings in one JSON file, as user management keeps
 * them. Every write is validated, locked against other processes, atomic (temp file + rename, so
 * a crash mid-write leaves the previous file whole) and keeps the previous version as `.bak`.
 *
 * Secrets are decrypted only by get() (and mailerFor()): listing, validating, or rewriting a user
 * whose secret is carried over never opens it, so one secret that cannot be opened here (a DPAPI
 * blob from another Windows user) never makes the rest of the store unusable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { failWithProblems, MailError, Problem, problem, problemAt } from '../errors';
import { format, Text, text } from '../i18n';
import { createMailer, Mailer, MailerOptions } from '../mailer';
import { MASK, maskSecrets, parseSettingsJson, SECRET_PATHS, UserMailSettings, validateSettings } from '../settings';
import { userOutboxOption } from '../outbox/paths';
import { alive, LockOptions, withLock } from './lock';
import { canonical, getPath, isObject, setPath } from './paths';
import { defaultCodec, SealedSecret, SecretCodec, storedSecretProblem } from './secrets';
import { createTokenSource, IssuedTokens, OAuth2TokenSource, SavedAccess, SharedRefresh } from '../oauth/token-source';

import { STORE_VERSION } from './version';
export { STORE_VERSION };

type Raw = Record<string, unknown>;

/** The file as it is on disk (secrets sealed); users in a Map, so no user id can reach a prototype. */
interface StoreFile {
  version: number;
  users: Map<string, Raw>;
}

/**
 * Migrations from each older format to the next. Version 0 was a bare `{ userId: settings }` map
 * with no envelope; every later change of the format adds a step here, and files are upgraded
 * when next written.
 */
const MIGRATIONS = new Map<number, (doc: Raw) => Raw>([
  [
    0,
    (doc) => {
      const users = { ...doc };
      delete users.version;
      return { version: 1, users };
    },
  ],
]);

/** One stored user in a listing, secrets masked. */
export interface StoredUser {
  userId: string;
  settings: UserMailSettings;
}

/** What get() does with secrets: open them (the default), or leave them masked without opening them. */
export interface GetOptions {
  secrets?: 'open' | 'mask';
}

/** A user's settings with every secret that opens here, and the errors of those that do not (left masked). */
export interface ReadableSettings {
  settings: UserMailSettings;
  /** Each secret that cannot be opened here: its dotted path (`smtp.password`) and its SECRET_UNREADABLE error. */
  unreadable: { path: string; error: MailError }[];
}

/**
 * Receives the user's current settings with secrets masked (undefined for a new user) and returns
 * the new settings. A secret left as the mask (`********`) keeps the stored one, a string
 * replaces it, a missing one is removed.
 */
export type UpdateFn = (current: UserMailSettings | undefined) => unknown;

/** The store's operations. */
export interface SettingsStore {
  readonly path: string;
  /** How secrets are protected on disk here. */
  readonly secrets: SecretCodec['kind'];
  /** Every user, secrets masked (never decrypted). */
  list(): Promise<StoredUser[]>;
  /**
   * One user's settings, or undefined. Secrets are decrypted for this process only (SECRET_UNREADABLE
   * when one cannot be opened here), or masked with `{ secrets: 'mask' }`.
   */
  get(userId: string, options?: GetOptions): Promise<UserMailSettings | undefined>;
  /** Like get(), but a secret that cannot be opened here is masked and its error returned instead of thrown. */
  getReadable(userId: string): Promise<ReadableSettings | undefined>;
  /**
   * Validates and stores a user's settings; returns them normalised. A secret given as the mask
   * keeps the stored one (so listed settings can be written back without losing passwords).
   */
  set(userId: string, settings: unknown): Promise<UserMailSettings>;
  /**
   * Reads the user, applies `change` and writes the result, all under the lock: a concurrent
   * writer never loses an update. Nothing is written when nothing changed. Returns the saved
   * settings, secrets masked.
   */
  update(userId: string, change: UpdateFn): Promise<UserMailSettings>;
  /**
   * Like update() for several users in one locked write: `change` receives every user (secrets
   * masked) and returns the users to add or replace. All are validated before anything is written.
   */
  updateMany(
    change: (users: Record<string, UserMailSettings>) => Record<string, unknown> | Promise<Record<string, unknown>>,
  ): Promise<Record<string, UserMailSettings>>;
  /** Validates every user first (all problems listed), then stores them in one write. */
  setMany(users: Record<string, unknown>): Promise<Record<string, UserMailSettings>>;
  /** Removes a user; false when there was none. */
  remove(userId: string): Promise<boolean>;
  /** A mailer with the user's stored settings; with smtp.oauth2, a rotated refresh token is saved back here. */
  mailerFor(userId: string, options?: MailerOptions): Promise<Mailer>;
  /**
   * The OAuth2 token source of a user with smtp.oauth2 (undefined without), which saves a rotated
   * refresh token back here; mailerFor() uses the same.
   */
  tokenSourceFor(userId: string, options?: { onTokens?: MailerOptions['onTokens'] }): Promise<OAuth2TokenSource | undefined>;
  /** Saves a new refresh token for the user (after a sign-in or a rotation); `undefined` forgets it. */
  saveRefreshToken(userId: string, refreshToken: string | undefined): Promise<void>;
}

/** Options of openSettingsStore. */
export interface StoreOptions {
  codec?: SecretCodec;
  /** How long a write waits for another process's lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Called when a write has to wait for another process's lock (for a progress message). */
  onLockWait?: (holder: string) => void;
}

/** `%APPDATA%\oxymail\users.json`, `$XDG_CONFIG_HOME/oxymail/users.json`, or OXYMAIL_SETTINGS. */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (env.OXYMAIL_SETTINGS) return env.OXYMAIL_SETTINGS;
  if (platform === 'win32') return path.win32.join(env.APPDATA ?? path.win32.join(os.homedir(), 'AppData', 'Roaming'), 'oxymail', 'users.json');
  return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(os.homedir(), '.config'), 'oxymail', 'users.json');
}

/** Names every plain object inherits (`__proto__`, `constructor`, `toString`...): refused as user ids. */
const RESERVED_IDS = new Set([...Object.getOwnPropertyNames(Object.prototype), '__proto__', 'prototype']);

/**
 * The characters a user id may hold: letters and digits of any script (with their combining
 * marks), and space . _ @ + - ' inside. No control, bidi, zero-width or other invisible character:
 * an id is printed in terminals and hints, and two ids that look the same must be the same.
 */
const USER_ID = /^[\p{L}\p{N}](?:[\p{L}\p{M}\p{N} ._@+'-]{0,126}[\p{L}\p{M}\p{N}._@+'-])?$/u;

/** Why `userId` cannot be a user id, or undefined when it can. */
export function userIdProblem(userId: unknown): string | undefined {
  const wrong = userIdText(userId);
  return wrong && format(wrong);
}

/** Why `userId` cannot be a user id, as a catalog Text. */
function userIdText(userId: unknown): Text | undefined {
  if (typeof userId === 'string' && RESERVED_IDS.has(userId)) return text('INVALID_SETTINGS.userIdReserved', { id: userId });
  if (typeof userId !== 'string' || !USER_ID.test(userId)) return text('INVALID_SETTINGS.userId');
  return undefined;
}

function checkUserId(userId: unknown): string {
  const problem = userIdProblem(userId);
  if (problem) throw new TypeError(`settings: ${problem}`);
  return userId as string;
}

/** Two users are the same on disk when their canonical JSON is (key order and object realms aside). */
const same = (a: unknown, b: unknown) => a !== undefined && b !== undefined && canonical(a) === canonical(b);

/**
 * A user id as a command-line word for the commands a hint suggests: bare when it can be, else in
 * double quotes (which cmd, PowerShell and POSIX shells all read the same way when the id holds no
 * `"`, `$`, backquote, `%`, `!` or backslash), else in POSIX single quotes.
 */
export function shellWord(s: string): string {
  if (/^\w[\w@.+-]*$/.test(s)) return s;
  if (!/["$`%!\\]/.test(s)) return `"${s}"`;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The hint's fix for an unreadable secret: set it again. --secret-stdin prompts on a terminal, so
 * the command works as is in cmd and PowerShell too (where DPAPI secrets live); README gives the
 * piped form for scripts.
 */
export function setAgain(userId: string, secretPath: string): string {
  return format(setAgainText(userId, secretPath));
}

function setAgainText(userId: string, secretPath: string): Text {
  return text('SECRET_UNREADABLE.setAgain', { user: shellWord(userId), path: secretPath });
}

/** A settings file is small: anything bigger, or nested deeper, is not one (and is not parsed). */
const MAX_STORE_BYTES = 64 * 1024 * 1024;
/** How long a process waits for another one's OAuth2 refresh of the same store (one provider request). */
const REFRESH_LOCK_TIMEOUT_MS = 60_000;
const MAX_STORE_DEPTH = 64;

/** The deepest nesting of brackets in JSON text (strings skipped), without parsing it. */
export function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * The store must be a regular file, not a symlink: a users.json that links elsewhere is refused
 * rather than followed (a write would land in the link's target, and a rename would silently
 * replace the link). True when it exists, false when it does not.
 */
async function checkRegularFile(file: string): Promise<boolean> {
  let stat;
  try {
    stat = await fs.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (stat.isSymbolicLink()) {
    throw new MailError('STORE_ACCESS', text('STORE_ACCESS.symlink', { file }), {
      hint: text('STORE_ACCESS.hint.symlink', { file }),
    });
  }
  if (!stat.isFile()) {
    throw new MailError('STORE_ACCESS', text('STORE_ACCESS.notFile', { file }), {
      hint: text('STORE_ACCESS.hint.notFile', { file }),
    });
  }
  return true;
}

/** A file-system failure on the store as a MailError with a code and a hint. */
function storeAccessError(err: unknown, file: string, op: string): MailError {
  if (err instanceof MailError) return err;
  const code = (err as NodeJS.ErrnoException)?.code;
  // A file of its own beside the store (the lock, a temp file): the folder is what may not be written.
  const at = (err as NodeJS.ErrnoException)?.path;
  const beside = op !== 'read' && typeof at === 'string' && at !== file && path.dirname(at) === path.dirname(file);
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? beside
        ? text('STORE_ACCESS.hint.mayNotWriteFolder', { folder: path.dirname(file) })
        : text(op === 'read' ? 'STORE_ACCESS.hint.mayNotRead' : 'STORE_ACCESS.hint.mayNotWrite', { file })
      : code === 'EISDIR'
        ? text('STORE_ACCESS.hint.folder', { file })
        : code === 'ENOSPC'
          ? text('STORE_ACCESS.hint.diskFull')
          : text('STORE_ACCESS.hint.check', { file });
  return new MailError('STORE_ACCESS', text('STORE_ACCESS', { op, file, error: (err as Error)?.message ?? String(err) }), { cause: err, hint });
}

/**
 * withLock, with its own file-system failures (the lock file cannot be created in a folder this
 * account may not write, a read-only or full disk) as STORE_ACCESS; the work's errors pass unchanged.
 */
async function lockedStore<T>(storePath: string, lockName: string, work: () => Promise<T>, options: LockOptions): Promise<T> {
  let working = false;
  try {
    return await withLock(
      lockName,
      () => {
        working = true;
        return work();
      },
      options,
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (working || err instanceof MailError || typeof e?.code !== 'string' || typeof e.syscall !== 'string') throw err;
    throw storeAccessError(err, storePath, 'write');
  }
}

const invalidSettings = (file: string, problems: Problem[]): never => failWithProblems('INVALID_SETTINGS', text('INVALID_SETTINGS.store', { file }), problems);

/** Opens (without reading yet) the store at `file` (default: defaultStorePath()). */
export function openSettingsStore(file?: string, options: StoreOptions = {}): SettingsStore {
  const storePath = path.resolve(file ?? defaultStorePath());
  const codec = options.codec ?? defaultCodec();

  async function read(): Promise<StoreFile> {
    let content: string;
    try {
      if (!(await checkRegularFile(storePath))) return { version: STORE_VERSION, users: new Map() };
      content = await fs.readFile(storePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: STORE_VERSION, users: new Map() };
      throw storeAccessError(err, storePath, 'read');
    }
    if (content.length > MAX_STORE_BYTES) {
      return invalidSettings(storePath, [problem('(file)', text('INVALID_SETTINGS.storeSize', { max: MAX_STORE_BYTES }))]);
    }
    const depth = nestingDepth(content);
    if (depth > MAX_STORE_DEPTH) {
      return invalidSettings(storePath, [problem('(file)', text('INVALID_SETTINGS.storeDepth', { depth, max: MAX_STORE_DEPTH }))]);
    }
    let doc = parseSettingsJson(content, text('INVALID_SETTINGS.storeFile', { file: storePath })) as Raw;
    if (!isObject(doc)) return invalidSettings(storePath, [problem('(file)', text('INVALID_SETTINGS.jsonObject'))]);
    let version = 0;
    if (Object.hasOwn(doc, 'version')) {
      const v = doc.version;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        return invalidSettings(storePath, [problem('version', text('INVALID_SETTINGS.versionRange', { max: STORE_VERSION }))]);
      }
      if (v > STORE_VERSION) {
        throw new MailError('INVALID_SETTINGS', text('INVALID_SETTINGS.newerVersion', { file: storePath, version: v, max: STORE_VERSION }), {
          hint: text('INVALID_SETTINGS.hint.upgrade'),
          problems: [problem('version', text('INVALID_SETTINGS.versionMax', { max: STORE_VERSION }))],
        });
      }
      version = v;
    }
    for (; version < STORE_VERSION; version++) doc = (MIGRATIONS.get(version) as (d: Raw) => Raw)(doc);
    if (!isObject(doc.users)) return invalidSettings(storePath, [problem('users', text('INVALID_SETTINGS.object'))]);
    return { version: STORE_VERSION, users: new Map(Object.entries(doc.users) as [string, Raw][]) };
  }

  /** Validates one stored user without opening a secret: each secret's shape is checked, then masked. */
  function view(userId: string, raw: unknown): UserMailSettings {
    const at = (p: string) => `users.${userId}.${p}`;
    if (!isObject(raw)) return invalidSettings(storePath, [problem(`users.${userId}`, text('INVALID_SETTINGS.object'))]);
    const copy = structuredClone(raw);
    const problems: Problem[] = [];
    for (const p of SECRET_PATHS) {
      const value = getPath(copy, p);
      if (value === undefined) continue;
      const shape = storedSecretProblem(value);
      if (shape) problems.push(problem(at(p), shape));
      setPath(copy, p, MASK);
    }
    let settings: UserMailSettings;
    try {
      settings = validateSettings(copy);
    } catch (err) {
      if (!(err instanceof MailError) || err.code !== 'INVALID_SETTINGS') throw err;
      return invalidSettings(storePath, [...problems, ...(err.problems ?? []).map((pr) => problemAt(pr, at(pr.path)))]);
    }
    if (problems.length) invalidSettings(storePath, problems);
    return settings;
  }

  /** Validates one stored user and opens its secrets; `collect` masks the unreadable ones instead of throwing. */
  async function open(userId: string, raw: unknown, collect: boolean): Promise<ReadableSettings> {
    view(userId, raw); // the shape of every secret and the other fields, before opening anything
    const copy = structuredClone(raw as Raw);
    const unreadable: ReadableSettings['unreadable'] = [];
    for (const p of SECRET_PATHS) {
      const stored = getPath(copy, p) as string | SealedSecret | undefined;
      if (stored === undefined) continue;
      try {
        setPath(copy, p, await codec.open(stored, `users.${userId}.${p}`, setAgainText(userId, p)));
      } catch (err) {
        if (!collect || !(err instanceof MailError) || err.code !== 'SECRET_UNREADABLE') throw err;
        unreadable.push({ path: p, error: err });
        setPath(copy, p, MASK);
      }
    }
    return { settings: validateSettings(copy), unreadable };
  }

  /**
   * Validates a user's new settings and gives what goes on disk: new secrets sealed, a secret left
   * as the mask carried over from `previous` as stored (never opened), a hand-written clear one sealed.
   */
  async function encode(userId: string, next: unknown, previous: Raw | undefined, at: (p: string) => string): Promise<{ raw: Raw; saved: UserMailSettings }> {
    const problems: Problem[] = [];
    const kept = new Map<string, unknown>();
    for (const p of SECRET_PATHS) {
      if (getPath(next, p) !== MASK) continue;
      const stored = getPath(previous, p);
      if (stored === undefined) problems.push(problem(at(p), text('INVALID_SETTINGS.maskWithoutSecret', { mask: MASK, user: userId })));
      else kept.set(p, stored);
    }
    let valid: UserMailSettings;
    try {
      valid = validateSettings(next);
    } catch (err) {
      if (!(err instanceof MailError) || err.code !== 'INVALID_SETTINGS') throw err;
      return failWithProblems('INVALID_SETTINGS', text('INVALID_SETTINGS'), [...problems, ...(err.problems ?? []).map((pr) => problemAt(pr, at(pr.path)))]);
    }
    if (problems.length) failWithProblems('INVALID_SETTINGS', text('INVALID_SETTINGS'), problems);
    const raw = structuredClone(valid) as unknown as Raw;
    for (const p of SECRET_PATHS) {
      const value = getPath(raw, p);
      if (value === undefined) continue;
      const stored = kept.has(p) ? kept.get(p) : value;
      setPath(raw, p, typeof stored === 'string' ? await codec.seal(stored) : stored);
    }
    return { raw, saved: valid };
  }

  /** Removes temp files left by writers of this store that crashed (on Linux they hold passwords in clear). */
  async function removeStaleTemp(): Promise<void> {
    const dir = path.dirname(storePath);
    const base = path.basename(storePath).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = new RegExp(`^${base}(?:\\.bak|\\.tokens)?\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
    for (const name of await fs.readdir(dir)) {
      const m = pattern.exec(name);
      if (!m) continue;
      const file = path.join(dir, name);
      const stat = await fs.stat(file).catch(() => undefined);
      // Another writer holds its temp file only while holding the lock, which is ours now: a live
      // pid here is a reused one, unless the file is fresh (kept, to be safe).
      if (stat && (!alive(Number(m[1])) || Date.now() - stat.mtimeMs > 10 * 60_000)) await fs.rm(file, { force: true });
    }
  }

  /** Writes `data` to a fresh private temp file next to `target`, on disk, and renames it over `target` (never through a link). */
  async function replaceFile(target: string, data: string | Buffer): Promise<void> {
    const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const handle = await fs.open(tmp, 'wx', 0o600);
    try {
      try {
        await handle.writeFile(data);
        // On disk before the rename: after a power cut the new name never points at empty data.
        await handle.sync();
      } finally {
        await handle.close();
      }
      // rename() replaces a symlink at `target` itself: its target is never written.
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
  }

  async function write(doc: StoreFile): Promise<void> {
    try {
      // The previous version becomes the .bak the same way: a private temp file renamed over it,
      // so a .bak that is a symlink is replaced, not followed, and it is 0600 like the store.
      const previous = (await checkRegularFile(storePath)) ? await fs.readFile(storePath) : undefined;
      if (previous) await replaceFile(`${storePath}.bak`, previous);
      await replaceFile(storePath, `${JSON.stringify({ version: doc.version, users: Object.fromEntries(doc.users) }, null, 2)}\n`);
    } catch (err) {
      throw storeAccessError(err, storePath, 'write');
    }
  }

  /** Read, change, write under the lock: a concurrent writer never loses an update. */
  async function transact<T>(change: (users: Map<string, Raw>) => Promise<{ result: T; changed: boolean }>): Promise<T> {
    await fs.mkdir(path.dirname(storePath), { recursive: true, mode: 0o700 }).catch((err) => {
      throw storeAccessError(err, path.dirname(storePath), 'create the folder of');
    });
    return lockedStore(
      storePath,
      storePath,
      async () => {
        await removeStaleTemp().catch((err) => {
          throw storeAccessError(err, storePath, 'write');
        });
        const doc = await read();
        // Every user must still be valid: a write never buries a broken file under a new one.
        for (const [id, raw] of doc.users) view(id, raw);
        const { result, changed } = await change(doc.users);
        if (changed) await write(doc);
        return result;
      },
      { timeoutMs: options.lockTimeoutMs, onWait: options.onLockWait },
    );
  }

  /** Writes one user, `next` computed from what is stored, under the lock; the saved settings, secrets as given. */
  async function putUser(userId: string, next: (previous: Raw | undefined) => unknown): Promise<UserMailSettings> {
    checkUserId(userId);
    return transact(async (users) => {
      const previous = users.get(userId);
      const { raw, saved } = await encode(userId, await next(previous), previous, (p) => p);
      users.set(userId, raw);
      return { result: saved, changed: !same(raw, previous) };
    });
  }

  async function updateMany(change: (users: Record<string, UserMailSettings>) => unknown): Promise<Record<string, UserMailSettings>> {
    return transact(async (users) => {
      const current: Record<string, UserMailSettings> = Object.create(null);
      for (const [id, raw] of users) current[id] = view(id, raw);
      const next = await change(current);
      if (!isObject(next)) throw new TypeError('settings: updateMany: the change must return an object of users');
      const problems: Problem[] = [];
      const encoded = new Map<string, { raw: Raw; saved: UserMailSettings }>();
      for (const [id, settings] of Object.entries(next)) {
        const idProblem = userIdText(id);
        if (idProblem) {
          problems.push(problem(`users.${id}`, idProblem));
          continue;
        }
        try {
          encoded.set(id, await encode(id, settings, users.get(id), (p) => `users.${id}.${p}`));
        } catch (err) {
          if (!(err instanceof MailError) || !err.problems) throw err;
          problems.push(...err.problems);
        }
      }
      if (problems.length) failWithProblems('INVALID_SETTINGS', text('INVALID_SETTINGS.nothingWritten'), problems);
      let changed = false;
      const saved: Record<string, UserMailSettings> = Object.create(null);
      for (const [id, { raw, saved: s }] of encoded) {
        if (!same(raw, users.get(id))) changed = true;
        users.set(id, raw);
        saved[id] = maskSecrets(s);
      }
      return { result: saved, changed };
    });
  }

  /**
   * The access tokens processes share (`<store>.tokens`, private like the store, DPAPI-sealed on
   * Windows), each with a fingerprint of the refresh token it came with. A cache: unreadable or
   * malformed, it is as if empty (the process refreshes itself, under the same lock).
   */
  const tokensPath = `${storePath}.tokens`;
  const fingerprint = (refreshToken: string) => createHash('sha256').update(refreshToken, 'utf8').digest('base64url');

  async function readSharedTokens(): Promise<Map<string, Record<string, unknown>>> {
    try {
      if (!(await checkRegularFile(tokensPath))) return new Map();
      const doc = JSON.parse(await fs.readFile(tokensPath, 'utf8')) as unknown;
      if (!isObject(doc) || !isObject(doc.users)) return new Map();
      return new Map(Object.entries(doc.users as Record<string, unknown>).filter((e): e is [string, Record<string, unknown>] => isObject(e[1])));
    } catch {
      return new Map();
    }
  }

  /** Refreshes of one user's tokens, across processes: under `<store>.oauth.lock`, the access token shared in `<store>.tokens`. */
  function sharedRefresh(userId: string): SharedRefresh {
    return {
      // A refresh is one provider request (openid-client's own timeout applies): wait that long for another process's.
      lock: (work) => lockedStore(storePath, `${storePath}.oauth`, work, { timeoutMs: REFRESH_LOCK_TIMEOUT_MS }),
      async readAccess(refreshToken) {
        const entry = (await readSharedTokens()).get(userId);
        if (!entry || entry.refreshToken !== fingerprint(refreshToken) || storedSecretProblem(entry.accessToken)) return undefined;
        if (typeof entry.expiresAt !== 'number' || typeof entry.refreshAt !== 'number') return undefined;
        // Unreadable (DPAPI of another Windows user): the token source refreshes at the provider instead.
        const token = await codec.open(entry.accessToken as string | SealedSecret, `${tokensPath}: ${userId}`, '');
        return { token, expiresAt: entry.expiresAt, refreshAt: entry.refreshAt, scope: typeof entry.scope === 'string' ? entry.scope : undefined };
      },
      async saveAccess(refreshToken, access: SavedAccess) {
        const users = await readSharedTokens();
        // Entries that expired (another user's, signed out since) go at each write.
        for (const [id, e] of users) if (typeof e.expiresAt !== 'number' || e.expiresAt < Date.now()) users.delete(id);
        users.set(userId, {
          refreshToken: fingerprint(refreshToken),
          accessToken: await codec.seal(access.token),
          expiresAt: access.expiresAt,
          refreshAt: access.refreshAt,
          ...(access.scope ? { scope: access.scope } : {}),
        });
        await replaceFile(tokensPath, `${JSON.stringify({ version: 1, users: Object.fromEntries(users) }, null, 2)}\n`);
      },
    };
  }

  /** A user's token source, saving a rotated refresh token here before telling `theirs`. */
  function tokenSourceOf(userId: string, settings: UserMailSettings, theirs?: MailerOptions['onTokens']): OAuth2TokenSource | undefined {
    const oauth2 = settings.smtp?.oauth2;
    if (!oauth2) return undefined;
    return createTokenSource({
      oauth2,
      user: settings.smtp?.username ?? (settings.email as string),
      loginCommand: `oxymail auth login ${shellWord(userId)}`,
      currentRefreshToken: async () => {
        const raw = (await read()).users.get(userId);
        const stored = getPath(raw, 'smtp.oauth2.refreshToken') as string | SealedSecret | undefined;
        return stored === undefined ? undefined : codec.open(stored, `users.${userId}.smtp.oauth2.refreshToken`, setAgain(userId, 'smtp.oauth2.refreshToken'));
      },
      onTokens: async (tokens: IssuedTokens) => {
        await saveRefreshToken(userId, tokens.refreshToken);
        await theirs?.(tokens);
      },
      shared: sharedRefresh(userId),
    });
  }

  async function saveRefreshToken(userId: string, refreshToken: string | undefined): Promise<void> {
    await putUser(userId, (previous) => {
      if (previous === undefined) throw new MailError('SETTINGS_NOT_FOUND', text('SETTINGS_NOT_FOUND', { user: userId, file: storePath }));
      const next = view(userId, previous) as unknown as Raw;
      setPath(next, 'smtp.oauth2.refreshToken', refreshToken);
      return next;
    });
  }

  return {
    path: storePath,
    secrets: codec.kind,
    async list() {
      const doc = await read();
      const out: StoredUser[] = [];
      for (const [userId, raw] of doc.users) out.push({ userId, settings: view(userId, raw) });
      return out.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    },
    async get(userId, getOptions = {}) {
      const raw = (await read()).users.get(checkUserId(userId));
      if (raw === undefined) return undefined;
      return getOptions.secrets === 'mask' ? view(userId, raw) : (await open(userId, raw, false)).settings;
    },
    async getReadable(userId) {
      const raw = (await read()).users.get(checkUserId(userId));
      return raw === undefined ? undefined : open(userId, raw, true);
    },
    set: (userId, settings) => putUser(userId, () => settings),
    async update(userId, change) {
      return maskSecrets(await putUser(userId, (previous) => change(previous === undefined ? undefined : view(userId, previous))));
    },
    updateMany,
    async setMany(users) {
      if (!isObject(users)) throw new TypeError('settings: setMany takes an object of users');
      return updateMany(() => users);
    },
    async remove(userId) {
      checkUserId(userId);
      return transact(async (users) => {
        const found = users.delete(userId);
        return { result: found, changed: found };
      });
    },
    async mailerFor(userId, mailerOptions) {
      const settings = await this.get(userId);
      if (!settings) {
        throw new MailError('SETTINGS_NOT_FOUND', text('SETTINGS_NOT_FOUND.store', { user: userId, file: storePath }), {
          hint: text('SETTINGS_NOT_FOUND.hint.create', { user: shellWord(userId) }),
        });
      }
      const options = userOutboxOption(storePath, userId, settings.outbox, mailerOptions);
      if (!settings.smtp?.oauth2 || options.tokenSource) return createMailer(settings, options);
      const tokenSource = tokenSourceOf(userId, settings, options.onTokens);
      return createMailer(settings, { ...options, tokenSource, onTokens: undefined });
    },
    async tokenSourceFor(userId, sourceOptions = {}) {
      const settings = await this.get(userId);
      if (!settings) {
        throw new MailError('SETTINGS_NOT_FOUND', text('SETTINGS_NOT_FOUND.store', { user: userId, file: storePath }), {
          hint: text('SETTINGS_NOT_FOUND.hint.list'),
        });
      }
      return tokenSourceOf(userId, settings, sourceOptions.onTokens);
    },
    saveRefreshToken,
  };
}
