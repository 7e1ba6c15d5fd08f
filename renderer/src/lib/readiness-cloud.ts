/**
 * The readiness item for cloud bindings: each cloud identity read-only, judged
 * from the live permission check where the provider lets the agent tell
 * (Google Cloud, Azure); where it cannot (AWS without IAM read rights), it says
 * so instead of passing.
 */
import type { PermissionOutcome, ReadinessFix, ReadinessItem } from './readiness.js';
import type { Result } from '../../../contract/api.js';

type Target = Result<'targets.list'>[number];

export const cloudFix = (t: Target): ReadinessFix => ({ kind: 'cloud', targetId: t.id, label: `Open the cloud access script of ${t.name}` });

export function cloudIdentityItem(targets: readonly Target[], permissions: ReadonlyMap<string, PermissionOutcome>): ReadinessItem {
  const bound = targets.filter((t) => t.cloud !== undefined);
  const base = { id: 'cloud-identity', title: 'Cloud identities are read-only' };
  if (targets.length === 0) return { ...base, state: 'pending', detail: 'No target yet.' };
  if (bound.length === 0) return { ...base, state: 'pass', detail: 'No target reads cloud provider metrics: there is no cloud identity to check.' };
  const writers: string[] = [];
  const writerTargets: Target[] = [];
  const unknownTargets: Target[] = [];
  const unknown: string[] = [];
  const unchecked: string[] = [];
  for (const t of bound) {
    const p = permissions.get(t.id);
    const cloud = p !== undefined && 'report' in p ? p.report.cloud : undefined;
    const identity = cloud?.identity;
    if (identity === undefined) unchecked.push(t.name);
    else if (identity.readOnly === 'no') {
      writers.push(`${t.name} (${identity.reasons.join('; ')})`);
      writerTargets.push(t);
    } else if (identity.readOnly === 'unknown') {
      unknownTargets.push(t);
      unknown.push(`${t.name}: ${identity.reasons[0] ?? `${cloud?.provider} does not let the identity see its own rights`}`);
    }
  }
  if (writers.length > 0)
    return {
      ...base,
      state: 'fail',
      detail: `Can change resources: ${writers.join(', ')}. Use a dedicated read-only identity with the access script from the permission check.`,
      fixes: writerTargets.map(cloudFix),
    };
  if (unchecked.length > 0)
    return { ...base, state: 'pending', detail: `Could not check: ${unchecked.join(', ')} (the provider must be reachable and the secret set).` };
  if (unknown.length > 0)
    return {
      ...base,
      state: 'unknown',
      detail: `Cannot be told by the agent — ${unknown.join('; ')}. Confirm the identity has only the access script's permissions.`,
      fixes: unknownTargets.map(cloudFix),
    };
  return { ...base, state: 'pass', detail: `Every cloud identity is read-only (checked with the provider): ${bound.map((t) => t.name).join(', ')}.` };
}
