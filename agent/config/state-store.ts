import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { FileReadError, readBoundedFileSync } from '../../collectors/core/bounded-read.js';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { z } from 'zod';
import { ConfigError } from '../../collectors/core/engine.js';
import { PolicySchema } from '../../collectors/core/policy.js';
import { describeIssue, type Target, TargetSchema } from '../../collectors/target.js';
import { DEFAULT_SPOOL_MAX_BYTES, DestinationSchema, SpoolSettingsSchema } from '../../contract/destination.js';

const SettingsShape = z
  .object({
    paused: z.boolean().default(false),
    /** Same schema as the CLI's run config; null: payloads stay in the spool. */
    destination: DestinationSchema.nullable().default(null),
    spool: SpoolSettingsSchema.default({ maxBytes: DEFAULT_SPOOL_MAX_BYTES }),
    /** Workspace default sensitive-metadata policy; each target may override categories. */
    policy: PolicySchema.default({}),
  })
  .strict();
export type Settings = z.infer<typeof SettingsShape>;

const StateSchema = z
  .object({
    version: z.literal(1),
    targets: z.array(TargetSchema),
    settings: SettingsShape,
  })
  .strict();
export type AgentState = z.infer<typeof StateSchema>;

/** What a committed change touched. */
export type StoreChange = 'targets' | 'settings';

/**
 * The app's configured targets and settings, one JSON file (mode 0600), replaced
 * atomically so a crash mid-write leaves the previous version intact. Secrets in
 * it are vault blobs or environment variable names, never plaintext.
 */
/** The app's state (targets, settings) is small: 16 MiB leaves room for hundreds of targets. */
const STATE_MAX_BYTES = 16 * 1024 * 1024;

export class StateStore {
  readonly file: string;
  /**
   * 'change' fires synchronously after each change is applied in memory (the
   * file write may still be under way): the scheduler re-plans on 'targets',
   * pauses or resumes on 'settings', whichever transport made the change.
   */
  readonly changes = new EventEmitter<{ change: [StoreChange] }>();
  private state: AgentState;
  private writes: Promise<void> = Promise.resolve();

  constructor(home: string) {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    this.file = join(home, 'state.json');
    this.state = this.read();
  }

  private read(): AgentState {
    let text: string;
    try {
      text = readBoundedFileSync(this.file, { maxBytes: STATE_MAX_BYTES }).toString('utf8');
    } catch (err) {
      if (err instanceof FileReadError && err.code === 'ENOENT') return StateSchema.parse({ version: 1, targets: [], settings: {} });
      throw err;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      throw new ConfigError(`${this.file}: not valid JSON; restore it from a backup or remove it to start afresh`);
    }
    // Before delivery existed, settings held a bare destinationUrl that could never send (no API key): dropped.
    const settings = (raw as { settings?: Record<string, unknown> } | null)?.settings;
    if (settings && typeof settings === 'object' && 'destinationUrl' in settings) delete settings['destinationUrl'];
    const parsed = StateSchema.safeParse(raw);
    if (!parsed.success) throw new ConfigError(`${this.file}: ${describeIssue(parsed.error)}`);
    return parsed.data;
  }

  get targets(): readonly Target[] {
    return this.state.targets;
  }
  get settings(): Settings {
    return this.state.settings;
  }

  target(id: string): Target | undefined {
    return this.state.targets.find((t) => t.id === id);
  }

  async putTarget(t: Target): Promise<void> {
    const others = this.state.targets.filter((x) => x.id !== t.id);
    await this.commit({ ...this.state, targets: [...others, t].sort((a, b) => a.id.localeCompare(b.id)) }, 'targets');
  }

  async deleteTarget(id: string): Promise<boolean> {
    const before = this.state.targets.length;
    await this.commit({ ...this.state, targets: this.state.targets.filter((t) => t.id !== id) }, 'targets');
    return this.state.targets.length < before;
  }

  async updateSettings(patch: Partial<Settings>): Promise<Settings> {
    await this.commit({ ...this.state, settings: { ...this.state.settings, ...patch } }, 'settings');
    return this.state.settings;
  }

  /** Writes are serialised so concurrent API calls cannot interleave file versions. */
  private commit(next: AgentState, what: StoreChange): Promise<void> {
    const validated = StateSchema.parse(next);
    this.state = validated;
    this.changes.emit('change', what);
    const text = `${JSON.stringify(validated, null, 2)}\n`;
    const write = this.writes.then(() => writeFileAtomic(this.file, text, { mode: 0o600 }));
    // One failed write must not poison every later one; the caller still sees its own failure.
    this.writes = write.catch(() => {});
    return write;
  }
}
