import { appendFileSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import type { AgentAuditSink, AuditEntry, PolicyChangeEntry } from '../../collectors/core/audit.js';

export interface LedgerOptions {
  /** Rotate when the current file would exceed this many bytes. */
  maxBytes?: number;
  /** Rotated files kept besides the current one (audit.1.jsonl is the newest). */
  keep?: number;
}

/**
 * The local audit ledger: one JSON line per statement or command sent to a
 * target, and one per policy change (`"kind": "policy_change"`), appended
 * synchronously so a crash cannot lose what was already sent or decided.
 * Size-capped: audit.jsonl rotates to audit.1.jsonl … audit.<keep>.jsonl.
 */
export class AuditLedger implements AgentAuditSink {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private size: number;

  constructor(dir: string, opts: LedgerOptions = {}) {
    this.file = join(dir, 'audit.jsonl');
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.keep = opts.keep ?? 5;
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    try {
      this.size = statSync(this.file).size;
    } catch {
      this.size = 0;
    }
  }

  rotatedFile(n: number): string {
    return join(dirname(this.file), `audit.${n}.jsonl`);
  }

  record(entry: AuditEntry): void {
    this.append(entry);
  }

  recordPolicyChange(entry: PolicyChangeEntry): void {
    this.append(entry);
  }

  private append(entry: AuditEntry | PolicyChangeEntry): void {
    const line = `${JSON.stringify(entry)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    appendFileSync(this.file, line, { mode: 0o600 });
    this.size += bytes;
  }

  private rotate(): void {
    rmSync(this.rotatedFile(this.keep), { force: true });
    for (let n = this.keep - 1; n >= 1; n--) {
      try {
        renameSync(this.rotatedFile(n), this.rotatedFile(n + 1));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    if (this.keep >= 1) renameSync(this.file, this.rotatedFile(1));
    else rmSync(this.file, { force: true });
    this.size = 0;
  }
}

/** Who is at the controls: the OS user the agent runs as (the app and the CLI run as the operator). */
export function operatorName(): string {
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}
