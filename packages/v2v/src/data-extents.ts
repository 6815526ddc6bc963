/** Where an NBD export holds data, from block status: the copy and the plan both ask. */
import { ExtentType, type NbdClient } from '@tsvirt/nbd';

/** The export's extents that hold data (not holes, not zeroes), in order. */
export async function* dataExtents(
  client: NbdClient,
): AsyncGenerator<{ offset: number; length: number }> {
  for (let at = 0; at < client.size;) {
    const extents = await client.blockStatus(Math.min(client.size - at, 2 ** 31), at);
    if (extents.length === 0) throw new Error(`no block status at offset ${at}`);
    for (const e of extents) {
      if (!(e.type & ExtentType.ZERO)) yield { offset: e.offset, length: e.length };
      at = e.offset + e.length;
    }
  }
}
