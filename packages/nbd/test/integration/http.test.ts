// The http plugin against a real HTTP server (Node's, in this process): range requests,
// one redirect lookup, kept-alive connections. nbdkit's curl plugin serves the same bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { captive, requireTools } from '../helpers.js';

requireTools('nbdcopy', 'nbdkit');

void describe('http plugin', () => {
  const disk = randomBytes((5 << 20) + 123);
  const counts = { redirects: 0, ranges: 0, connections: 0 };
  let server: http.Server;
  let base = '';
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/disk') {
        counts.redirects++;
        res.writeHead(302, { location: '/real/disk.img' }).end();
        return;
      }
      if (req.url !== '/real/disk.img') {
        res.writeHead(404).end();
        return;
      }
      const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      if (!m) {
        res.writeHead(200, { 'content-length': disk.length, 'accept-ranges': 'bytes' });
        res.end(req.method === 'HEAD' ? undefined : disk);
        return;
      }
      counts.ranges++;
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), disk.length - 1);
      res.writeHead(206, {
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${disk.length}`,
      });
      res.end(disk.subarray(start, end + 1));
    });
    server.on('connection', () => counts.connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  void it('serves the bytes with range requests over reused connections', async () => {
    counts.redirects = counts.ranges = counts.connections = 0;
    const r = await captive(
      'tsnbd',
      ['http', `${base}/disk`, 'connections=4'],
      'nbdcopy "$uri" - | od -An -tx1 | md5sum; nbdinfo --size "$uri"',
    );
    assert.equal(r.code, 0, r.stderr);
    const ours = r.stdout.split('\n');
    assert.equal(ours[1], String(disk.length));
    assert.equal(counts.redirects, 1, 'the redirect is followed once, at startup');
    assert.ok(counts.ranges > 4, `${counts.ranges} range requests`);
    assert.ok(
      counts.connections <= 5,
      `${counts.connections} TCP connections for ${counts.ranges} requests`,
    );
    const theirs = await captive(
      'nbdkit',
      ['curl', `${base}/real/disk.img`],
      'nbdcopy "$uri" - | od -An -tx1 | md5sum',
    );
    assert.equal(ours[0], theirs.stdout.split('\n')[0]);
  });

  void it('refuses a URL without range support with a clear error', async () => {
    const r = await captive('tsnbd', ['http', `${base}/missing`], 'true');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /answered HEAD with 404/);
  });
});
