import { createHmac } from 'node:crypto';
import type { Category } from '../category.js';

/**
 * Names (objects, users, hosts) pseudonymised with HMAC-SHA-256 under a
 * per-agent secret key: the same name gives the same token in every cycle, so
 * the service can still follow one table or one client over time, but the name
 * cannot be recovered nor confirmed by guessing without the key. The category
 * is part of the input, so a user and a database that share a name do not share
 * a token. 64 bits of the MAC are kept: ample for telling apart the names of one
 * installation, and short enough to read.
 */
export const HASH_PREFIX = 'h:';
const HEX_CHARS = 16;

export class NameHasher {
  private readonly cache = new Map<string, string>();
  constructor(private readonly key: Uint8Array) {
    if (key.length < 32) throw new RangeError('the name key must be at least 256 bits');
  }

  hash(category: Category, name: string): string {
    const input = `${category}\u0000${name}`;
    let token = this.cache.get(input);
    if (token === undefined) {
      token = HASH_PREFIX + createHmac('sha256', this.key).update(input, 'utf8').digest('hex').slice(0, HEX_CHARS);
      // Bounded: a cycle over a huge catalog must not grow memory without limit.
      if (this.cache.size > 50_000) this.cache.clear();
      this.cache.set(input, token);
    }
    return token;
  }
}
