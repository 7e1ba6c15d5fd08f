// What a preview says, derived from the cycle alone: a field of a signal that was not
// read is "Not read" whatever the policy would have done with it; a cycle where no
// signal was read says so once per distinct reason; the summary counts by category.
import type { Result } from '../api.js';
import { CATEGORY_ORDER } from './format.js';

type Preview = Result<'preview.get'>;
type Annotation = Preview['annotations'][number];
type Category = NonNullable<Annotation['category']>;
type Unavailable = Extract<Preview['payload']['signals'][number], { status: 'unavailable' }>;

/** What happened to a field: the policy's action when its signal was read, otherwise not read. */
export type Outcome = Annotation['action'] | 'not_read';
export const OUTCOME_LABEL: Record<Outcome, string> = { collect: 'Collected', redact: 'Redacted', exclude: 'Excluded', not_read: 'Not read' };

export interface ReadOutcome {
  /** Ids of the signals that were read. */
  read: Set<string>;
  /** No signal was read (an unreachable target, or every signal unavailable). */
  nothingRead: boolean;
  /** Distinct reasons for unread signals (same reason and detail: one entry). */
  reasons: { key: string; reason: Unavailable['reason']; detail: string; fix?: string; signals: number }[];
  /** Fields of read signals only. */
  counts: { redact: number; exclude: number };
}

export function readOutcome(preview: Preview): ReadOutcome {
  const read = new Set(preview.payload.signals.filter((s) => s.status === 'ok').map((s) => s.id));
  const reasons = new Map<string, ReadOutcome['reasons'][number]>();
  for (const s of preview.payload.signals) {
    if (s.status === 'ok') continue;
    const key = `${s.reason}\u0000${s.detail}\u0000${s.fix ?? ''}`;
    const r = reasons.get(key);
    if (r) r.signals++;
    else reasons.set(key, { key, reason: s.reason, detail: s.detail, ...(s.fix === undefined ? {} : { fix: s.fix }), signals: 1 });
  }
  const counted = preview.annotations.filter((a) => read.has(a.signalId));
  return {
    read,
    nothingRead: read.size === 0,
    reasons: [...reasons.values()],
    counts: { redact: counted.filter((a) => a.action === 'redact').length, exclude: counted.filter((a) => a.action === 'exclude').length },
  };
}

export function fieldOutcome(a: Annotation, read: ReadonlySet<string>): { field: string; category: Category; outcome: Outcome } {
  return { field: a.field, category: a.category ?? 'query_text', outcome: read.has(a.signalId) ? a.action : 'not_read' };
}

const plural = (n: number, what: string): string => `${n} field${n === 1 ? '' : 's'} ${what}`;

/** One row per sensitive category present in the cycle: how many of its fields were collected, redacted, excluded, not read. */
export function categorySummary(preview: Preview): { category: Category; counts: Record<Outcome, number>; text: string }[] {
  const { read } = readOutcome(preview);
  const rows = new Map<Category, Record<Outcome, number>>();
  for (const a of preview.annotations) {
    if (a.category === null) continue;
    const counts = rows.get(a.category) ?? { collect: 0, redact: 0, exclude: 0, not_read: 0 };
    counts[fieldOutcome(a, read).outcome]++;
    rows.set(a.category, counts);
  }
  const words: Record<Outcome, string> = { collect: 'collected', redact: 'redacted', exclude: 'excluded', not_read: 'not read' };
  return CATEGORY_ORDER.filter((c) => rows.has(c)).map((category) => {
    const counts = rows.get(category)!;
    const parts = (Object.keys(words) as Outcome[]).filter((o) => counts[o] > 0).map((o) => plural(counts[o], words[o]));
    return { category, counts, text: parts.join(', ') };
  });
}

type PayloadSignal = Preview['payload']['signals'][number];
const rowsWord = (n: number): string => `${n} row${n === 1 ? '' : 's'}`;
const BASELINE_WORDS: Record<string, string> = {
  first: 'sent in full: the first time',
  periodic: 'sent in full: the periodic full copy',
  reset: "sent in full: the server's counters were reset, entries evicted or the server restarted",
  changed: 'sent in full: it changed since it was last sent',
  unkeyed: 'sent in full: its rows have no usable identity',
};

/**
 * How an ok signal's value travels, in plain words (payload v2): in full, only what
 * changed since an earlier payload, or not again (unchanged). Undefined for a plain
 * full value (v1, or a signal that always ships in full).
 */
export function modeLabel(s: PayloadSignal): string | undefined {
  if (s.status !== 'ok') return undefined;
  if (s.mode === 'unchanged') return `Unchanged since payload #${s.base?.sequence ?? '?'}: not sent again, only its fingerprint`;
  if (s.mode === 'delta') {
    const v = (s.value ?? {}) as { added?: unknown[]; changed?: unknown[]; removed?: unknown[] };
    return `Only what changed since payload #${s.base?.sequence ?? '?'}: ${rowsWord(v.added?.length ?? 0)} new, ${rowsWord(v.changed?.length ?? 0)} changed (counters as differences), ${rowsWord(v.removed?.length ?? 0)} gone`;
  }
  return s.baseline === undefined ? undefined : (BASELINE_WORDS[s.baseline] ?? 'sent in full');
}

/** The families this payload covers, and the target's families it does not (not due this cycle). */
export function coverage(preview: Preview): { covered: string[]; notDue: { family: string; label: string }[] } {
  const covered = preview.payload.families ?? [];
  const notDue = (preview.schedule ?? []).filter((f) => preview.payload.families !== undefined && !covered.includes(f.family));
  return { covered: [...covered], notDue: notDue.map((f) => ({ family: f.family, label: f.label })) };
}

/** The period of a family for the previewed target, in words ("10 s", "every interval (60 s)"). */
export function periodOf(preview: Preview, family: string): string | undefined {
  return preview.schedule?.find((f) => f.family === family)?.label;
}
