import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import {
  createProgram,
  ExitStatus,
  messageOf,
  packageVersion,
  progressBar,
  reportFailure,
  signalStatus,
  UsageError,
} from '../../src/index.js';

/** Runs `work` with process.stderr.write captured; returns what it wrote. */
function stderrOf(work: () => void): string {
  let written = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string | Uint8Array): boolean => {
    written += String(chunk);
    return true;
  };
  try {
    work();
  } finally {
    process.stderr.write = write;
  }
  return written;
}

const KIT = new URL('../../src/index.js', import.meta.url).href;

/** A program run in a child process, as users run it: its status and output. */
function run(body: string, args: string[]): { status: number | null; out: string; err: string } {
  const script = `import * as kit from '${KIT}';\n${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, 'demo', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const DEMO = `
const program = kit.createProgram('demo', 'a demonstration', '1.2.3');
program.command('fail').action(() => { throw new kit.UsageError('--size 0: too small'); });
program.command('crash').action(() => { throw new TypeError('x is undefined'); });
program.command('status').action(() => { process.exitCode = 7; });
program.command('known').action(() => { throw new RangeError('the disk is full'); });
await kit.runProgram(program, { expected: (e) => e instanceof RangeError });
`;

void describe('commands', () => {
  void it('--version and --help succeed, with what the program says', () => {
    assert.deepEqual(run(DEMO, ['--version']), { status: 0, out: '1.2.3\n', err: '' });
    const help = run(DEMO, ['--help']);
    assert.equal(help.status, 0);
    assert.match(help.out, /^Usage: demo \[options\] \[command\]\n\na demonstration\n/);
    assert.match(help.out, /--debug +show stack traces of errors/);
  });

  void it('usage errors exit with status 2 and point to --help', () => {
    for (const args of [[], ['bogus'], ['fail'], ['status', 'extra'], ['--nope']]) {
      const r = run(DEMO, args);
      assert.equal(r.status, ExitStatus.usage, `${args.join(' ')}: ${r.err}`);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
    assert.match(
      run(DEMO, ['bogus']).err,
      /unknown command 'bogus'\n\(run `demo --help` for usage\)/,
    );
    assert.equal(run(DEMO, ['fail']).err, 'demo: --size 0: too small\n');
  });

  void it('failures are one line with status 1; unexpected ones hint at --debug', () => {
    assert.deepEqual(run(DEMO, ['known']), { status: 1, out: '', err: 'demo: the disk is full\n' });
    const crash = run(DEMO, ['crash']);
    assert.equal(crash.status, 1);
    assert.equal(
      crash.err,
      'demo: x is undefined\n(an unexpected error: run with --debug for the details)\n',
    );
    const debug = run(DEMO, ['crash', '--debug']);
    assert.match(debug.err, /^demo: x is undefined\nTypeError: x is undefined\n\s+at /);
  });

  void it('an action may set the exit status itself', () => {
    assert.equal(run(DEMO, ['status']).status, 7);
  });

  void it('a closed pipe on stdout ends the command quietly', () => {
    const yes = `
      import * as kit from '${KIT}';
      const program = kit.createProgram('yes', 'prints y forever', '1.0.0');
      program.action(async () => {
        for (;;) await new Promise((written) => process.stdout.write('y\\n', written));
      });
      await kit.runProgram(program);`;
    const pipeline = '"$0" --input-type=module -e "$1" | head -c 1';
    const r = spawnSync('sh', ['-c', pipeline, process.execPath, yes], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.stdout, 'y');
    assert.equal(r.stderr, '');
  });

  void it("the label, the message and the status can be the command's own", () => {
    const err = stderrOf(() => {
      const status = reportFailure('mclu', new Error('interrupted'), {
        label: 'error:',
        message: (error) => `${messageOf(error)} by Ctrl-C`,
        expected: () => true,
        status: () => signalStatus('SIGINT'),
      });
      assert.equal(status, 130);
    });
    assert.equal(err, 'mclu: error: interrupted by Ctrl-C\n');
  });
});

void describe('helpers', () => {
  void it('messageOf gives the message of anything thrown', () => {
    assert.equal(messageOf(new UsageError('bad')), 'bad');
    assert.equal(messageOf('text'), 'text');
    assert.equal(messageOf(42), '42');
  });

  void it('signalStatus is 128 + the signal number', () => {
    assert.equal(signalStatus('SIGINT'), 130);
    assert.equal(signalStatus('SIGTERM'), 143);
  });

  void it("packageVersion finds the module's package.json however deep the module is", () => {
    const own = JSON.parse(
      readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    assert.equal(packageVersion(import.meta.url), own.version);
    assert.throws(() => packageVersion('file:///x.js'), /no package.json with a version above \//);
  });

  void it('a program made by createProgram reads its own version', () => {
    assert.equal(createProgram('p', 'd', packageVersion(import.meta.url)).version(), '0.1.0');
  });
});

void describe('progress bars', () => {
  void it('draw nothing where nobody watches', () => {
    const stream = new PassThrough();
    const bar = progressBar('copy', { show: false, stream });
    bar.update(1n, 2n);
    bar.stop();
    assert.equal(stream.read(), null);
  });

  void it('show MiB of MiB, and are gone when done', () => {
    const stream = new PassThrough();
    const bar = progressBar('upload', { show: true, stream });
    bar.update(0, 4 * 2 ** 20);
    bar.update(2n * 2n ** 20n, 4n * 2n ** 20n);
    bar.update(4 * 2 ** 20, 4 * 2 ** 20);
    bar.stop(); // a second stop is harmless
    const text = String(stream.read());
    assert.match(text, /^upload \[[░█]+\] 0% 0\/4 MiB\n/);
    assert.match(text, /upload \[█+\] 100% 4\/4 MiB\n$/);
  });
});

void describe('child processes', () => {
  void it('killOnExit: a child still running when the process exits is killed', () => {
    const kit = new URL('../../src/index.js', import.meta.url).href;
    const script = `
      import { spawn } from 'node:child_process';
      import { killOnExit } from '${kit}';
      const child = spawn('sleep', ['60'], { stdio: 'ignore' });
      killOnExit(child);
      console.log(child.pid);
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const pid = Number(r.stdout.trim());
    assert.ok(pid > 0);
    // Killed by the exit hook, then reaped by init: gone, or at most a zombie for a moment.
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      try {
        alive = !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
      } catch {
        alive = false;
      }
      if (alive) spawnSync('sleep', ['0.1']);
    }
    assert.equal(alive, false, 'the child is gone');
  });
});
