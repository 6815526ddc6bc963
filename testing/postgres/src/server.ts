// A throwaway PostgreSQL 15 server for the tests: initdb + pg_ctl on a unix socket in a
// temporary directory, run as the `postgres` user when we are root (postgres refuses root),
// stopped by its postmaster pid.
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PG_BIN = process.env['PGTS_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

export interface TestServer {
  /** A connection string for pg (unix socket). */
  url: string;
  socketDir: string;
  port: number;
  /** Environment variables (PGHOST...) that point libpq-style clients at the server. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (for clients that cannot use a unix socket, like pgtyped). */
export function freeLoopbackPort(): number {
  const script =
    "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

/** Starts a server on a unix socket; with `tcp`, also on 127.0.0.1 at a free port. */
export function startPostgres(options: { tcp?: boolean } = {}): TestServer {
  if (!existsSync(join(PG_BIN, 'initdb'))) {
    throw new Error(
      `PostgreSQL server binaries not found in ${PG_BIN}: install Debian's postgresql package ` +
        `(scripts/install-debian-packages) or set PGTS_PG_BIN`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'pgts-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]): void => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args]]
      : [join(PG_BIN, cmd), args];
    const result = spawnSync(file, argv, { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`${cmd} failed (${result.status}): ${result.stderr}${result.stdout}`);
    }
  };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = options.tcp === true ? freeLoopbackPort() : 5432;
  const listen = options.tcp === true ? '127.0.0.1' : "''";
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  run('pg_ctl', [
    '-D',
    data,
    '-w',
    '-l',
    join(dir, 'server.log'),
    '-o',
    `-k ${dir} -c listen_addresses=${listen} -p ${port} -c fsync=off`,
    'start',
  ]);
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const url = `postgresql://postgres@/postgres?host=${encodeURIComponent(dir)}&port=${port}`;
  return {
    url,
    socketDir: dir,
    port,
    env: { PGHOST: dir, PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: 'postgres' },
    async stop(): Promise<void> {
      try {
        process.kill(pid, 'SIGINT'); // fast shutdown
      } catch {
        // already gone
      }
      for (let i = 0; i < 200 && isAlive(pid); i++) await sleep(50);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
