// `viewer GUEST`: the graphical console through remote-viewer or virt-viewer, which
// connect by themselves to the node's libvirt URI.
import { spawn } from 'node:child_process';
import which from 'which';
import { OperationError } from './errors.js';

const VIEWERS = ['virt-viewer', 'remote-viewer'] as const;

function findOnPath(program: string, path: string | undefined): string | null {
  return which.sync(program, { nothrow: true, ...(path !== undefined && { path }) });
}

/** The command line that shows `guest`: virt-viewer finds the display through the node's
 *  libvirt URI; remote-viewer needs the display's own URI (`display`, e.g. vnc://host:5900). */
export function viewerCommand(
  uri: string,
  guest: string,
  display: string | null,
  path?: string,
): { program: string; args: string[] } {
  for (const viewer of VIEWERS) {
    const program = findOnPath(viewer, path);
    if (program === null) continue;
    if (viewer === 'virt-viewer') return { program, args: ['--connect', uri, '--wait', guest] };
    if (display !== null) return { program, args: [display] };
  }
  if (display === null && VIEWERS.some((v) => findOnPath(v, path) !== null)) {
    throw new OperationError(
      'TOOL_MISSING',
      `guest ${guest} has no graphical display (no <graphics> in its XML); use \`mclu console ${guest}\``,
    );
  }
  throw new OperationError(
    'TOOL_MISSING',
    'neither virt-viewer nor remote-viewer is installed; install the virt-viewer package (apt-get install virt-viewer), or use `mclu console GUEST` for the serial console',
  );
}

/** Starts the viewer attached to the terminal; resolves with its exit status. */
export function runViewer(command: { program: string; args: string[] }): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command.program, command.args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? 1));
  });
}
