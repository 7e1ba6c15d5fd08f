import type { PayloadV1 } from '../../collectors/core/payload.js';

/**
 * What an opt-in real-server run verified, printed so whoever runs it can send the
 * result back: each signal that came back ok (with the fields it carried and how many
 * rows), each that did not, with its reason and detail. The documented-schema tables
 * in test/fixtures/vendor-schemas are what these runs confirm on real servers.
 */
export function verifiedSignals(engine: string, payload: PayloadV1, serverVersion?: string): string {
  const lines = [
    `[verified] ${engine}${serverVersion === undefined ? '' : ` ${serverVersion}`}: ${payload.signals.filter((s) => s.status === 'ok').length}/${payload.signals.length} signals ok`,
  ];
  for (const s of payload.signals) {
    if (s.status === 'ok') {
      const v = (s as { value?: unknown }).value;
      const rows = Array.isArray(v) ? v : v === null || v === undefined ? [] : [v];
      const fields = rows[0] !== undefined && typeof rows[0] === 'object' && rows[0] !== null ? Object.keys(rows[0] as object) : [];
      lines.push(`  ok           ${s.id}: ${rows.length} row(s); fields ${fields.join(', ') || '(none)'}`);
    } else {
      const u = s as { reason?: string; detail?: string };
      lines.push(`  ${(u.reason ?? s.status).padEnd(12)} ${s.id}: ${u.detail ?? ''}`);
    }
  }
  return lines.join('\n');
}
