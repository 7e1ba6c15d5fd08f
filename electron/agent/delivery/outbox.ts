import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { type PayloadV1, serializePayload } from '../../../collectors/core/payload.js';

/**
 * The embedded default sink while no Logstag destination is configured: each
 * payload becomes one JSON file, written atomically, that the operator can read.
 */
export class LocalOutbox {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  async put(payload: PayloadV1): Promise<string> {
    const stamp = payload.collectedAt.replace(/[:.]/g, '-');
    const file = join(this.dir, `${stamp}_${payload.target.id}.json`);
    await writeFileAtomic(file, `${serializePayload(payload)}\n`, { mode: 0o600 });
    return file;
  }
}
