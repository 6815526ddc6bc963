// Whole reads and writes on a file handle: Node's read and write may move fewer bytes than
// asked. Reads past the end of the file give zeroes (a sparse disk's unwritten tail).
import type { FileHandle } from 'node:fs/promises';

export async function readFully(fh: FileHandle, buf: Buffer, offset: number): Promise<void> {
  for (let done = 0; done < buf.length;) {
    const { bytesRead } = await fh.read(buf, done, buf.length - done, offset + done);
    if (bytesRead === 0) {
      buf.fill(0, done);
      return;
    }
    done += bytesRead;
  }
}

export async function writeFully(fh: FileHandle, buf: Buffer, offset: number): Promise<void> {
  for (let done = 0; done < buf.length;) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, offset + done);
    done += bytesWritten;
  }
}
