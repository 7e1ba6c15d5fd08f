// Preloaded into the agent CLI by redis-cycle.js (node --import): reports the process's peak
// RSS on exit, so the figure is the CLI's own and not the benchmark's.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\nBENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
