// Packs the package with `npm pack` and installs the tarball into a fresh
// consumer project (argument: its folder, directly under .artifacts/), as a
// user would; the package tests run there so `import 'ferrymq'` resolves
// through the real exports map.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const artifacts = resolve('.artifacts');
const consumer = resolve(artifacts, process.argv[2] ?? 'consumer');
mkdirSync(artifacts, { recursive: true });
rmSync(consumer, { recursive: true, force: true });
mkdirSync(consumer);

const npm = (args, cwd) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });
// Packed into the consumer folder: concurrent runs never share a tarball.
const [{ filename }] = JSON.parse(npm(['pack', '--json', '--pack-destination', consumer], '.'));
writeFileSync(resolve(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
// And the Redis client, as a user of a Redis broker adds it (an optional peer
// dependency), at the version this repository tests with.
const { version: ioredis } = JSON.parse(readFileSync('node_modules/ioredis/package.json', 'utf8'));
npm(['install', '--no-package-lock', '--prefer-offline', resolve(consumer, filename), `ioredis@${ioredis}`], consumer);
cpSync('pkg-tests', consumer, { recursive: true });
cpSync('examples', resolve(consumer, 'examples'), { recursive: true });
console.log(`installed ${filename} into ${consumer}`);
