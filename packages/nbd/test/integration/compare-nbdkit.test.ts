// The same plugin on tsnbd and on nbdkit gives the same bytes and the same extent map.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captive, requireTools, tempDir, makeSparseFile } from '../helpers.js';

requireTools('nbdinfo', 'nbdcopy', 'nbdkit');

const BYTES_AND_MAP =
  'nbdcopy "$uri" - | sha256sum && nbdinfo --map "$uri" && nbdinfo --size "$uri"';

void describe('tsnbd and nbdkit agree', () => {
  const tmp = tempDir();
  const sparse = join(tmp.dir, 'sparse.img');
  before(() => {
    makeSparseFile(sparse, '3M', [{ bs: '4k', count: 7, seek: 100 }]);
  });
  after(() => tmp.cleanup());

  const stacks: [string, string[]][] = [
    ['pattern', ['pattern', 'size=5000000']],
    ['null', ['null', '2M']],
    ['data', ['data', 'data=1 2 3 @4096 "hello" 0x55*100 @+512 (0xaa 0xbb)*3', 'size=1M']],
    ['memory', ['memory', '3M']],
    ['file (sparse)', ['file', sparse]],
    ['file read-only', ['-r', 'file', sparse]],
  ];
  for (const [name, args] of stacks) {
    void it(name, async () => {
      const ours = await captive('tsnbd', args, BYTES_AND_MAP);
      const theirs = await captive('nbdkit', args, BYTES_AND_MAP);
      assert.equal(ours.code, 0, ours.stderr);
      assert.equal(theirs.code, 0, theirs.stderr);
      assert.equal(ours.stdout, theirs.stdout);
    });
  }
});
