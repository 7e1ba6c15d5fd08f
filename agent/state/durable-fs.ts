import { open } from 'node:fs/promises';

/** fsync of a directory makes a file creation, rename or removal durable (a no-op where unsupported). */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
