/** The procedures this daemon implements; any other gets ENOTSUP. */
import type { Handlers } from '../handler.js';
import { caseSensitivePathHandlers } from './case-sensitive-path.js';
import { commandHandlers } from './commands.js';
import { fileHandlers } from './files.js';
import { filesystemHandlers } from './filesystems.js';
import { globHandlers } from './glob.js';
import { transferHandlers } from './transfer.js';

export const handlers: Handlers = {
  echo_daemon: ({ words }) => Promise.resolve(words.join(' ')),
  ...filesystemHandlers,
  ...fileHandlers,
  ...transferHandlers,
  ...globHandlers,
  ...caseSensitivePathHandlers,
  ...commandHandlers,
};
