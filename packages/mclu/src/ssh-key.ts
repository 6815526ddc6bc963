// The user's ssh public key, given to templates (`ssh_key` in the build's environment) so
// that the guests they make let the user log in: [defaults] ssh_key, else the key
// ssh-copy-id would pick (the newest ~/.ssh/id*.pub). Read and checked before any node is
// asked, so a bad key is reported with the place to fix it.
import { checkPublicKey, defaultPublicKeyFile } from '@tsvirt/builder/operations';
import { readFileSync } from 'node:fs';
import type { McluConfig } from './config.js';
import { ConfigError, messageOf } from './errors.js';

/** The key line, or null when none is configured and ~/.ssh has none. */
export function userPublicKey(config: McluConfig, home?: string): string | null {
  const configured = config.defaults.sshKey;
  if (configured !== null && 'key' in configured)
    return checked(configured.key, 'defaults.ssh_key', config.file);
  const file = configured?.file ?? defaultPublicKeyFile(home);
  if (file === null) return null;
  const where = configured === null ? `${file} (the newest ~/.ssh/id*.pub)` : file;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      config.file,
      `defaults.ssh_key: cannot read ${file}: ${messageOf(error)}; fix the path, or remove the key to use the newest ~/.ssh/id*.pub`,
      { cause: error },
    );
  }
  return checked(text, where, config.file);
}

function checked(text: string, where: string, configFile: string): string {
  try {
    return checkPublicKey(text, where);
  } catch (error) {
    throw new ConfigError(
      configFile,
      `${messageOf(error)}; set [defaults] ssh_key to your public key file (e.g. "~/.ssh/id_ed25519.pub")`,
      { cause: error },
    );
  }
}
