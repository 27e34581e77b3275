// A redis-server of the test's own: on a free port of 127.0.0.1, in a temp
// dir, every write fsynced to its append-only file, stopped by PID. No test
// talks to any other server.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';

/** A port nothing listens on right now (the server may still lose a race for it: start() retries). */
async function freePort() {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address();
  probe.close();
  await once(probe, 'close');
  return port;
}

/** Resolves once the server answers PING; rejects if `proc` exits first. */
function ready(port, proc) {
  return new Promise((resolve, reject) => {
    const exited = (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before answering`));
    proc.once('exit', exited);
    const attempt = () => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (chunk) => {
        answer += chunk;
        if (!answer.includes('\r\n')) return;
        socket.destroy();
        // LOADING while it replays its append-only file: ask again.
        if (answer.startsWith('+PONG')) {
          proc.off('exit', exited);
          resolve();
        } else setTimeout(attempt, 5);
      });
      socket.on('error', () => setTimeout(attempt, 5));
    };
    attempt();
  });
}

/**
 * Starts a server (the benchmarks start theirs here too). Returns { url, stop(), kill(), restart() }: stop sends
 * SIGTERM, kill SIGKILL, and restart starts it again on the same port and
 * dir, so it replays its append-only file.
 */
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'ferrymq-redis-'));
  let proc;
  let port;
  const launch = async () => {
    proc = spawn('redis-server', [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no',
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    await ready(port, proc);
  };
  for (let tries = 0; ; tries++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (error) {
      if (tries === 2) throw error;
    }
  }
  const end = async (signal) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    process.kill(proc.pid, signal);
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: launch,
  };
}

const LIBRARY = readFileSync(new URL('../../js/redis/library.lua', import.meta.url), 'utf8');

/**
 * For a test file: a server of its own with the function library loaded,
 * started before its tests and stopped after them. `ready(server, redis)`
 * gets the server and a connected client.
 */
export function withLibrary(ready) {
  let server;
  let redis;
  before(async () => {
    server = await startRedis();
    redis = new Redis(server.url, { lazyConnect: true });
    await redis.connect();
    await redis.call('FUNCTION', 'LOAD', 'REPLACE', LIBRARY);
    ready(server, redis);
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });
}
