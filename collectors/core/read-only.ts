/**
 * Raised by an engine's read-only guard when the agent itself tries to send
 * something that is not an allowlisted read. Nothing has reached the server.
 */
export class ReadOnlyViolation extends Error {
  constructor(readonly why: string) {
    super(`refused by the read-only guard: ${why}`);
    this.name = 'ReadOnlyViolation';
  }
}
