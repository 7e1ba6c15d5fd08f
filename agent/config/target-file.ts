import { readBoundedFile } from '../../collectors/core/bounded-read.js';
import { ConfigError } from '../../collectors/core/engine.js';
import { describeIssue, type Target, TargetSchema } from '../../collectors/target.js';

export const PLAINTEXT_REFUSED = 'plaintext passwords are refused; use {"env": "VAR"} or {"secret": "<blob from `logstag-agent secret encrypt`>"}';

/** Validates a parsed target object; `where` prefixes every message (a file name, "targets[2]"). */
export function parseTarget(raw: unknown, where: string): Target {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where}: a target must be a JSON object`);
  const pw = (raw as Record<string, unknown>)['password'];
  if (typeof pw === 'string') throw new ConfigError(`${where}: password: ${PLAINTEXT_REFUSED}`);
  const parsed = TargetSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${where}: ${describeIssue(parsed.error)}`);
  return parsed.data;
}

export async function readJsonFile(file: string): Promise<unknown> {
  // A regular file under the size cap only: /dev/zero or a FIFO is bad input, refused at once.
  const text = (await readBoundedFile(file)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
}

export async function loadTargetFile(file: string): Promise<Target> {
  return parseTarget(await readJsonFile(file), file);
}
