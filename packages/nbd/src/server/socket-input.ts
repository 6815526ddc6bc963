// An accepted socket that reads into large buffers of its own. By default Node reads a
// socket 64 KiB at a time, each read into a freshly allocated buffer: a 256 KiB WRITE costs
// four or five read system calls and four buffers for the garbage collector, and a 28-byte
// request a 64 KiB buffer. Node's `onread` option (net.Socket) reads into a buffer the
// program provides instead; here a 1 MiB slab, filled from where the last read stopped, so
// that one read takes what the kernel holds (about 200 KiB for a unix socket) and every
// chunk is a view of the slab, never copied.
//
// `onread` is an option of the net.Socket constructor only, and a server creates its
// sockets itself; so the accepted socket's handle (the kernel socket, not yet read: servers
// accept with pauseOnConnect, and a socket handed over IPC is re-created here before its
// first read) is given to a new net.Socket with `onread`, and the old socket object is
// retired without closing it. That relies on `_handle`, which Node does not document; where
// it is missing, or bytes were already read, the socket is served as it came.
import net from 'node:net';

const SLAB_BYTES = 1 << 20;
/** Each read is offered at least this much room: more than a socket's kernel buffer. */
const MIN_ROOM = 256 << 10;

interface SocketInternals {
  _handle?: object | null;
}

/**
 * `accepted` re-created to read into slabs of its own; it emits 'data' (views of the slabs,
 * which are never reused: a view stays valid as long as it is held) and every other event as
 * any socket. Returns `accepted` itself when it cannot be re-created.
 */
export function readIntoSlabs(accepted: net.Socket): net.Socket {
  const internals = accepted as net.Socket & SocketInternals;
  const handle = internals._handle;
  if (!handle || accepted.readableLength > 0 || accepted.destroyed) return accepted;
  let slab = Buffer.allocUnsafe(SLAB_BYTES);
  let used = 0;
  const socket: net.Socket = new net.Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      // Asked before the first read and after each one: where the next read goes.
      buffer: () => slab.subarray(used),
      callback: (n: number) => {
        const chunk = slab.subarray(used, used + n);
        used += n;
        if (SLAB_BYTES - used < MIN_ROOM) {
          slab = Buffer.allocUnsafe(SLAB_BYTES);
          used = 0;
        }
        socket.emit('data', chunk);
      },
    },
  } as net.SocketConstructorOpts);
  // The handle belongs to the new socket now: retire the old object without closing it (a
  // server counts its connections down when they are destroyed).
  internals._handle = null;
  accepted.destroy();
  return socket;
}
