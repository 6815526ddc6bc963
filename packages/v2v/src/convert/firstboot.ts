/**
 * Scripts run once at the guest's first boot on the target, installed the way virt-v2v and
 * virt-customize install them (the same paths, unit and init script), so that a guest
 * converted by either tool looks the same to later tools: a systemd unit and SysV links run
 * /usr/lib/virt-sysprep/firstboot.sh, which runs each script of scripts/ once.
 */
import type { Guestfs } from '@tsvirt/guestfs';

const DIR = '/usr/lib/virt-sysprep';

const FIRSTBOOT_SH = `#!/bin/sh -

### BEGIN INIT INFO
# Provides:          virt-sysprep
# Required-Start:    $null
# Should-Start:      $all
# Required-Stop:     $null
# Should-Stop:       $all
# Default-Start:     2 3 5
# Default-Stop:      0 1 6
# Short-Description: Start scripts to run once at next boot
# Description:       Start scripts to run once at next boot
#	These scripts run the first time the guest boots,
#	and then are deleted. Output or errors from the scripts
#	are written to ~root/virt-sysprep-firstboot.log.
### END INIT INFO

d=${DIR}/scripts
d_done=${DIR}/scripts-done
logfile=~root/virt-sysprep-firstboot.log

echo "$0" "$@" 2>&1 | tee -a $logfile
echo "Scripts dir: $d" 2>&1 | tee -a $logfile

if test "$1" = "start"
then
  mkdir -p $d_done
  for f in $d/* ; do
    if test -x "$f"
    then
      # move the script to the 'scripts-done' directory, so it is not
      # executed again at the next boot
      mv $f $d_done
      echo '=== Running' $f '===' 2>&1 | tee -a $logfile
      $d_done/$(basename $f) 2>&1 | tee -a $logfile
    fi
  done
  rm -f $d_done/*
fi
`;

const SERVICE = `[Unit]
Description=libguestfs firstboot service
After=network.target
Before=prefdm.service

[Service]
Type=oneshot
ExecStart=${DIR}/firstboot.sh start
RemainAfterExit=yes
StandardOutput=journal+console
StandardError=inherit

[Install]
WantedBy=multi-user.target
`;

export class Firstboot {
  private count = 0;
  private installed = false;
  constructor(
    private readonly g: Guestfs,
    /** The distribution's family of SysV layouts: 'debian' or 'redhat' (or none). */
    private readonly sysv: 'debian' | 'redhat' | null,
  ) {}

  private async install(): Promise<void> {
    if (this.installed) return;
    this.installed = true;
    const g = this.g;
    await g.mkdirP(`${DIR}/scripts`);
    await g.writeFile(`${DIR}/firstboot.sh`, FIRSTBOOT_SH);
    await g.chmod(0o755, `${DIR}/firstboot.sh`);
    if (await g.isDir('/etc/systemd/system')) {
      const unit = '/usr/lib/systemd/system/guestfs-firstboot.service';
      await g.mkdirP('/usr/lib/systemd/system');
      await g.writeFile(unit, SERVICE);
      await g.mkdirP('/etc/systemd/system/multi-user.target.wants');
      await g.lnSf(unit, '/etc/systemd/system/multi-user.target.wants');
    }
    if (this.sysv === 'debian' && (await g.isDir('/etc/init.d'))) {
      await g.lnSf(`${DIR}/firstboot.sh`, '/etc/init.d/guestfs-firstboot');
      for (const level of [2, 3, 5]) {
        await g.mkdirP(`/etc/rc${level}.d`);
        await g.lnSf('../init.d/guestfs-firstboot', `/etc/rc${level}.d/S99guestfs-firstboot`);
      }
    } else if (this.sysv === 'redhat' && (await g.isDir('/etc/rc.d'))) {
      for (const level of [2, 3, 5]) {
        await g.mkdirP(`/etc/rc.d/rc${level}.d`);
        await g.lnSf(`${DIR}/firstboot.sh`, `/etc/rc.d/rc${level}.d/S99guestfs-firstboot`);
      }
    }
  }

  /** Adds a script; scripts run in the order they were added. */
  async add(name: string, content: string): Promise<string> {
    await this.install();
    this.count++;
    const file = `${DIR}/scripts/5000-${String(this.count).padStart(4, '0')}-${name.replace(/[^a-z0-9_]/gi, '-').slice(0, 60)}`;
    await this.g.writeFile(file, content);
    await this.g.chmod(0o755, file);
    return file;
  }
}
