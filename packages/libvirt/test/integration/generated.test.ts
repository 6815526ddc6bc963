// The committed generated layer is what the generator makes today from libvirt's definitions:
// scripts/generate-protocol.sh into a temporary directory (the Debian source package is
// fetched once and cached by scripts/debian-source), compared file by file.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';

const packageDir = join(import.meta.dirname, '../../..');
const out = mkdtempSync(join(tmpdir(), 'libvirt-generated-'));
after(() => rmSync(out, { recursive: true, force: true }));

function generatedFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.generated.ts'))
    .sort();
}

void it('the committed *.generated.ts files are what scripts/generate-protocol.sh writes', () => {
  execFileSync(join(packageDir, 'scripts/generate-protocol.sh'), [out], {
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 15 * 60 * 1000, // the first run downloads the source package
  });
  const committed = generatedFiles(join(packageDir, 'src'));
  assert.deepEqual(generatedFiles(out), committed);
  for (const file of committed) {
    const fresh = readFileSync(join(out, file), 'utf8');
    const mine = readFileSync(join(packageDir, 'src', file), 'utf8');
    assert.ok(
      fresh === mine,
      `src/${file} is not what the generator writes now: run packages/libvirt/scripts/generate-protocol.sh`,
    );
  }
});
