/**
 * What tsv2v prints: virt-v2v's timestamped stage messages on stdout (`[  12.3] Inspecting
 * the source`), decisions and details indented under them, warnings and errors on stderr,
 * a progress bar on stderr when it is a terminal (cli-kit's), and a summary; the error line
 * itself is cli-kit's (runProgram). With --machine-readable,
 * every message is one JSON object per line on stdout instead, as virt-v2v's
 * (`{"message": ..., "timestamp": ..., "type": "message"|"info"|"warning"|"error"}`),
 * plus progress objects (`"type": "progress"`).
 */
import { type ProgressBar, messageOf, progressBar } from '@tsvirt/cli-kit';
import type { ConversionResult } from '../convert.js';
import { V2vError } from '../errors.js';

const MiB = 2 ** 20;

export class Reporter {
  private readonly start = Date.now();
  private bar: ProgressBar | null = null;
  private barLabel = '';
  private lastJsonProgress = 0;

  constructor(private readonly options: { machineReadable: boolean; quiet: boolean }) {}

  private json(type: string, message: string, extra: Record<string, unknown> = {}): void {
    process.stdout.write(
      JSON.stringify({ message, timestamp: new Date().toISOString(), type, ...extra }) + '\n',
    );
  }

  private stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }

  message(text: string): void {
    this.stopBar();
    if (this.options.machineReadable) return this.json('message', text);
    if (this.options.quiet) return;
    const t = ((Date.now() - this.start) / 1000).toFixed(1).padStart(6);
    process.stdout.write(`[${t}] ${text}\n`);
  }

  info(text: string): void {
    if (this.options.machineReadable) return this.json('info', text);
    if (!this.options.quiet) process.stdout.write(`         ${text}\n`);
  }

  warning(text: string): void {
    this.stopBar();
    if (this.options.machineReadable) return this.json('warning', text);
    process.stderr.write(`tsv2v: warning: ${text}\n`);
  }

  progress(label: string, done: number, total: number): void {
    if (this.options.machineReadable) {
      const now = Date.now();
      if (now - this.lastJsonProgress < 1000 && done < total) return;
      this.lastJsonProgress = now;
      return this.json('progress', label, { done, total });
    }
    if (this.options.quiet) return;
    if (this.bar === null || this.barLabel !== label) {
      this.stopBar();
      this.barLabel = label;
      this.bar = progressBar(label);
    }
    this.bar.update(done, total);
  }

  /** A failure: the bar goes; with --machine-readable, an error object (cli-kit prints the
   *  line on stderr either way). */
  failed(e: unknown): void {
    this.stopBar();
    if (this.options.machineReadable)
      this.json('error', messageOf(e), e instanceof V2vError ? { code: e.code } : {});
  }

  summary(result: ConversionResult): void {
    this.stopBar();
    const plan = result.plan;
    const lines: string[] = [];
    if (result.dryRun) {
      lines.push(`Dry run: nothing was written. A conversion would:`);
      lines.push(
        `  convert ${plan.inspection.os.productName} (root ${plan.inspection.os.root}, ${plan.inspection.firmware}) as ${plan.name}`,
      );
      for (const d of plan.conversion.decisions) lines.push(`  - ${d}`);
      for (const w of plan.conversion.warnings) lines.push(`  ! ${w}`);
      plan.targets.forEach((t, i) =>
        lines.push(
          `  write disk ${i + 1} to ${t} (about ${(plan.dataBytes[i]! / MiB).toFixed(0)} MiB of data before fstrim)`,
        ),
      );
      lines.push(`  output: ${plan.output}`);
    } else {
      result.copied.forEach((c, i) =>
        lines.push(
          `disk ${i + 1}: ${(c.size / MiB).toFixed(0)} MiB, ${(c.dataBytes / MiB).toFixed(1)} MiB copied, ${(c.zeroBytes / MiB).toFixed(0)} MiB skipped (holes and zeroes)`,
        ),
      );
      lines.push(`initramfs: ${plan.conversion.initramfs.reason}`);
      lines.push(`metadata: ${result.metadata ?? ''}`);
    }
    if (this.options.machineReadable) {
      this.json('info', lines.join('\n'), {
        result: {
          dryRun: result.dryRun,
          name: plan.name,
          targets: plan.targets,
          copied: result.copied,
          initramfs: plan.conversion.initramfs,
          decisions: plan.conversion.decisions,
          warnings: plan.conversion.warnings,
        },
      });
      return;
    }
    if (!this.options.quiet || result.dryRun) process.stdout.write(lines.join('\n') + '\n');
  }
}
