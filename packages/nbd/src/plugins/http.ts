// http: a read-only disk backed by an HTTP or HTTPS URL, read with range requests
// (nbdkit-curl-plugin's common case). Redirects are resolved once at startup, connections
// are kept alive and reused, and the server must honour `Range`.
import http from 'node:http';
import https from 'node:https';
import { definePlugin } from '../api.js';
import { ConfigError, NbdError } from '../errors.js';
import { sharedValue } from '../shared.js';
import { parseBool, parseInteger } from '../size.js';

const MAX_REDIRECTS = 10;

interface Probe {
  url: URL;
  size: number;
}

export function createHttpPlugin() {
  let url: URL | undefined;
  let verify = true;
  let timeoutMs = 60_000;
  let connections = 16;
  const headers: Record<string, string> = { 'user-agent': 'tsnbd' };
  let resolved: Probe | undefined;
  let httpAgent: http.Agent | undefined;
  let httpsAgent: https.Agent | undefined;

  function request(
    target: URL,
    method: string,
    extra: Record<string, string>,
  ): Promise<{ res: http.IncomingMessage; body: Buffer }> {
    const lib = target.protocol === 'https:' ? https : http;
    const agent = target.protocol === 'https:' ? httpsAgent : httpAgent;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        target,
        {
          method,
          headers: { ...headers, ...extra },
          agent,
          timeout: timeoutMs,
          rejectUnauthorized: verify,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new NbdError('EIO', `${target.href}: timed out`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Follows redirects once and learns the size. */
  async function probe(start: URL): Promise<Probe> {
    let target = start;
    for (let hops = 0; hops <= MAX_REDIRECTS; hops++) {
      const { res } = await request(target, 'HEAD', {});
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        target = new URL(res.headers.location, target);
        continue;
      }
      if (status !== 200)
        throw new ConfigError(`http: ${target.href} answered HEAD with ${status}`);
      const size = Number(res.headers['content-length']);
      if (!Number.isSafeInteger(size)) {
        throw new ConfigError(`http: ${target.href} gives no Content-Length`);
      }
      if (res.headers['accept-ranges'] !== 'bytes') {
        // Check by asking for one byte: a 206 means ranges work even if not advertised.
        const { res: r } = await request(target, 'GET', { range: 'bytes=0-0' });
        if (r.statusCode !== 206) {
          throw new ConfigError(`http: ${target.href} does not support range requests`);
        }
      }
      return { url: target, size };
    }
    throw new ConfigError(`http: more than ${MAX_REDIRECTS} redirects from ${start.href}`);
  }

  return definePlugin<null>({
    name: 'http',
    threadModel: 'multiProcess', // each worker has its own connection pool
    description: 'A read-only disk served over HTTP/HTTPS with range requests.',
    keys: [
      { key: 'url=URL', help: 'http:// or https:// URL of the disk image (required).' },
      { key: 'header=NAME: VALUE', help: 'An extra request header (repeatable).' },
      { key: 'sslverify=BOOL', help: 'Verify the server certificate (default true).' },
      { key: 'timeout=SECONDS', help: 'Per-request timeout (default 60).' },
      { key: 'connections=N', help: 'Most HTTP connections kept open (default 16).' },
    ],
    magicConfigKey: 'url',
    config(key, value) {
      if (key === 'url') {
        try {
          url = new URL(value);
        } catch {
          throw new ConfigError(`http: url=${value} is not a URL`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') {
          throw new ConfigError(`http: url=${value}: only http:// and https:// are supported`);
        }
      } else if (key === 'header') {
        const colon = value.indexOf(':');
        if (colon <= 0) throw new ConfigError(`http: header=${value}: expected "Name: value"`);
        headers[value.slice(0, colon).trim().toLowerCase()] = value.slice(colon + 1).trim();
      } else if (key === 'sslverify') verify = parseBool(value, key);
      else if (key === 'timeout') timeoutMs = parseInteger(value, key, 1) * 1000;
      else if (key === 'connections') connections = parseInteger(value, key, 1);
      else throw new ConfigError(`http: unknown parameter ${key}`);
    },
    configComplete() {
      if (!url) throw new ConfigError('http: url= is required');
      const agentOptions = { keepAlive: true, maxSockets: connections };
      httpAgent = new http.Agent(agentOptions);
      httpsAgent = new https.Agent(agentOptions);
    },
    async getReady() {
      // Probed once for the server: every worker serves the same URL and size.
      const found = await sharedValue('http-url', async () => {
        const p = await probe(url!);
        return { href: p.url.href, size: p.size };
      });
      resolved = { url: new URL(found.href), size: found.size };
    },
    cleanup() {
      httpAgent?.destroy();
      httpsAgent?.destroy();
    },
    open: () => null,
    getSize: () => resolved!.size,
    canMultiConn: () => true,
    canCache: () => 'emulate',
    async pread(_h, buf, offset) {
      const range = `bytes=${offset}-${offset + buf.length - 1}`;
      const { res, body } = await request(resolved!.url, 'GET', { range });
      if (res.statusCode !== 206 || body.length !== buf.length) {
        throw new NbdError(
          'EIO',
          `http: GET ${range} answered ${res.statusCode} with ${body.length} bytes`,
        );
      }
      body.copy(buf);
    },
  });
}
