import { describe, expect, it } from 'vitest';
import { assertReadOnlyTsql, ReadOnlyViolation } from '../../collectors/mssql/guard.js';

describe('SQL Server read-only guard', () => {
  it.each([
    'SELECT 1',
    '  select @@VERSION ;',
    "SELECT name FROM sys.configurations WHERE name = N'xp_cmdshell'",
    "SELECT 'DROP TABLE x; EXEC xp_cmdshell ''dir''' AS harmless_literal",
    'SELECT [update], "delete" FROM sys.tables AS [insert]',
    'WITH a AS (SELECT 1 AS x) SELECT x FROM a',
    'SELECT 1 -- ; DROP TABLE t',
    'SELECT /* EXEC sp_who */ 1',
    'SELECT s.is_disabled, r.transaction_isolation_level, set_time = 1 FROM sys.server_principals s CROSS JOIN sys.dm_exec_requests r',
  ])('allows a read: %s', (sql) => {
    expect(() => assertReadOnlyTsql(sql)).not.toThrow();
  });

  it.each([
    ['INSERT INTO t VALUES (1)', 'only SELECT'],
    ['UPDATE t SET a = 1', 'only SELECT'],
    ['DBCC FREEPROCCACHE', 'only SELECT'],
    ['DBCC SQLPERF(LOGSPACE)', 'only SELECT'],
    ['EXEC sp_configure', 'only SELECT'],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'only SELECT'],
    ['SELECT 1; DROP TABLE t', 'one statement'],
    ['SELECT 1 DROP TABLE t', 'DROP'],
    ["SELECT 1 EXEC xp_cmdshell N'dir'", 'EXEC'],
    ['SELECT 1 DBCC DROPCLEANBUFFERS', 'DBCC'],
    ['SELECT 1 KILL 52', 'KILL'],
    ['SELECT 1 SHUTDOWN', 'SHUTDOWN'],
    ['SELECT 1 RECONFIGURE', 'RECONFIGURE'],
    ['SELECT 1 USE master', 'USE'],
    ['SELECT 1 GRANT CONTROL SERVER TO x', 'GRANT'],
    ['SELECT 1 ALTER LOGIN sa ENABLE', 'ALTER'],
    ["SELECT 1 BACKUP DATABASE x TO DISK = N'x'", 'BACKUP'],
    ["SELECT 1 WAITFOR DELAY N'00:10'", 'WAITFOR'],
    ['SELECT * INTO t2 FROM t', 'INTO'],
    ['SELECT NEXT VALUE FOR dbo.seq', 'NEXT VALUE FOR'],
    ['SELECT * FROM t WITH (UPDLOCK)', 'UPDLOCK'],
    ['SELECT * FROM t WITH (TABLOCKX, HOLDLOCK)', 'TABLOCKX'],
    ["SELECT * FROM OPENROWSET(BULK N'c:\\x', SINGLE_CLOB) x", 'OPENROWSET'],
    ["SELECT * FROM OPENQUERY(ls, N'SELECT 1')", 'OPENQUERY'],
    ['WITH d AS (SELECT 1 AS x) DELETE FROM t', 'DELETE'],
    ['SELECT 1 /* /* nested */ */ DROP TABLE t', 'nested'],
    ["SELECT 'unterminated", 'unbalanced'],
    ['SELECT 1 BEGIN TRAN', 'BEGIN'],
    ['SELECT 1 DECLARE @x int', 'DECLARE'],
  ])('refuses %s', (sql, why) => {
    let err: unknown;
    try {
      assertReadOnlyTsql(sql);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReadOnlyViolation);
    expect((err as Error).message.toLowerCase()).toContain(why.toLowerCase());
  });
});
