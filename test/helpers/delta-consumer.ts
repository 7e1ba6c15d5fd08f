/**
 * The consumer side of delta signals, for the engines' query-statistics attacks:
 * ships cycles of a real collector (against a fake server) through a target memory,
 * applies the shipped bytes the way docs/payload-v2.md tells a consumer to, and
 * reads what the server reports now (a cycle with no memory: every value full) to
 * compare the rebuilt state with.
 */
import type { AuditSink } from '../../collectors/core/audit.js';
import type { ClosableSession, EngineCollector } from '../../collectors/core/engine.js';
import { applyShipped, rowKey } from '../../collectors/core/incremental.js';
import { type JsonValue, StagedMemory, type TargetMemoryStore } from '../../collectors/core/memory.js';
import { type OkPayloadSignal, type Payload, PayloadSchema, serializePayload } from '../../collectors/core/payload.js';
import type { AnySignalSpec } from '../../collectors/core/signal.js';
import { collectCycle } from '../../collectors/cycle.js';
import type { Target } from '../../collectors/target.js';
import { testCycleDeps } from './cycle.js';

export class MemStore implements TargetMemoryStore {
  readonly files = new Map<string, string>();
  async load(id: string): Promise<StagedMemory> {
    const f = this.files.get(id);
    return new StagedMemory(f === undefined ? {} : (JSON.parse(f) as Record<string, JsonValue>));
  }
  async commit(id: string, m: StagedMemory): Promise<void> {
    this.files.set(id, JSON.stringify(m.snapshot()));
  }
}

/** Holds, per signal, what a consumer rebuilt from the shipped bytes alone. */
export class Consumer {
  readonly held = new Map<string, { sequence: number; value: unknown; digest?: string }>();
  readonly gaps: string[] = [];
  constructor(private readonly catalog: readonly AnySignalSpec<unknown>[]) {}
  apply(bytes: string): void {
    const p = PayloadSchema.parse(JSON.parse(bytes));
    for (const s of p.signals) {
      if (s.status !== 'ok') continue;
      const spec = this.catalog.find((c) => c.id === s.id);
      const next = applyShipped(this.held.get(s.id), s, p.sequence!, spec?.delta);
      if (next === undefined) {
        this.gaps.push(s.id);
        this.held.delete(s.id);
      } else this.held.set(s.id, next);
    }
  }
}

const audit: AuditSink = { record: () => {} };
const AGENT = { id: 'a', version: '0.1.0', host: 'h' };

export interface Shipper {
  /** Ships one cycle (the run loop's: memory, a time); returns the payload as shipped. */
  ship(): Promise<Payload>;
  /** What the server reports now, as the policy ships it. */
  truth(id: string): Promise<unknown>;
  consumer: Consumer;
  /** The shipped signal of the last payload. */
  last(id: string): OkPayloadSignal;
  /** The number of bytes of each shipped payload. */
  sizes: number[];
}

export function shipper(
  target: Target,
  collector: () => EngineCollector<ClosableSession, Target>,
  opts: { startMs: number; stepMs: number; password?: string },
): Shipper {
  const store = new MemStore();
  const consumer = new Consumer(collector().catalog);
  let now = opts.startMs;
  let lastPayload: Payload | undefined;
  const sizes: number[] = [];
  return {
    consumer,
    sizes,
    async ship() {
      const r = await collectCycle(target, {
        collector: collector(),
        password: opts.password ?? 'pw',
        audit,
        agent: AGENT,
        ...testCycleDeps(target),
        memory: store,
        now: new Date(now),
      });
      if (r.connectError !== undefined) throw r.connectError;
      const bytes = serializePayload(r.payload);
      sizes.push(Buffer.byteLength(bytes));
      consumer.apply(bytes);
      await r.commitMemory();
      now += opts.stepMs;
      lastPayload = r.payload;
      return r.payload;
    },
    async truth(id) {
      const r = await collectCycle(target, { collector: collector(), password: opts.password ?? 'pw', audit, agent: AGENT, ...testCycleDeps(target) });
      const s = r.payload.signals.find((x) => x.id === id);
      if (s?.status !== 'ok') throw new Error(`truth: ${id} is ${JSON.stringify(s)}`);
      return s.value;
    },
    last(id) {
      const s = lastPayload?.signals.find((x) => x.id === id);
      if (s?.status !== 'ok') throw new Error(`${id} did not ship ok: ${JSON.stringify(s)}`);
      return s;
    },
  };
}

/** Rows in key order (a rebuilt state has no row order). */
export function byKey(rows: unknown, key: readonly string[]): unknown[] {
  const list = [...(rows as Record<string, JsonValue>[])];
  return list.sort((a, b) => {
    const ka = rowKey(a, key) ?? '';
    const kb = rowKey(b, key) ?? '';
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** `full:first`, `delta`, `unchanged`, `full:reset`… of a shipped signal. */
export const modeOf = (s: OkPayloadSignal): string => `${s.mode ?? 'full'}${s.baseline === undefined ? '' : `:${s.baseline}`}`;
