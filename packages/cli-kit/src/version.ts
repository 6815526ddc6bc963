import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version of the package a module belongs to (give it `import.meta.url`): the nearest
 * package.json above the module that has one. The same from a clone, a linked command or
 * an installed tarball, whatever the depth of the compiled file.
 */
export function packageVersion(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
      if (typeof version === 'string') return version;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json with a version above ${start}`);
  }
}
