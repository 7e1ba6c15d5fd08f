// Imported first by main.ts, before any module that builds a zod schema: zod
// decides whether to compile parsers with `new Function` when a schema is
// constructed, and merely probing for it is a CSP violation under our
// `script-src 'self'` (no 'unsafe-eval'). jitless: zod never tries.
import { config } from 'zod';

config({ jitless: true });
