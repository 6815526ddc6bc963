/**
 * The guest's bootloader: where its configuration is and which Augeas paths name devices in
 * it. Grub 2 (grub.cfg) is what Debian and most current distributions use; grub-legacy
 * (menu.lst, grub.conf) is recognised for its device paths only.
 */
import type { Guestfs } from '@tsvirt/guestfs';
import { GuestfsError } from '@tsvirt/guestfs';
import { V2vError } from '../errors.js';
import type { Firmware } from '../source.js';

export interface Bootloader {
  readonly kind: 'grub2' | 'grub1';
  readonly config: string;
  /** Augeas paths whose values may name devices (kernel command lines, device.map). */
  readonly devicePatterns: readonly string[];
  /** Augeas paths of the kernel command line defaults (grub 2's /etc/default/grub). */
  readonly cmdlinePatterns: readonly string[];
}

export async function detectBootloader(g: Guestfs, firmware: Firmware): Promise<Bootloader> {
  const top = firmware === 'uefi' ? '/boot/efi/EFI' : '/boot';
  let paths: string[];
  try {
    paths = (await g.find(top)).map((p) => `${top}${p}`);
  } catch (e) {
    if (!(e instanceof GuestfsError)) throw e;
    throw new V2vError('CONVERSION', `no bootloader found: ${top} cannot be read (${e.message})`);
  }
  for (const path of paths) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const kind =
      name === 'grub.cfg' ? 'grub2' : name === 'grub.conf' || name === 'menu.lst' ? 'grub1' : null;
    if (kind === null || !(await g.isFile(path, { followsymlinks: true }))) continue;
    if (kind === 'grub2') {
      const cmdline = [
        '/files/etc/sysconfig/grub/GRUB_CMDLINE_LINUX',
        '/files/etc/default/grub/GRUB_CMDLINE_LINUX',
        '/files/etc/default/grub/GRUB_CMDLINE_LINUX_DEFAULT',
      ];
      return {
        kind,
        config: path,
        cmdlinePatterns: cmdline,
        devicePatterns: [
          ...cmdline,
          '/files/boot/grub2/device.map/*[label() != "#comment"]',
          '/files/boot/grub/device.map/*[label() != "#comment"]',
        ],
      };
    }
    if ((await g.augLs(`/files${path}`)).length === 0) await g.augTransform('grub', path);
    return {
      kind,
      config: path,
      cmdlinePatterns: [],
      devicePatterns: [
        `/files${path}/*/kernel/root`,
        `/files${path}/*/kernel/resume`,
        '/files/boot/grub/device.map/*[label() != "#comment"]',
        '/files/etc/sysconfig/grub/boot',
      ],
    };
  }
  throw new V2vError(
    'CONVERSION',
    `no bootloader found: no grub.cfg, grub.conf or menu.lst under ${top}`,
  );
}
