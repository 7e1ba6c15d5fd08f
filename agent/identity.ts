import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readBoundedFileSync } from '../collectors/core/bounded-read.js';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AgentIdentity } from '../collectors/core/payload.js';
import { AGENT_VERSION } from './version.js';

/** The agent id is created once per installation and kept in its home directory. */
export function loadAgentIdentity(home: string): AgentIdentity {
  const file = join(home, 'agent-id');
  let id: string;
  try {
    // A damaged id file (a device, a huge file) is replaced like a corrupt one, never read unbounded.
    id = readBoundedFileSync(file, { maxBytes: 4096 }).toString('utf8').trim();
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error('damaged');
  } catch {
    id = randomUUID();
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${id}\n`, { mode: 0o600 });
  }
  return { id, version: AGENT_VERSION, host: hostname() };
}
