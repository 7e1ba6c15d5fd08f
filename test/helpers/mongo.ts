import { expect } from 'vitest';
import type { ChecklistItem } from '../../collectors/core/engine.js';
import type { PayloadV1 } from '../../collectors/core/payload.js';
import type { Target } from '../../collectors/target.js';
import { TargetSchema } from '../../collectors/target.js';
import type { Identity } from '../fixtures/mongodb/identities.js';

/** A target for the fake mongod on 127.0.0.1 as `who` (password from the PW variable, see agentOps). */
export function mongoTarget(port: number, who: Pick<Identity, 'user' | 'db'>, extra: Record<string, unknown> = {}): Target {
  return TargetSchema.parse({
    id: `mongo-${who.user}`,
    engine: 'mongodb',
    host: '127.0.0.1',
    port,
    user: who.user,
    database: who.db,
    password: { env: 'PW' },
    connectTimeoutMs: 3000,
    ...extra,
  });
}

/**
 * The checklist comes from the privileges connectionStatus reports; the payload from
 * what the server allowed. They must agree: a missing grant's signals are permission-
 * unavailable, and every permission-unavailable signal is explained by a missing grant.
 */
export function expectChecklistMatchesPayload(report: { items: ChecklistItem[] }, payload: PayloadV1): void {
  const st = Object.fromEntries(payload.signals.map((s) => [s.id, s.status === 'ok' ? 'ok' : s.reason]));
  const missing = report.items.filter((i) => i.status === 'missing');
  for (const item of missing) for (const id of item.signals) expect(st[id], `${id} (needs ${item.grant})`).toBe('permission');
  for (const [id, s] of Object.entries(st)) {
    if (s === 'permission')
      expect(
        missing.some((i) => i.signals.includes(id)),
        `${id} is refused but no checklist item says why`,
      ).toBe(true);
  }
}
