// Local working directories (a disk being built): removed when the operation ends, and
// also when mclu exits some other way (a second Ctrl-C, an internal error), so that no
// temporary disk is ever left on the machine that runs mclu.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let hookInstalled = false;

export function makeWorkDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  live.add(dir);
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', () => {
      for (const d of live) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export function removeWorkDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  live.delete(dir);
}
