// `tsnbd copy SRC DST` and `tsnbd-copy SRC DST`: copy between NBD URIs and files.
import { packageVersion, progressBar } from '@tsvirt/cli-kit';
import { copyDisk } from '../copy/copy.js';
import { ConfigError } from '../errors.js';

const USAGE = `Usage: tsnbd copy [-C N] [-R N] [--progress|--no-progress] SRC DST

SRC and DST are NBD URIs (nbd://host:port/export, nbd+unix:///export?socket=PATH) or
local files. Holes and zero runs are found with block status and not copied as data.
  -C N, --connections=N   connections per NBD endpoint, if it allows multi-conn (4)
  -R N, --requests=N      requests in flight (16)
  --progress              progress bar on stderr (default when stderr is a terminal)
  -V, --version           print the version`;

export async function copyMain(argv: string[]): Promise<number> {
  const positional: string[] = [];
  let connections = 4;
  let requests = 16;
  let progress = process.stderr.isTTY;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith('--') ? arg.split('=', 2) : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1) {
        throw new ConfigError(`${name} needs a positive number`);
      }
      return Number(v);
    };
    if (name === '-C' || name === '--connections') connections = value();
    else if (name === '-R' || name === '--requests') requests = value();
    else if (name === '--progress' || name === '-p') progress = true;
    else if (name === '--no-progress') progress = false;
    else if (name === '-h' || name === '--help') {
      console.log(USAGE);
      return 0;
    } else if (name === '-V' || name === '--version') {
      console.log(`tsnbd-copy ${packageVersion(import.meta.url)}`);
      return 0;
    } else if (arg.startsWith('-') && arg !== '-')
      throw new ConfigError(`unknown option ${arg}\n${USAGE}`);
    else positional.push(arg);
  }
  if (positional.length !== 2) throw new ConfigError(`expected SRC and DST\n${USAGE}`);
  const bar = progressBar('copy', { show: progress });
  const result = await copyDisk(positional[0]!, positional[1]!, {
    connections,
    requests,
    onProgress: bar.update,
  }).finally(bar.stop);
  if (process.env.TSNBD_COPY_SUMMARY) {
    console.error(
      `copied ${result.size} bytes: ${result.dataBytes} data, ${result.zeroBytes} zero`,
    );
  }
  return 0;
}
