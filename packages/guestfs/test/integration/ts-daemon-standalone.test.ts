// The TypeScript daemon run on the host against a directory as its guest root (no VM:
// seconds): the protocol (errors, ENOTSUP, transfers, cancellation, progress, garbage), the
// file procedures checked against the host's own view of the same files, and a hostile tree
// whose symlinks and `..` try to reach files beside the root: they must not.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  type Guestfs,
  GuestfsCancelledError,
  GuestfsConnectionError,
  type Progress,
  procedures,
} from '../../src/index.js';
import { NAME_BYTES, rejectsWith } from '../support/daemon-suite.js';
import { RawClient, type TsDaemon, connectTsDaemon, startTsDaemon } from '../support/ts-daemon.js';

void describe('the TypeScript daemon on the host: protocol', () => {
  let g: Guestfs;
  let daemon: TsDaemon;
  before(async () => ({ g, daemon } = await connectTsDaemon()));
  after(() => g.close());

  void it('answers, reports errors with their errno, and stays usable', async () => {
    assert.equal(await g.echoDaemon(['hello', 'world']), 'hello world');
    await assert.rejects(
      g.cat('/missing'),
      rejectsWith('ENOENT', /^download: \/missing: No such file or directory$/),
    );
    await assert.rejects(g.isFile('relative'), /is_file_stub: path must start with a \/ character/);
    assert.equal(await g.echoDaemon(['ok']), 'ok');
  });

  void it('refuses a procedure it does not implement with ENOTSUP, whatever its transfer', async () => {
    await assert.rejects(g.inspectOs(), rejectsWith('ENOTSUP', /not supported by this daemon/));
    // A FileIn call: the upload must be drained before the error, or the next call is lost.
    await assert.rejects(
      g.tarIn(Readable.from([randomBytes(3 * 1024 * 1024)]), '/'),
      rejectsWith('ENOTSUP'),
    );
    await assert.rejects(g.tarOut('/', new PassThrough()), rejectsWith('ENOTSUP'));
    assert.equal(await g.echoDaemon(['still', 'here']), 'still here');
  });

  void it('answers an unknown procedure number and unknown optional arguments with errors', async () => {
    const raw = await RawClient.connect(await rawSocket());
    try {
      const unknown = await raw.call(procedures.echo_daemon, { words: [] }, 0n, 9999);
      assert.equal(unknown.ok, false);
      assert.match(!unknown.ok ? unknown.message : '', /unknown procedure number 9999/);
      const badMask = await raw.call(procedures.is_file, { path: '/', followsymlinks: false }, 2n);
      assert.match(
        !badMask.ok ? badMask.message : '',
        /unknown option in optional arguments bitmask/,
      );
    } finally {
      raw.close();
    }
  });

  /** A second daemon for raw clients (each daemon serves one connection). */
  async function rawSocket(): Promise<string> {
    const other = await startTsDaemon();
    extra.push(other);
    return other.socketPath;
  }
  const extra: TsDaemon[] = [];
  after(async () => {
    for (const d of extra) await d.stop();
  });

  void it('exits on garbage instead of guessing, and says why', async () => {
    const other = await startTsDaemon();
    extra.push(other);
    const socket = createConnection(other.socketPath);
    socket.on('error', () => undefined);
    socket.write(Buffer.from('7fffffff00000000', 'hex'));
    await new Promise((resolve) => other.process.once('exit', resolve));
    assert.equal(other.process.exitCode, 1);
    assert.match(other.log(), /more than GUESTFS_MESSAGE_MAX/);
    socket.destroy();
  });

  void it('transfers files of awkward sizes both ways, through paths and streams', async () => {
    for (const size of [0, 1, 8191, 8192, 8193, 3 * 1024 * 1024 + 5]) {
      const data = randomBytes(size);
      writeFileSync(join(daemon.base, 'in'), data);
      await g.upload(join(daemon.base, 'in'), '/remote');
      assert.deepEqual(readFileSync(join(daemon.root, 'remote')), data, `upload of ${size} bytes`);
      await g.download('/remote', join(daemon.base, 'out'));
      assert.deepEqual(readFileSync(join(daemon.base, 'out')), data, `download of ${size} bytes`);
    }
    const parts = [randomBytes(10_000), randomBytes(1), randomBytes(70_000)];
    await g.upload(Readable.from(parts), '/streamed');
    assert.deepEqual(await g.readFile('/streamed'), Buffer.concat(parts));
  });

  void it('cancels transfers from this side and from its own, and stays usable', async () => {
    writeFileSync(join(daemon.root, 'big'), randomBytes(32 * 1024 * 1024));
    const controller = new AbortController();
    let received = 0;
    const sink = new Writable({
      write(chunk: Buffer, _e, done) {
        received += chunk.byteLength;
        if (received > 1_000_000) controller.abort();
        done();
      },
    });
    await assert.rejects(
      g.with({ signal: controller.signal }).download('/big', sink),
      (e: unknown) => e instanceof GuestfsCancelledError && e.by === 'library',
    );
    const upload = new AbortController();
    const source = new PassThrough();
    source.write(randomBytes(100_000));
    const cancelled = g.with({ signal: upload.signal }).upload(source, '/cancelled');
    setTimeout(() => upload.abort(), 100);
    await assert.rejects(cancelled, (e: unknown) => e instanceof GuestfsCancelledError);
    // The daemon cancels an upload it cannot write; its reason comes back.
    await assert.rejects(
      g.upload(Readable.from([randomBytes(1_000_000)]), '/no/such/dir/file'),
      rejectsWith('ENOENT', /\/no\/such\/dir\/file: No such file or directory/),
    );
    mkdirSync(join(daemon.root, 'adir'));
    await assert.rejects(
      g.upload(Readable.from([Buffer.from('x')]), '/adir'),
      rejectsWith('EISDIR'),
    );
    assert.equal(await g.echoDaemon(['ok']), 'ok');
  });

  void it('sends progress messages during a long download', async () => {
    const seen: Progress[] = [];
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(_chunk: Buffer, _e, done) {
        setTimeout(done, 1);
      },
    });
    await g.with({ onProgress: (p) => seen.push(p) }).download('/big', slow);
    assert.ok(seen.length >= 2, `${seen.length} progress messages`);
    assert.equal(seen.at(-1)?.position, 32n * 1024n * 1024n);
    assert.equal(seen.at(-1)?.total, 32n * 1024n * 1024n);
  });

  void it('fails the call in flight with CLOSED when killed', async () => {
    const { g: doomed, daemon: victim } = await connectTsDaemon((root) =>
      writeFileSync(join(root, 'big'), randomBytes(64 * 1024 * 1024)),
    );
    const slow = new Writable({
      write(_c: Buffer, _e, done) {
        setTimeout(done, 5);
      },
    });
    const call = doomed.download('/big', slow);
    setTimeout(() => victim.process.kill('SIGKILL'), 300);
    await assert.rejects(
      call,
      (e: unknown) => e instanceof GuestfsConnectionError && e.code === 'CLOSED',
    );
    await doomed.close();
  });
});

void describe('the TypeScript daemon on the host: files, against the host’s view of them', () => {
  let g: Guestfs;
  let daemon: TsDaemon;
  const host = (p: string): string => join(daemon.root, p);
  before(async () => ({ g, daemon } = await connectTsDaemon()));
  after(() => g.close());

  void it('writes, appends, reads, lists and finds', async () => {
    await g.writeFile('/w.txt', 'Hello\n');
    await g.writeAppend('/w.txt', 'hello again\n');
    assert.equal(readFileSync(host('w.txt'), 'utf8'), 'Hello\nhello again\n');
    assert.deepEqual(await g.readLines('/w.txt'), ['Hello', 'hello again']);
    assert.equal((statSync(host('w.txt')).mode & 0o777).toString(8), '644');
    await g.mkdirP('/a/b/c');
    await g.mkdirP('/a/b/c'); // already there: fine
    assert.equal((statSync(host('a/b')).mode & 0o777).toString(8), '755');
    await g.touch('/a/b/c/t');
    assert.deepEqual(await g.ls('/'), ['a', 'w.txt']);
    assert.deepEqual(await g.find('/a'), ['/b', '/b/c', '/b/c/t']);
    assert.equal(await g.filesize('/w.txt'), 18n);
    assert.equal(await g.isDir('/a/b'), true);
    assert.equal(await g.isFile('/a/b'), false);
    assert.equal(await g.exists('/a/b/c/t'), true);
    assert.equal(await g.exists('/a/nothing'), false);
    await assert.rejects(g.mkdirP('/w.txt/x'), /a path element was not a directory/);
  });

  void it('moves, copies, links, changes modes and removes', async () => {
    await g.cp('/w.txt', '/a'); // into a directory
    assert.equal(readFileSync(host('a/w.txt'), 'utf8'), 'Hello\nhello again\n');
    await g.mv('/a/w.txt', '/a/b/moved');
    assert.deepEqual(readdirSync(host('a')).sort(), ['b']);
    await g.lnSf('../w.txt', '/a/link');
    assert.equal(await g.readlink('/a/link'), '../w.txt');
    await g.lnSf('/elsewhere', '/a/link'); // -f: replaced
    assert.equal(lstatSync(host('a/link')).isSymbolicLink(), true);
    assert.equal(await g.readlink('/a/link'), '/elsewhere');
    await g.chmod(0o600, '/a/b/moved');
    assert.equal((statSync(host('a/b/moved')).mode & 0o7777).toString(8), '600');
    await g.rm('/a/link');
    await g.rmF('/a/link'); // already gone: fine
    await assert.rejects(g.rm('/a/link'), rejectsWith('ENOENT'));
    await assert.rejects(g.rm('/a/b'), rejectsWith('EISDIR'));
    await g.rmRf('/a');
    assert.deepEqual(readdirSync(daemon.root), ['w.txt']);
    await g.rmRf('/a'); // nothing there: fine
    await assert.rejects(g.rmRf('/'), /cannot remove root directory/);
  });

  void it('stats as the host does, to the nanosecond', async () => {
    const s = await g.statns('/w.txt');
    const h = lstatSync(host('w.txt'), { bigint: true });
    assert.equal(s.st_ino, h.ino);
    assert.equal(s.st_mode, h.mode);
    assert.equal(s.st_size, h.size);
    assert.equal(s.st_mtime_sec * 1_000_000_000n + s.st_mtime_nsec, h.mtimeNs);
    const v = await g.statvfs('/');
    const [bsize, blocks, files] = execFileSync('stat', ['-f', '-c', '%S %b %c', daemon.root], {
      encoding: 'utf8',
    })
      .trim()
      .split(' ');
    assert.equal(v.frsize, BigInt(bsize!));
    assert.equal(v.blocks, BigInt(blocks!));
    assert.equal(v.files, BigInt(files!));
    assert.equal(v.namemax, 255n);
  });

  void it('expands globs as glob(3) does', async () => {
    for (const d of ['x1', 'x2', 'x10', 'y', '.hidden']) mkdirSync(host(d));
    writeFileSync(host('x1/f'), '');
    writeFileSync(host('x2/f'), '');
    assert.deepEqual(await g.globExpand('/x*'), ['/x1/', '/x10/', '/x2/']);
    assert.deepEqual(await g.globExpand('/x*', { directoryslash: false }), ['/x1', '/x10', '/x2']);
    assert.deepEqual(await g.globExpand('/x?/f'), ['/x1/f', '/x2/f']);
    assert.deepEqual(await g.globExpand('/[xy][[:digit:]]'), ['/x1/', '/x2/']);
    assert.deepEqual(await g.globExpand('/{y,x1}'), ['/y/', '/x1/']);
    assert.deepEqual(await g.globExpand('/*hidden'), []);
    assert.deepEqual(await g.globExpand('/.h*'), ['/.hidden/']);
    assert.deepEqual(await g.globExpand('/nothing*'), []);
  });

  void it('finds the true case of a path', async () => {
    mkdirSync(host('Windows/System32'), { recursive: true });
    writeFileSync(host('Windows/System32/Config.SYS'), '');
    assert.equal(
      await g.caseSensitivePath('/windows/system32/config.sys'),
      '/Windows/System32/Config.SYS',
    );
    assert.equal(await g.caseSensitivePath('/WINDOWS//system32/new'), '/Windows/System32/new');
    await assert.rejects(g.caseSensitivePath('/windows/nothing/x'), /nothing: not found/);
    await assert.rejects(
      g.caseSensitivePath('/windows/..'),
      /path contains "\." or "\.\." elements/,
    );
    await assert.rejects(g.caseSensitivePath('/w.txt/x'), /chdir: w\.txt: Not a directory/);
  });
});

void describe('the TypeScript daemon on the host: a hostile tree', () => {
  let g: Guestfs;
  let daemon: TsDaemon;
  let outsideBefore: string;
  const host = (p: string): string => join(daemon.root, p);
  const shadowBefore = fingerprint('/etc/shadow');

  before(async () => {
    ({ g, daemon } = await connectTsDaemon((root, base) => {
      // Beside the guest's root: what nothing may read or write.
      mkdirSync(join(base, 'outside'));
      writeFileSync(join(base, 'outside/secret'), 'HOST SECRET\n');
      // Decoys inside the guest where the escaping links lead once kept inside it.
      mkdirSync(join(root, 'outside'));
      mkdirSync(join(root, base, 'outside'), { recursive: true });
      mkdirSync(join(root, 'etc'));
      writeFileSync(join(root, 'etc/shadow'), 'GUEST SHADOW\n');
      writeFileSync(join(root, 'file'), 'a file\n');
      mkdirSync(join(root, 'links'));
      const link = (target: string, name: string): void =>
        symlinkSync(target, join(root, 'links', name));
      link('/etc/shadow', 'abs-shadow');
      link('../../../../../../../../etc/shadow', 'rel-shadow');
      link('../../outside/secret', 'rel-secret');
      link(join(base, 'outside/secret'), 'host-abs-secret');
      link('../../outside', 'out-dir');
      link(join(base, 'outside'), 'host-out-dir');
      link('/..', 'root-parent');
      link('loop-b', 'loop-a');
      link('loop-a', 'loop-b');
      link('self', 'self');
      link('/file/x', 'through-file');
      mkdirSync(join(root, 'names'));
      const named = (...bytes: number[]): Buffer =>
        Buffer.concat([Buffer.from(`${root}/names/`), Buffer.from(bytes)]);
      for (const b of NAME_BYTES) writeFileSync(named(0x6e, b, 0x6e), '');
      writeFileSync(named(0xff, 0xfe), 'not UTF-8');
      writeFileSync(named(...NAME_BYTES), 'all');
    }));
    outsideBefore = snapshot(join(daemon.base, 'outside'));
  });
  after(() => g.close());

  void it('reads through symlinks and `..` inside the guest, never outside it', async () => {
    assert.equal(await g.cat('/links/abs-shadow'), 'GUEST SHADOW\n');
    assert.equal(await g.cat('/links/rel-shadow'), 'GUEST SHADOW\n');
    assert.equal(await g.cat('/../../../../etc/shadow'), 'GUEST SHADOW\n');
    assert.equal(await g.cat('/links/root-parent/etc/shadow'), 'GUEST SHADOW\n');
    for (const escape of [
      '/links/rel-secret',
      '/links/host-abs-secret',
      '/links/out-dir/secret',
      '/links/host-out-dir/secret',
    ]) {
      await assert.rejects(g.cat(escape), rejectsWith('ENOENT'), escape);
      assert.equal(await g.isFile(escape, { followsymlinks: true }), false);
    }
    assert.equal(await g.realpath('/links/rel-shadow'), '/etc/shadow');
    assert.equal(await g.realpath('/links/root-parent'), '/');
    assert.deepEqual(await g.globExpand('/links/out-dir/*'), []);
    assert.equal(await g.caseSensitivePath('/LINKS/out-dir'), '/links/out-dir');
  });

  void it('writes through escaping links land inside the guest', async () => {
    await g.writeFile('/links/out-dir/secret', 'written');
    await g.upload(Readable.from([Buffer.from('uploaded')]), '/links/host-out-dir/secret');
    await g.mkdirP('/links/out-dir/made');
    await g.cp('/etc/shadow', '/links/out-dir/copied');
    await g.lnSf('/etc/shadow', '/links/out-dir/linked');
    await assert.rejects(g.touch('/links/rel-secret'), /touch can only be used on a regular files/);
    await g.touch('/links/out-dir/touched');
    await g.chmod(0o777, '/links/rel-shadow');
    await g.mv('/links/out-dir/copied', '/links/root-parent/moved');
    assert.equal(readFileSync(host('outside/secret'), 'utf8'), 'written');
    assert.deepEqual(readdirSync(host('outside')).sort(), ['linked', 'made', 'secret', 'touched']);
    assert.equal(readFileSync(host(join(daemon.base, 'outside/secret')), 'utf8'), 'uploaded');
    assert.equal(readFileSync(host('moved'), 'utf8'), 'GUEST SHADOW\n');
    assert.equal(statSync(host('etc/shadow')).mode & 0o777, 0o777);
    await g.rmRf('/links/out-dir/made');
    await g.rmRf('/links/host-out-dir'); // the link itself, not what it points to
    assert.equal(lstatSync(host('links/out-dir')).isSymbolicLink(), true);
    assert.equal(
      snapshot(join(daemon.base, 'outside')),
      outsideBefore,
      'nothing outside the root changed',
    );
    assert.equal(fingerprint('/etc/shadow'), shadowBefore, "the host's /etc/shadow is untouched");
  });

  void it('stops symlink loops and refuses a file where a directory is expected', async () => {
    for (const loop of ['/links/loop-a', '/links/self']) {
      await assert.rejects(g.cat(loop), rejectsWith('ELOOP'));
      await assert.rejects(g.writeFile(loop, 'x'), rejectsWith('ELOOP'));
      assert.equal(await g.readlink(loop), loop === '/links/self' ? 'self' : 'loop-b');
    }
    await assert.rejects(
      g.isFile('/links/loop-a', { followsymlinks: true }),
      /Too many levels of symbolic links/,
    );
    await assert.rejects(g.cat('/file/x'), rejectsWith('ENOTDIR'));
    await assert.rejects(g.cat('/links/through-file'), rejectsWith('ENOTDIR'));
    await assert.rejects(g.writeFile('/file/x', 'x'), rejectsWith('ENOTDIR'));
    await assert.rejects(g.ls('/file'), rejectsWith('ENOTDIR'));
    assert.equal(await g.isFile('/file/x'), false);
    assert.equal(await g.exists('/file/x'), false);
    assert.equal(readFileSync(host('file'), 'utf8'), 'a file\n');
  });

  void it('handles names with every byte a name may hold', async () => {
    const utf8Names = NAME_BYTES.filter((b) => b < 0x80).map((b) => `n${String.fromCharCode(b)}n`);
    const listed = await g.ls('/names');
    for (const name of utf8Names) {
      assert.ok(listed.includes(name), JSON.stringify(name));
      assert.equal(await g.isFile(`/names/${name}`), true, JSON.stringify(name));
    }
    await g.mv('/names/n\nn', '/names/n\tn moved');
    assert.equal(await g.exists('/names/n\tn moved'), true);
    await g.rm('/names/n*n');
    assert.equal(await g.exists('/names/n*n'), false);
    assert.equal(await g.exists('/names/n?n'), true, 'a glob character is not a glob here');
    // Names that are not UTF-8, as the C library sends them (bytes).
    const raw = await RawClient.connect((await rawDaemon()).socketPath);
    try {
      for (const b of NAME_BYTES.filter((b) => b >= 0x80)) {
        const name = `/names/n${String.fromCharCode(b)}n`;
        const r = await raw.call(procedures.is_file, { path: name, followsymlinks: false }, 0n);
        assert.deepEqual(r.ok && r.ret, { fileflag: true }, name);
      }
      const all = `/names/${String.fromCharCode(...NAME_BYTES)}`;
      const download = await raw.call(procedures.download, { remotefilename: all });
      assert.equal(download.ok && download.chunks.toString(), 'all');
      const globbed = await raw.call(procedures.glob_expand, {
        pattern: '/names/\xff*',
        directoryslash: false,
      });
      assert.deepEqual(globbed.ok && globbed.ret, { paths: ['/names/\xff\xfe'] });
      const cased = await raw.call(procedures.case_sensitive_path, { path: '/NAMES/\xff\xfe' });
      assert.deepEqual(cased.ok && cased.ret, { rpath: '/names/\xff\xfe' });
      const ls = await raw.call(procedures.ls0, { dir: '/names' });
      assert.ok(
        ls.ok && ls.chunks.includes(Buffer.concat([Buffer.from(NAME_BYTES), Buffer.from([0])])),
      );
    } finally {
      raw.close();
    }
  });

  /** The same tree served by a second daemon, for the raw client. */
  async function rawDaemon(): Promise<TsDaemon> {
    const other = await startTsDaemon();
    execFileSync('cp', ['-a', `${daemon.root}/names`, other.root]);
    rawDaemons.push(other);
    return other;
  }
  const rawDaemons: TsDaemon[] = [];
  after(async () => {
    for (const d of rawDaemons) await d.stop();
  });
});

/** A directory's names, contents and times, to compare before and after. */
function snapshot(dir: string): string {
  return readdirSync(dir)
    .sort()
    .map((name) => {
      const s = lstatSync(join(dir, name), { bigint: true });
      const content = s.isFile()
        ? createHash('sha256')
            .update(readFileSync(join(dir, name)))
            .digest('hex')
        : '';
      return `${name} ${s.mode} ${s.size} ${s.mtimeNs} ${s.ctimeNs} ${content}`;
    })
    .join('\n');
}

function fingerprint(path: string): string {
  const s = lstatSync(path, { bigint: true });
  return `${s.size} ${s.mtimeNs} ${s.ctimeNs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
}
