/**
 * Log lines gathered for a short window and written together: `run` writes one
 * line per cycle, and at 1,000 targets every 15 s that was 66 writes a second to
 * stderr (each a system call on a pipe or the journal's socket). Lines keep their
 * order; a line waits at most `windowMs`; flush() writes what is waiting at once
 * (before any other line of the command, and when the process exits).
 */
export class LineBatch {
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: (text: string) => void,
    private readonly windowMs = 100,
  ) {}

  add(line: string): void {
    this.lines.push(line);
    // Unref'd: a waiting line never keeps the process alive; the exit flush writes it.
    this.timer ??= setTimeout(() => this.flush(), this.windowMs).unref();
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const text = this.lines.join('\n');
    this.lines = [];
    this.write(text);
  }
}
