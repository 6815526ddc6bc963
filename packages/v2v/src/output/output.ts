/**
 * Where the converted guest goes. An output is asked to check itself before the conversion
 * starts (nothing written), then to copy each converted disk (read from its overlay, an NBD
 * URI), then to write the metadata last; on a failure it removes what it made.
 */
import type { DomainXmlInput, TargetDisk } from '../domain-xml.js';

export interface CopyStats {
  readonly size: number;
  /** Bytes read from the overlay and written to the target. */
  readonly dataBytes: number;
  /** Bytes skipped as holes or zeroes. */
  readonly zeroBytes: number;
}

export interface DiskTarget {
  readonly index: number;
  readonly size: number;
  /** The converted disk, through its overlay. */
  readonly uri: string;
}

/** The domain XML's input, less what the output decides (disks, domain type, network). */
export type GuestMetadata = Omit<DomainXmlInput, 'disks' | 'domainType' | 'network' | 'serialLog'>;

export type ProgressCallback = (done: number, total: number) => void;

export interface Output {
  /** For messages: "-o local -os /var/tmp/out". */
  readonly description: string;
  /** Checks that the guest can be written (name free, directory or pool present...). */
  prepare(name: string, disks: readonly { size: number }[]): Promise<void>;
  /** Where each disk will be (for the plan and the metadata). */
  targets(name: string, count: number): TargetDisk[];
  writeDisk(name: string, disk: DiskTarget, onProgress: ProgressCallback): Promise<CopyStats>;
  /** Writes or defines the metadata, for the disks written; returns where (a file, a domain). */
  finish(guest: GuestMetadata, diskCount: number): Promise<string>;
  /** Removes whatever this output made so far (after a failure). */
  abandon(): Promise<void>;
  /** Releases what it holds (connections), success or not. */
  close?(): Promise<void>;
}
