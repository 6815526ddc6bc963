/**
 * `-i ova FILE`: an OVA, either a tar file (read in place: each disk is a slice of the tar)
 * or a directory holding the OVF, the manifest and the disks. The manifest's checksums
 * (SHA1 or SHA256, `SHA256(file)= hex`) are verified before anything else, as virt-v2v does.
 * Compressed OVAs are refused (unpack them and give the directory).
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { V2vError } from '../errors.js';
import type { DiskLocation, SourceGuest } from '../source.js';
import { parseOvf } from './ovf.js';
import { type TarMember, listTar } from './tar.js';

interface OvaContents {
  /** Reads a member whole (the OVF, the manifest). */
  read(name: string): Buffer;
  location(name: string, format: string): DiskLocation;
  has(name: string): boolean;
  names: string[];
  stream(name: string): NodeJS.ReadableStream;
}

function tarContents(path: string, members: TarMember[]): OvaContents {
  const byName = new Map(members.map((m) => [m.name.replace(/^\.\//, ''), m]));
  const member = (name: string): TarMember => {
    const m = byName.get(name);
    if (!m) throw new V2vError('INPUT', `${path}: the OVA has no file ${name}`);
    return m;
  };
  return {
    names: [...byName.keys()],
    has: (name) => byName.has(name),
    read(name) {
      const m = member(name);
      return readSlice(path, m.offset, m.size);
    },
    location: (name, format) => {
      const m = member(name);
      return { path, format, offset: m.offset, size: m.size };
    },
    stream: (name) => {
      const m = member(name);
      return createReadStream(path, { start: m.offset, end: m.offset + m.size - 1 });
    },
  };
}

/** A slice of a file (the OVF or the manifest inside a tar). */
function readSlice(path: string, offset: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, size, offset);
  } finally {
    closeSync(fd);
  }
  return buf;
}

function dirContents(dir: string): OvaContents {
  const file = (name: string): string => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new V2vError('INPUT', `${dir}: the OVA has no file ${name}`);
    return path;
  };
  return {
    names: readdirSync(dir),
    has: (name) => existsSync(join(dir, name)),
    read: (name) => readFileSync(file(name)),
    location: (name, format) => ({ path: file(name), format }),
    stream: (name) => createReadStream(file(name)),
  };
}

async function digest(stream: NodeJS.ReadableStream, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checks every line `SHA1(name)= hex` / `SHA256(name)= hex` of the manifest. */
async function verifyManifest(ova: OvaContents, manifest: string, where: string): Promise<void> {
  for (const line of ova.read(manifest).toString('utf8').split(/\r?\n/)) {
    const m = /^(SHA1|SHA256)\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*$/.exec(line.trim());
    if (!m) continue;
    const [, algorithm, name, expected] = m as unknown as [string, string, string, string];
    if (!ova.has(name))
      throw new V2vError(
        'INPUT',
        `${where}: the manifest ${manifest} lists ${name}, which the OVA does not hold`,
      );
    const actual = await digest(ova.stream(name), algorithm.toLowerCase());
    if (actual !== expected.toLowerCase())
      throw new V2vError(
        'INPUT',
        `${where}: ${name} does not match its ${algorithm} checksum in ${manifest} (corrupt or incomplete download?)`,
      );
  }
}

export async function ovaSource(path: string): Promise<SourceGuest> {
  if (!existsSync(path)) throw new V2vError('INPUT', `${path}: no such file or directory`);
  let ova: OvaContents;
  if (statSync(path).isDirectory()) ova = dirContents(path);
  else {
    const members = listTar(path);
    if (members === null) {
      const head = readSlice(path, 0, Math.min(6, statSync(path).size));
      const compressed = head[0] === 0x1f && head[1] === 0x8b ? 'gzip-compressed ' : '';
      throw new V2vError(
        'INPUT',
        `${path}: not an OVA (neither a directory nor an uncompressed tar file)${compressed ? `; it is ${compressed}: unpack it (tar xf) and give the directory` : ''}`,
      );
    }
    ova = tarContents(path, members);
  }
  const ovfs = ova.names.filter((n) => /\.ovf$/i.test(n));
  if (ovfs.length !== 1)
    throw new V2vError(
      'INPUT',
      `${path}: an OVA holds exactly one .ovf file, this one ${ovfs.length === 0 ? 'none' : `several (${ovfs.join(', ')})`}`,
    );
  const ovfName = ovfs[0]!;
  const guest = parseOvf(ova.read(ovfName).toString('utf8'), `${path}: ${ovfName}`);
  for (const disk of guest.disks)
    if (!ova.has(disk.href))
      throw new V2vError(
        'INPUT',
        `${path}: the OVF names the disk file ${disk.href}, which the OVA does not hold`,
      );
  for (const manifest of ova.names.filter((n) => /\.mf$/i.test(n)))
    await verifyManifest(ova, manifest, path);
  return {
    name: guest.name,
    hypervisor: 'ova',
    memoryBytes: guest.memoryBytes,
    vcpus: guest.vcpus,
    firmware: guest.firmware,
    disks: guest.disks.map((d) => ({
      location: ova.location(d.href, d.format),
      controller: d.controller,
    })),
    nics: guest.nics.length > 0 ? guest.nics : [{ mac: null, network: 'default', type: 'network' }],
  };
}
