// A small static file server for the demo and the browser tests; `mounts`
// maps URL prefixes to folders, the first match wins.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

/** What the demo page needs, from the repository at `repo`: the built package, uPlot and www/. */
export const demoMounts = (repo) => [
  ['/dist/', join(repo, 'dist')],
  ['/vendor/uplot/', join(repo, 'node_modules/uplot/dist')],
  ['/', join(repo, 'www')],
];

async function locate(mounts, url) {
  const path = decodeURIComponent(new URL(url, 'http://x').pathname);
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const root = resolve(dir);
    let file = normalize(join(root, path.slice(prefix.length)));
    if (file !== root && !file.startsWith(root + sep)) return undefined;
    const info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) file = join(file, 'index.html');
    if (await stat(file).then((s) => s.isFile(), () => false)) return file;
  }
  return undefined;
}

/** Serves until closed; resolves with { url, close }. Port 0 picks a free one. */
export function serve(mounts, port = 0) {
  const server = createServer(async (req, res) => {
    const file = await locate(mounts, req.url);
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      ok({ url: `http://127.0.0.1:${bound}`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}
