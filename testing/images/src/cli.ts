#!/usr/bin/env node
// testimages: build (or find in the cache) a Debian test image and print where it is.
import {
  createProgram,
  InvalidArgumentError,
  Option,
  packageVersion,
  runProgram,
} from '@tsvirt/cli-kit';
import { debianImage, type DebianImageOptions } from './index.js';

function modules(text: string): DebianImageOptions['initramfsModules'] {
  if (text === 'most') return 'most';
  const list = text.split(',').filter((m) => m !== '');
  if (list.length === 0) throw new InvalidArgumentError('give "most" or a comma-separated list');
  return list;
}

function size(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('a whole number of GiB, e.g. 4');
  return Number(text);
}

const program = createProgram(
  'testimages',
  'Debian 12 guest disk images for the tests, built once and cached by recipe',
  packageVersion(import.meta.url),
);

program
  .command('debian')
  .description('print the path of a Debian 12 disk image, building it first if needed (3-5 min)')
  .addOption(
    new Option('--layout <layout>', 'disk layout')
      .choices(['mbr-ext4', 'gpt-lvm'])
      .default('mbr-ext4'),
  )
  .addOption(
    new Option('--device-names <how>', 'names in fstab and grub.cfg')
      .choices(['uuid', 'device'])
      .default('uuid'),
  )
  .option(
    '--modules <list>',
    'initramfs modules: "most" or a comma-separated list',
    modules,
    'most',
  )
  .option('--size <GiB>', 'virtual size of the disk', size, 2)
  .option('--json', 'print everything known about the image as JSON')
  .action(
    async (opts: {
      layout: 'mbr-ext4' | 'gpt-lvm';
      deviceNames: 'uuid' | 'device';
      modules: DebianImageOptions['initramfsModules'];
      size: number;
      json?: true;
    }) => {
      const image = await debianImage({
        layout: opts.layout,
        deviceNames: opts.deviceNames,
        sizeGiB: opts.size,
        ...(opts.modules === undefined ? {} : { initramfsModules: opts.modules }),
      });
      console.log(opts.json ? JSON.stringify(image, null, 2) : image.path);
    },
  );

// Every failure of a build says what went wrong in its message.
await runProgram(program, { expected: () => true });
