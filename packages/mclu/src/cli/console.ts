// `console GUEST`: the guest's serial console stream bridged to this terminal. Raw mode so
// keys go to the guest as typed; Ctrl-] (0x1d) leaves, as in virsh console.
import type { LibvirtStream } from '../node-api.js';

const ESCAPE = 0x1d;

export async function bridgeConsole(
  stream: LibvirtStream,
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
): Promise<void> {
  const raw = input.isTTY;
  if (raw) input.setRawMode(true);
  await new Promise<void>((resolve) => {
    const finish = (): void => {
      input.off('data', onKey);
      input.pause();
      stream.off('data', onGuest);
      resolve();
    };
    const onKey = (chunk: Buffer): void => {
      const escape = chunk.indexOf(ESCAPE);
      if (escape !== -1) {
        if (escape > 0) stream.write(chunk.subarray(0, escape));
        finish();
        return;
      }
      stream.write(chunk);
    };
    const onGuest = (chunk: Buffer): void => {
      output.write(chunk);
    };
    input.on('data', onKey);
    input.once('end', finish);
    stream.on('data', onGuest);
    stream.once('end', finish);
    stream.once('error', finish);
    input.resume();
  });
  if (raw) input.setRawMode(false);
  await stream.abort().catch(() => undefined);
}
