import { pathToFileURL } from 'node:url';

/**
 * Whether `url` is our own renderer page: the same file as `indexHtml`, whatever
 * its query or fragment. Anything else (another file, http(s), data:, about:blank,
 * devtools) is not ours and gets neither the agent API nor navigation.
 */
export function isOwnRendererUrl(url: string, indexHtml: string, platform: NodeJS.Platform = process.platform): boolean {
  let actual: URL;
  try {
    actual = new URL(url);
  } catch {
    return false;
  }
  const expected = pathToFileURL(indexHtml);
  if (actual.protocol !== 'file:' || actual.host !== expected.host) return false;
  // Chromium and Node may percent-encode different characters of the same path.
  const a = decodePath(actual.pathname);
  const e = decodePath(expected.pathname);
  if (a === undefined || e === undefined) return false;
  // Windows paths are case-insensitive (Chromium may report the drive letter in another case).
  return platform === 'win32' ? a.toLowerCase() === e.toLowerCase() : a === e;
}

function decodePath(pathname: string): string | undefined {
  try {
    return decodeURI(pathname); // leaves %2F encoded: never a path separator
  } catch {
    return undefined;
  }
}
