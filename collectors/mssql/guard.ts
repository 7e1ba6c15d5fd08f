/**
 * The statement allowlist of the SQL Server session. SQL Server has no read-only
 * session switch (ApplicationIntent=ReadOnly only routes; on a primary it enforces
 * nothing), so this guard is what keeps the agent to reads: one SELECT (or WITH …
 * SELECT) per batch, checked before anything reaches the network. T-SQL runs
 * several statements in one batch without semicolons, so every word that can start
 * a non-read statement is refused anywhere in the text, as are SELECT … INTO,
 * sequence increments, locking hints and the rowset functions that reach other
 * servers or files. No DBCC at all: even the "read-only" ones are not needed.
 */
import { ReadOnlyViolation } from '../core/read-only.js';

export { ReadOnlyViolation };

const FORBIDDEN_WORDS = new RegExp(
  '\\b(' +
    [
      // data and schema changes
      'insert', 'update', 'delete', 'merge', 'truncate', 'create', 'alter', 'drop', 'into', 'bulk', 'writetext', 'updatetext', 'readtext',
      // permissions and identity
      'grant', 'revoke', 'deny', 'setuser', 'revert',
      // code execution, control flow and variables
      'exec', 'execute', 'declare', 'set', 'if', 'while', 'goto', 'return', 'begin', 'end\\s+conversation', 'print', 'raiserror', 'throw', 'waitfor',
      // transactions
      'commit', 'rollback', 'save', 'tran', 'transaction',
      // server and database state
      'dbcc', 'backup', 'restore', 'kill', 'shutdown', 'reconfigure', 'checkpoint', 'use', 'enable', 'disable',
      // cursors and Service Broker
      'open', 'fetch', 'close', 'deallocate', 'receive', 'send', 'move', 'get',
      // rowsets from elsewhere (linked servers, files, XML documents)
      'openrowset', 'openquery', 'opendatasource', 'openxml',
    ].join('|') +
    ')\\b',
  'i',
);

const LOCK_HINTS = /\b(updlock|xlock|holdlock|tablock|tablockx|paglock|rowlock|serializable|repeatableread|readcommittedlock)\b/i;

/**
 * Blanks comments, string literals and delimited identifiers so the checks see only
 * T-SQL words. Nested block comments are refused rather than parsed.
 */
function skeleton(sql: string): string {
  let s = sql.replace(/--[^\r\n]*/g, ' ');
  s = s.replace(/\/\*[\s\S]*?\*\//g, (c) => {
    if (c.slice(2).includes('/*')) throw new ReadOnlyViolation('nested comments are not allowed');
    return ' ';
  });
  if (s.includes('/*') || s.includes('*/')) throw new ReadOnlyViolation('unterminated comment');
  return s
    .replace(/N?'(?:[^']|'')*'/g, "''")
    .replace(/\[(?:[^\]]|\]\])*\]/g, '[x]')
    .replace(/"(?:[^"]|"")*"/g, '[x]');
}

export function assertReadOnlyTsql(sql: string): void {
  const s = skeleton(sql).trim();
  if (/['"[\]]/.test(s.replace(/''|\[x\]/g, ''))) throw new ReadOnlyViolation('unbalanced quotes or brackets');
  if (!/^(select|with)\b/i.test(s)) throw new ReadOnlyViolation('only SELECT or WITH … SELECT may run');
  const body = s.replace(/;\s*$/, '');
  if (body.includes(';')) throw new ReadOnlyViolation('one statement at a time');
  const word = FORBIDDEN_WORDS.exec(body);
  if (word) throw new ReadOnlyViolation(`"${word[1]!.toUpperCase().replace(/\s+/g, ' ')}" is not allowed`);
  if (/\bnext\s+value\s+for\b/i.test(body)) throw new ReadOnlyViolation('NEXT VALUE FOR changes a sequence');
  const hint = LOCK_HINTS.exec(body);
  if (hint) throw new ReadOnlyViolation(`locking hint ${hint[1]!.toUpperCase()} is not allowed`);
  if (/\bfor\s+update\b/i.test(body)) throw new ReadOnlyViolation('FOR UPDATE is not allowed');
}
