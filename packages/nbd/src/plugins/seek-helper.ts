// Node has neither lseek(SEEK_DATA/SEEK_HOLE) nor fallocate(PUNCH_HOLE). Both are reached
// through one small Perl coprocess per file (perl-base is Essential on Debian): Perl's sysseek
// takes any whence, and its syscall() calls fallocate(2) directly. Without Perl (or on an
// architecture whose fallocate number is not listed) callers fall back: extents report all
// data and holes are not punched.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';

const FALLOCATE_SYSCALL: Partial<Record<string, number>> = { x64: 285, arm64: 47 };
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const FALLOC_FL_ZERO_RANGE = 0x10;

const SCRIPT = `
use strict; $| = 1;
my ($path, $nr) = @ARGV;
open(my $fh, '<', $path) or die "open $path: $!\\n";
my $wfh;
while (my $line = <STDIN>) {
  my ($op, $a, $b) = split ' ', $line;
  if ($op eq 'S') {
    my $d = sysseek($fh, $a, 3);
    if (!defined $d) { print "-1 -1\\n"; next; }
    my $h = sysseek($fh, $d, 4);
    printf "%s %s\\n", $d + 0, defined $h ? $h + 0 : -1;
  } elsif ($op eq 'F') {
    # F MODE OFFSET LENGTH: fallocate(2). Numbers get "+ 0": syscall() passes strings as pointers.
    my ($mode, $off, $len) = ($a, $b, (split ' ', $line)[3]);
    if (!$wfh) { open($wfh, '+<', $path) or do { print "ERR $!\\n"; next; }; }
    my $r = $nr > 0 ? syscall($nr + 0, fileno($wfh), $mode + 0, $off + 0, $len + 0) : -1;
    print $r == 0 ? "OK\\n" : "ERR $!\\n";
  }
}
`;

export class SeekHelper {
  private child: ChildProcessWithoutNullStreams | undefined;
  private lines: Interface | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private broken = false;

  constructor(private readonly path: string) {}

  private start(): { child: ChildProcessWithoutNullStreams; lines: Interface } | undefined {
    if (this.broken) return undefined;
    if (!this.child || !this.lines) {
      const nr = FALLOCATE_SYSCALL[process.arch] ?? 0;
      const child = spawn('perl', ['-e', SCRIPT, this.path, String(nr)], { stdio: 'pipe' });
      child.on('error', () => (this.broken = true));
      child.on('exit', () => {
        this.child = undefined;
        this.lines = undefined;
      });
      child.stderr.resume();
      child.unref();
      (child.stdin as unknown as { unref?: () => void }).unref?.();
      this.child = child;
      this.lines = createInterface({ input: child.stdout });
    }
    return { child: this.child, lines: this.lines };
  }

  private ask(request: string): Promise<string | undefined> {
    const run = async (): Promise<string | undefined> => {
      const helper = this.start();
      if (!helper) return undefined;
      return new Promise<string | undefined>((resolve) => {
        const onLine = (line: string) => {
          cleanup();
          resolve(line);
        };
        const onGone = () => {
          cleanup();
          this.broken = true;
          resolve(undefined);
        };
        const cleanup = () => {
          helper.lines.off('line', onLine);
          helper.child.off('exit', onGone);
          helper.child.off('error', onGone);
        };
        helper.lines.once('line', onLine);
        helper.child.once('exit', onGone);
        helper.child.once('error', onGone);
        helper.child.stdin.write(request + '\n');
      });
    };
    const result = this.queue.then(run, run);
    this.queue = result;
    return result;
  }

  /** [dataStart, holeStart] at or after `offset`; dataStart -1 means only hole remains. */
  async seek(offset: number): Promise<[number, number] | undefined> {
    const reply = await this.ask(`S ${offset}`);
    if (!reply) return undefined;
    const [d, h] = reply.split(' ').map(Number);
    return d === undefined || h === undefined || Number.isNaN(d) ? undefined : [d, h];
  }

  /** Punches a hole (reads back as zeroes); false when that is not possible here. */
  async punchHole(offset: number, length: number): Promise<boolean> {
    const mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
    return (await this.ask(`F ${mode} ${offset} ${length}`)) === 'OK';
  }

  /** Zeroes a range without deallocating it (FALLOC_FL_ZERO_RANGE); false when unsupported. */
  async zeroRange(offset: number, length: number): Promise<boolean> {
    const mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    return (await this.ask(`F ${mode} ${offset} ${length}`)) === 'OK';
  }

  close(): void {
    this.child?.stdin.end();
    this.child = undefined;
  }
}
