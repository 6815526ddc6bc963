import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dfTable, humanSize } from '../../src/cli/output.js';
import { osinfo, parseDpkgStatus } from '../../src/index.js';
import { nbdFile } from '../../src/launch/drives.js';

void describe('drives', () => {
  void it('turns NBD URIs into qemu file names', () => {
    assert.equal(nbdFile('nbd+unix:///?socket=/tmp/s'), 'nbd:unix:/tmp/s');
    assert.equal(nbdFile('nbd+unix:///disk?socket=/tmp/s'), 'nbd:unix:/tmp/s:exportname=disk');
    assert.equal(nbdFile('nbd://127.0.0.1:10810/x'), 'nbd:127.0.0.1:10810:exportname=x');
    assert.equal(nbdFile('nbd://localhost'), 'nbd:localhost:10809');
    assert.equal(nbdFile('/var/tmp/disk.img'), null);
    assert.throws(() => nbdFile('nbd+unix:///x'), /needs \?socket=PATH/);
  });
});

void describe('virt-df layout', () => {
  void it('prints the table as virt-df does, long names on their own line', () => {
    const row = {
      name: 'disk.img:/dev/sda1',
      blocks1k: 2024296n,
      used1k: 743196n,
      available1k: 1159912n,
      sizeBytes: 2024296n * 1024n,
      usedBytes: 743196n * 1024n,
      availableBytes: 1159912n * 1024n,
      usePercent: 36.71,
    };
    // Captured from virt-df 1.48 on the mbr-ext4 test image.
    assert.equal(
      dfTable([row], false),
      'Filesystem                           1K-blocks       Used  Available  Use%\n' +
        'disk.img:/dev/sda1                     2024296     743196    1159912   37%\n',
    );
    assert.equal(
      dfTable([row], true),
      'Filesystem                                Size       Used  Available  Use%\n' +
        'disk.img:/dev/sda1                        1.9G       726M       1.1G   37%\n',
    );
    const long = dfTable(
      [{ ...row, name: 'a-very-long-image-name.img:/dev/debian-vg/root' }],
      false,
    );
    assert.match(long, /\na-very-long-image-name\.img:\/dev\/debian-vg\/root\n {36} {3}2024296/);
  });

  void it('writes sizes as df -h does', () => {
    assert.equal(humanSize(512n), '512');
    assert.equal(humanSize(1536n), '1.5K');
    assert.equal(humanSize(743196n * 1024n), '726M');
  });
});

void describe('inspection pieces', () => {
  void it('reads the dpkg database as libguestfs does', () => {
    const apps = parseDpkgStatus(
      [
        'Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib (1:1.2.13)\nVersion: 1:1.2.13.dfsg-1\nHomepage: http://zlib.net/\nDescription: compression library - runtime\n zlib is a library.\n .\n More.',
        'Package: removed\nStatus: deinstall ok config-files\nVersion: 1.0',
        'Package: adduser\nStatus: install ok installed\nVersion: 3.134\nArchitecture: all\nDescription: add users',
      ].join('\n\n') + '\n',
    );
    assert.deepEqual(
      apps.map((a) => [a.name, a.epoch, a.version, a.release, a.source, a.summary, a.description]),
      [
        ['adduser', 0, '3.134', '', '', 'add users', ''],
        [
          'zlib1g',
          1,
          '1.2.13.dfsg',
          '1',
          'zlib',
          'compression library - runtime',
          'zlib is a library.\n.\nMore.',
        ],
      ],
    );
  });

  void it('names operating systems as libosinfo does', () => {
    assert.equal(osinfo('linux', 'debian', 12, 5), 'debian12');
    assert.equal(osinfo('linux', 'ubuntu', 22, 4), 'ubuntu22.04');
    assert.equal(osinfo('linux', 'centos', 7, 9), 'centos7.0');
    assert.equal(osinfo('linux', 'unknown', 0, 0), 'unknown');
    assert.equal(osinfo('freebsd', 'freebsd', 13, 2), 'freebsd13.2');
  });
});
