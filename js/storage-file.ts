// Durable storage in Node: an append-only log file at `path`, plus
// `path.compact` and `path.corrupt` when the core asks for them, and
// `path.lock` holding the owner's pid so two brokers never share a log.
// `path` is the log's canonical path (symlinks and `..` resolved), so every
// spelling of one log finds the same lock, and a compaction's rename
// replaces the log itself, never a symlink to it.
// The core decides every write, sync and rename; this file only does them.
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readFile, readlink, realpath, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { StorageFile } from '../pkg/ferrymq.js';
import { asStorageError, storageError } from './errors.js';
import * as step from './storage.js';
import type { OpenStorage, Step } from './storage.js';

const SUFFIX = { [step.LOG]: '', [step.COMPACT]: '.compact', [step.CORRUPT]: '.corrupt' } satisfies Record<StorageFile, string>;

/** The `code` of a Node system error (ENOENT, EEXIST, …). */
const codeOf = (error: unknown): unknown => (error as NodeJS.ErrnoException | undefined)?.code;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return codeOf(error) === 'EPERM';
  }
}

/**
 * Creates `path.lock`, or takes over one left by a process that is gone (a
 * kill -9). The lock is written whole under a name of its own and linked into
 * place, so it never exists half-written (another opener would read no pid
 * and take it for stale). Taking over a stale lock is serialized by a second
 * lock, `path.lock.takeover`: only its holder removes a lock, and only after
 * reading again that it is the stale one, so a live broker's lock is never
 * removed by a process that read the old one a moment before.
 */
async function lock(path: string): Promise<() => Promise<void>> {
  const lockPath = `${path}.lock`;
  const mine = `${lockPath}.${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeFile(mine, String(process.pid)).catch((error: unknown) => {
    throw storageError(`cannot lock ${path}`, error);
  });
  try {
    for (let attempt = 0; attempt < 8; attempt++) {
      if (await linked(mine, lockPath, path)) return () => rm(lockPath, { force: true });
      const owner = await ownerOf(lockPath);
      if (owner === undefined) continue; // gone since: try again
      if (owner !== 0 && alive(owner)) throw storageError(`${path} is open in another broker (process ${owner})`);
      await takeOver(lockPath, owner, mine, path);
    }
    throw storageError(`cannot lock ${path}: another process keeps taking it over`);
  } finally {
    await rm(mine, { force: true });
  }
}

/** Links `file` to `name` unless `name` exists (false then). */
async function linked(file: string, name: string, path: string): Promise<boolean> {
  try {
    await link(file, name);
    return true;
  } catch (error) {
    if (codeOf(error) === 'EEXIST') return false;
    throw storageError(`cannot lock ${path}`, error);
  }
}

/** The pid in a lock file; 0 for one that names no process; undefined when there is no file. */
async function ownerOf(lockPath: string): Promise<number | undefined> {
  const text = await readFile(lockPath, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}

/** Removes `lockPath` if it still names dead process `stale`, holding the takeover lock while it does. */
async function takeOver(lockPath: string, stale: number, mine: string, path: string): Promise<void> {
  const takeover = `${lockPath}.takeover`;
  if (!(await linked(mine, takeover, path))) {
    // Another process is taking over; one that died doing so left its own stale mark.
    const other = await ownerOf(takeover);
    if (other !== undefined && (other === 0 || !alive(other))) await rm(takeover, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 5));
    return;
  }
  try {
    if ((await ownerOf(lockPath)) === stale) await rm(lockPath, { force: true });
  } finally {
    await rm(takeover, { force: true });
  }
}

/** The path of the file `path` names, with every symlink resolved, whether or not it exists yet. */
async function canonical(path: string): Promise<string> {
  for (let hops = 0; hops < 40; hops++) {
    try {
      return await realpath(path);
    } catch (error) {
      if (codeOf(error) !== 'ENOENT') throw error;
    }
    // Missing: a dangling symlink names where the log will be; else its folder exists.
    const isLink = (await lstat(path).catch(() => undefined))?.isSymbolicLink();
    if (!isLink) return join(await realpath(dirname(path)), basename(path));
    path = resolve(dirname(path), await readlink(path));
  }
  throw storageError(`too many symbolic links in ${path}`);
}

export async function openFile(location: string): Promise<OpenStorage> {
  const given = resolve(location);
  await mkdir(dirname(given), { recursive: true }).catch((error) => {
    throw storageError(`cannot create the folder of ${given}`, error);
  });
  const path = await canonical(given).catch((error) => {
    throw asStorageError(error, `cannot resolve ${given}`);
  });
  const unlock = await lock(path);
  let bytes: Uint8Array;
  try {
    // A hard link is a second name the lock cannot see: one name per log.
    const links = (await stat(path).catch(() => undefined))?.nlink ?? 1;
    if (links > 1) throw storageError(`${path} has ${links} hard links: open a log by its one name`);
    bytes = await readFile(path).catch((error) => {
      if (codeOf(error) === 'ENOENT') return new Uint8Array(0);
      throw storageError(`cannot read ${path}`, error);
    });
  } catch (error) {
    await unlock();
    throw error;
  }
  let log: FileHandle | undefined;
  const name = (file: StorageFile): string => path + SUFFIX[file];
  const logHandle = async (): Promise<FileHandle> => (log ??= await open(path, 'a'));

  async function sync(file: StorageFile): Promise<void> {
    if (file === step.LOG) return (await logHandle()).datasync();
    const handle = await open(name(file), 'r');
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  let closed = false;

  async function run(steps: readonly Step[]): Promise<void> {
    if (closed) throw storageError(`${path} is closed`);
    try {
      for (const [op, file, data] of steps) {
        switch (op) {
          case step.APPEND_LOG:
            await (await logHandle()).write(data);
            break;
          case step.WRITE: {
            const handle = await open(name(file), 'w');
            try {
              await handle.write(data);
            } finally {
              await handle.close();
            }
            break;
          }
          case step.SYNC:
            await sync(file);
            break;
          case step.REPLACE_LOG:
            // The handle refers to the old file once the rename is done.
            await log?.close();
            log = undefined;
            await rename(name(step.COMPACT), path);
            break;
          case step.SYNC_DIR: {
            const dir = await open(dirname(path), 'r');
            try {
              await dir.sync();
            } finally {
              await dir.close();
            }
            break;
          }
          case step.REMOVE:
            await rm(name(file), { force: true });
            break;
          default:
            step.unhandled(op);
        }
      }
    } catch (error) {
      throw storageError(`writing ${path} failed`, error);
    }
  }

  let closing: Promise<void> | undefined;

  // Once only: a broker closed after a failure must not remove the lock of
  // the broker that has reopened the log since. Every caller waits for that
  // one closing (a failure starts it; the user's close() must not resolve
  // before the lock is gone, or an immediate reopen finds it).
  function close(): Promise<void> {
    closing ??= (async () => {
      closed = true;
      await log?.close();
      log = undefined;
      await unlock();
    })();
    return closing;
  }

  return { bytes, run, close };
}
