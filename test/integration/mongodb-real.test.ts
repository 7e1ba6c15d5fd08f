// The MongoDB collector against a real server, when MONGODB_URL points at one
// (mongodb://user:password@host:port/?authSource=admin, or mongodb+srv://…).
// No MongoDB server can be installed on the build machines: without MONGODB_URL
// this suite is reported as skipped, with the reason, never as passed.
import { describe, expect, it } from 'vitest';
import { verifiedSignals } from '../helpers/verified-signals.js';
import type { AuditEntry } from '../../collectors/core/audit.js';
import { ReadOnlyViolation } from '../../collectors/core/read-only.js';
import { type Target, TargetSchema } from '../../collectors/target.js';
import { ALLOWED_COMMANDS } from '../../collectors/mongodb/guard.js';
import { MongoSession } from '../../collectors/mongodb/session.js';
import { expectChecklistMatchesPayload } from '../helpers/mongo.js';
import { agentOps } from '../helpers/pg.js';
import { readStatements } from '../../agent/audit/reader.js';

const url = process.env['MONGODB_URL'];
const NOT_RUN = 'not run: MONGODB_URL is not set (e.g. MONGODB_URL=mongodb://logstag_monitor:PASSWORD@db.example:27017/?authSource=admin)';
if (url === undefined || url === '') console.warn(`MongoDB real-server suite ${NOT_RUN}`);

/** One host (or an SRV name), credentials, authSource, TLS and replicaSet from the URL. */
function targetFromUrl(raw: string, extra: Record<string, unknown> = {}): { target: Target; password: string } {
  const u = new URL(raw);
  const srv = u.protocol === 'mongodb+srv:';
  const q = u.searchParams;
  const tls = q.get('tls') ?? q.get('ssl');
  const caFile = q.get('tlsCAFile');
  const target = TargetSchema.parse({
    id: 'mongo-real',
    engine: 'mongodb',
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port === '' ? 27017 : Number(u.port),
    user: decodeURIComponent(u.username),
    database: q.get('authSource') ?? (u.pathname.slice(1) || 'admin'),
    password: { env: 'PW' },
    ...(tls === 'true' ? { tls: { mode: 'verify-full', ...(caFile ? { caFile } : {}) } } : srv ? {} : { tls: { mode: 'disable' } }),
    mongodb: { srv, ...(q.get('replicaSet') ? { replicaSet: q.get('replicaSet') } : {}), ...extra },
  });
  return { target, password: decodeURIComponent(u.password) };
}

/** Every leaf of a redacted command document is the value marker. */
function onlyMarkers(v: unknown): boolean {
  if (v === null) return true;
  if (Array.isArray(v)) return v.every(onlyMarkers);
  if (typeof v === 'object') return Object.values(v).every(onlyMarkers);
  return v === '?';
}

describe.skipIf(url === undefined || url === '')('MongoDB collector against a real server (MONGODB_URL)', () => {
  it('connects, reads every signal as ok or an explained unavailable, and the checklist agrees with the payload', async () => {
    const { target, password } = targetFromUrl(url!);
    const { ops, ledger } = agentOps(password);
    const { payload, connectError } = await ops.collect(target);
    expect(connectError).toBeUndefined();
    const report = await ops.checkPermissions(target);
    expect(report.identity.serverVersion).toMatch(/^[5-8]\.\d+\.\d+/);
    for (const s of payload.signals) {
      if (s.status === 'unavailable') {
        expect(['permission', 'not_enabled', 'unsupported', 'disabled'], `${s.id}: ${s.detail}`).toContain(s.reason);
        if (s.reason === 'permission') expect(s.fix, s.id).toContain('grantPrivilegesToRole');
      }
    }
    expectChecklistMatchesPayload(report, payload);
    console.log(verifiedSignals('mongodb', payload, report.identity.serverVersion));
    const audited = readStatements(ledger.dir);
    for (const e of audited) {
      expect(e.outcome).not.toBe('refused');
      expect(ALLOWED_COMMANDS).toContain(/^[^:]+: \{"([^"]+)"/.exec(e.statement)?.[1]);
    }
  });

  it('opt-in current operations come back as command shapes only', async () => {
    const { target, password } = targetFromUrl(url!, { currentOps: true });
    const { ops } = agentOps(password);
    const { payload } = await ops.collect(target);
    const s = payload.signals.find((x) => x.id === 'mongodb.current_ops')!;
    if (s.status === 'ok') {
      for (const row of s.value as Array<Record<string, unknown>>) {
        expect(onlyMarkers(row['command'])).toBe(true);
        expect(onlyMarkers(row['originating_command'])).toBe(true);
      }
    } else {
      expect(s.reason).toBe('permission');
    }
  });

  it('the session refuses a write before it reaches the server', async () => {
    const { target, password } = targetFromUrl(url!);
    const audit: AuditEntry[] = [];
    const session = await MongoSession.open(target, password, { audit: { record: (e) => void audit.push(e) }, applicationName: 'logstag-agent/test' });
    try {
      await expect(session.command('logstag_probe', { insert: 'never', documents: [{ a: 1 }] })).rejects.toBeInstanceOf(ReadOnlyViolation);
    } finally {
      await session.close();
    }
    expect(audit.at(-1)).toMatchObject({ outcome: 'refused', code: 'read_only_guard' });
  });
});
