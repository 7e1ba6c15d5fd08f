import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertReadOnlySql, ReadOnlyViolation } from '../../collectors/oracle/guard.js';

const off = { diagnosticsPack: false };
const accepts = (sql: string, opts = off) => expect(() => assertReadOnlySql(sql, opts)).not.toThrow();
const refuses = (sql: string, opts = off) => expect(() => assertReadOnlySql(sql, opts)).toThrow(ReadOnlyViolation);

describe('Oracle read-only guard', () => {
  it('accepts plain queries with built-in functions, outer joins, literals that look like SQL', () => {
    accepts("SELECT SYS_CONTEXT('USERENV', 'SESSION_USER') AS u FROM dual");
    accepts('SELECT a.sid FROM v$session a, v$process b WHERE a.paddr = b.addr (+)');
    refuses('SELECT a.x FROM app.t a, u b WHERE a.id = b.id (+)');
    accepts("SELECT name FROM v$parameter WHERE name = 'audit_trail' AND value <> 'DELETE FROM t; COMMIT'");
    accepts('WITH x AS (SELECT 1 AS n FROM dual) SELECT COUNT(*) AS n FROM x FETCH FIRST 1 ROWS ONLY');
    accepts('SELECT con_id, sid FROM v$session -- DROP TABLE t\n ORDER BY sid');
  });

  it('licensed objects are refused until the licence is confirmed, even named in a literal or a comment', () => {
    refuses('SELECT COUNT(*) FROM gv$active_session_history');
    refuses('SELECT * FROM cdb_hist_sysmetric_summary');
    refuses("SELECT 1 FROM dual WHERE 'x' = 'dba_hist_snapshot'");
    refuses('SELECT 1 FROM dual /* awr_pdb_snapshot */');
    accepts('SELECT COUNT(*) AS n FROM v$active_session_history', { diagnosticsPack: true });
  });

  it('any statement with a write, DDL, PL/SQL or transaction keyword outside literals is refused', () => {
    const keyword = fc.constantFrom(
      'insert',
      'UPDATE',
      'Delete',
      'merge',
      'create',
      'alter',
      'drop',
      'grant',
      'revoke',
      'truncate',
      'commit',
      'rollback',
      'savepoint',
      'lock',
      'begin',
      'declare',
      'execute',
      'call',
      'set',
      'into',
      'function',
      'procedure',
    );
    const filler = fc.stringMatching(/^[a-z_ ,.=0-9]{0,20}$/);
    fc.assert(
      fc.property(fc.constantFrom('SELECT', 'WITH', 'select', ''), filler, keyword, filler, (lead, a, k, b) => {
        refuses(`${lead} ${a} ${k} ${b}`);
      }),
      { numRuns: 300 },
    );
  });
});
