import { type LedgerFilter, LedgerReader } from './reader.js';

/** Parses --since/--until: an ISO date/time, or an age such as 90m, 12h, 7d (before now). */
export function parseWhen(value: string, flag: string, now = Date.now()): number {
  const age = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (age) return now - Number(age[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new RangeError(`${flag}: "${value}" is neither a date/time (2026-12-05T22:00:00Z) nor an age (90m, 12h, 7d)`);
  return t;
}

const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const ms = (x: number | undefined, under: number | undefined): string =>
  x === undefined ? `< ${under ?? '?'} ms` : Number.isInteger(x) ? `${x} ms` : `${x.toFixed(3)} ms`;

/**
 * What `logstag-agent audit` prints: one block per cycle (when, which target,
 * cycle number), then one line per statement with its outcome, duration and
 * exact text. With `json`, one JSON object per cycle per line. Problems found in
 * the ledger (damaged lines, texts that fail their digest) go to `err`.
 */
export function viewLedger(dir: string, filter: LedgerFilter, json: boolean, out: (line: string) => void, err: (line: string) => void): number {
  const reader = new LedgerReader(dir);
  let cycles = 0;
  let statements = 0;
  for (const c of reader.cycles(filter)) {
    cycles++;
    statements += c.statements.length;
    if (json) {
      out(
        JSON.stringify({
          cycle: c.cycle,
          target: c.target,
          engine: c.engine,
          startedAt: new Date(c.startedAt).toISOString(),
          source: c.source,
          statements: c.statements,
        }),
      );
      continue;
    }
    out(`${new Date(c.startedAt).toISOString()}  target ${c.target} (${c.engine})  cycle ${c.cycle}  ${c.statements.length} statement(s)`);
    for (const s of c.statements) {
      const what = s.text ?? `(text of statement ${s.id} not in the ledger)`;
      out(`  ${pad(s.outcome, 8)}${pad(ms(s.durationMs, s.fasterThanMs), 12)}${pad(s.code ?? '', 10)}${what}`);
    }
  }
  if (!json && cycles > 0) out('');
  for (const p of reader.problems) err(`warning: ${p.file}${p.line === undefined ? '' : `:${p.line}`}: ${p.problem}`);
  err(`${cycles} cycle(s), ${statements} statement(s) in ${dir}`);
  return cycles;
}
