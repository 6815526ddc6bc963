// What a build request is checked for before anything is built (sizes, images, the package
// mirror for --install, asked of a real HTTP server on loopback), and what goes into the
// cache keys: the same recipe is the same base, a changed one is another.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { checkBuild } from '../../src/build.js';
import {
  baseImageName,
  debian12TreeKey,
  debian12TreeName,
  IMAGES,
  type ImageDefinition,
} from '../../src/debian.js';
import { mirrorProblem, requireMirror } from '../../src/mirror.js';

let server: Server;
let mirror: string;
before(async () => {
  // A mirror that has bookworm and nothing else.
  server = createServer((request, response) => {
    response.statusCode = request.url === '/debian/dists/bookworm/Release' ? 200 : 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/debian`;
});
after(() => server.close());

const request = (over: object = {}): Parameters<typeof checkBuild>[0] => ({
  image: 'debian-12',
  output: '/nonexistent/out.qcow2',
  operations: [],
  ...over,
});

void test('sizes: at least the image, in whole sectors', async () => {
  await checkBuild(request({ sizeBytes: 2n << 30n }));
  await checkBuild(request({ sizeBytes: 20n << 30n }));
  await assert.rejects(checkBuild(request({ sizeBytes: 1n << 30n })), {
    code: 'BAD_REQUEST',
    message:
      /size 1073741824 bytes is smaller than the debian-12 image \(2147483648 bytes, 2G\); give at least 2G/,
  });
  await assert.rejects(checkBuild(request({ sizeBytes: (3n << 30n) + 1n })), {
    message: /not a whole number of 512-byte sectors; give e\.g\. 3221225984/,
  });
});

void test('an unknown image is refused with the list of images', async () => {
  await assert.rejects(checkBuild(request({ image: 'fedora-40' })), {
    code: 'BAD_REQUEST',
    message: 'no image "fedora-40"; the builder makes: debian-12',
  });
});

void test('the mirror: answered, missing suite, nobody listening', async () => {
  assert.equal(await mirrorProblem(mirror, 'bookworm'), null);
  assert.equal(await mirrorProblem(`${mirror}/`, 'bookworm'), null);
  assert.match(
    (await mirrorProblem(mirror, 'trixie')) ?? '',
    /dists\/trixie\/Release answered 404/,
  );
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  closed.close();
  assert.match(
    (await mirrorProblem(`http://127.0.0.1:${port}/debian`, 'bookworm')) ?? '',
    /ECONNREFUSED/,
  );
  await assert.rejects(requireMirror(`http://127.0.0.1:${port}/debian`, 'bookworm', ['nginx']), {
    code: 'NO_MIRROR',
    message: new RegExp(
      `^--install nginx: refused: the guest's packages come from http://127.0.0.1:${port}/debian at build time, and it cannot be reached from here \\(.*ECONNREFUSED.*\\)\\. Boot the guest without --install`,
    ),
  });
  await requireMirror(mirror, 'bookworm', ['nginx']);
});

void test('cache keys: the same recipe is the same key; packages, files and mirror change it', () => {
  const image = IMAGES.get('debian-12') as ImageDefinition;
  assert.equal(baseImageName(image), baseImageName(image));
  assert.match(baseImageName(image), /^debian-12-base-[0-9a-f]{16}\.qcow2$/);
  assert.notEqual(baseImageName(image, 'http://mirror.example/debian'), baseImageName(image));
  assert.notEqual(
    baseImageName({ ...image, script: `${image.script}\ntrue` }),
    baseImageName(image),
  );
  assert.notEqual(baseImageName({ ...image, sizeBytes: 3n << 30n }), baseImageName(image));

  assert.notEqual(
    baseImageName({ ...image, packages: ['openssh-server', 'curl'] }),
    baseImageName(image),
  );
});

void test('the Debian 12 tree keeps the key the test images cached it under', () => {
  // What testing/images named it before the tree moved here: a machine's cache stays valid.
  assert.equal(debian12TreeName(), 'debian-bookworm-base-2dff1a92e8232019.tar');
  assert.equal(debian12TreeKey(['b', 'a']), debian12TreeKey(['a', 'b']));
  assert.notEqual(debian12TreeKey(['a']), debian12TreeKey());
});
