// Peak resident memory of a process and all its descendants (the converter, its NBD
// servers and the appliance's qemu), sampled from /proc every 200 ms.
import { readFileSync, readdirSync } from 'node:fs';

function children(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = map.get(ppid) ?? [];
      list.push(Number(entry));
      map.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

function rss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function treeRss(root: number): number {
  const tree = children();
  let total = 0;
  const visit = (pid: number): void => {
    total += rss(pid);
    for (const c of tree.get(pid) ?? []) visit(c);
  };
  visit(root);
  return total;
}

export function treePeakRss(root: number): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, treeRss(root))), 200);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}
