// Preloaded into the agent CLI by redis-cycle.js (node --import): reports the process's peak
// RSS (and CPU time) on exit, so the figures are the CLI's own and not the benchmark's.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  const u = process.resourceUsage();
  writeSync(2, `\nBENCH_MAXRSS_KB=${u.maxRSS}\nBENCH_CPU_US=${u.userCPUTime + u.systemCPUTime}\n`);
});
