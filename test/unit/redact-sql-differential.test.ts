// Differential property tests for the SQL normaliser (issue 21).
//
// Every literal the generators write holds "canary" characters (upper-case ASCII
// letters and digits) and nothing else in a statement does: names, keywords,
// operators and comments' framing are lower-case. So after normalisation no canary
// character may be left. For PostgreSQL, PostgreSQL's own scanner (libpg-query
// scanSync, the server's scan.l) checks the generator: every token it classifies as
// a literal holds a canary, and no name or keyword does — so "no canary left" means
// "every literal PostgreSQL sees is gone". T-SQL and Oracle have no scanner here:
// their generators are built from the vendors' lexical documentation (cited below).
// Run time is bounded by numRuns and the size of each statement.
import fc from 'fast-check';
import { loadModule, scanSync } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { normalizeSql, type SqlDialect } from '../../collectors/core/redact/sql.js';

const CANARY = /[A-Z0-9]/;
const canary = fc.stringMatching(/^[A-Z0-9]{1,6}$/);
const digits = fc.stringMatching(/^[1-9][0-9]{0,5}$/);
const hexDigits = fc.stringMatching(/^[0-9A-F]{1,6}$/);

/** Free text for inside a literal: canaries mixed with characters that end or start other tokens. */
const inner = (specials: string[]): fc.Arbitrary<string> =>
  fc.array(fc.oneof(canary, fc.constantFrom(...specials)), { minLength: 1, maxLength: 8 }).chain((parts) => canary.map((c) => c + parts.join('')));
const quoted = (s: string, q = "'"): string => q + s.replaceAll(q, q + q) + q;

// ---------------------------------------------------------------------------
// PostgreSQL: "Lexical Structure" 4.1.2 (string, dollar-quoted, bit-string,
// Unicode-escape constants) and 4.1.2.6 numeric constants (PostgreSQL 16+:
// non-decimal integers and underscores).
// ---------------------------------------------------------------------------
const PG_SPECIALS = [' ', "'", '"', '--', '/*', '*/', '$', '\r', '\n', ';', 'é', '東', ',', '(', ')', 'x'];
const pgString = inner(PG_SPECIALS);
const pgLiteral: fc.Arbitrary<string> = fc.oneof(
  pgString.map((s) => quoted(s)),
  // PostgreSQL's scanner reads N'…' as the keyword NCHAR then a string: the prefix is lower-case here.
  pgString.map((s) => `n${quoted(s)}`),
  pgString.map((s) => `E${quoted(s.replaceAll('\\', '\\\\'))}`),
  fc.tuple(canary, fc.constantFrom("\\'", '\\\\', '\\n', "''", '\\x41'), canary).map(([a, e, b]) => `E'${a}${e}${b}'`),
  pgString.filter((s) => !s.includes('$$') && !s.endsWith('$')).map((s) => `$$${s}$$`),
  fc
    .tuple(fc.constantFrom('q', 'fn', 'a_b', 'é'), pgString)
    .filter(([t, s]) => !s.includes(`$${t}$`) && !s.endsWith('$'))
    .map(([t, s]) => `$${t}$${s}$${t}$`),
  fc.stringMatching(/^[01]{1,8}$/).map((b) => `B'${b}'`),
  hexDigits.map((h) => `X'${h}'`),
  fc.tuple(canary, fc.constantFrom('\\0041', '\\00E9', '\\\\', ''), canary).map(([a, e, b]) => `U&'${a}${e}${b}'`),
  digits,
  fc.tuple(digits, digits).map(([a, b]) => `${a}.${b}`),
  digits.map((d) => `.${d}`),
  digits.map((d) => `${d}.`),
  fc.tuple(digits, fc.constantFrom('e', 'E', 'e+', 'E-'), digits).map(([a, e, b]) => `${a}${e}${b}`),
  fc.tuple(digits, digits).map(([a, b]) => `${a}_${b}`),
  fc.tuple(digits, digits, digits).map(([a, b, c]) => `0.${a}_${b}e${c}_1`),
  fc.tuple(digits, digits).map(([a, b]) => `${a}.5e1_${b}`),
  hexDigits.map((h) => `0x${h}`),
  fc.stringMatching(/^[0-7]{1,6}$/).map((o) => `0o${o}_7`),
  fc.stringMatching(/^[01]{1,8}$/).map((b) => `0b${b}`),
);
const pgWord = fc.constantFrom(
  'select',
  'from',
  'where',
  'and',
  'in',
  'values',
  'set',
  'as',
  't',
  'a',
  'b_c',
  'f',
  'café',
  '"quoted ident"',
  '"a""b"',
  'u&"x"',
  'interval',
  'date',
);
const pgOp = fc.constantFrom('=', '+', '-', '*', '/', '||', '::', '(', ')', ',', '[', ']', '<>', '@>', '->>', ';', '.', '%');
const pgSep = fc.constantFrom(' ', '\t', '\n', '\r', '\r\n', '\f', ' /* Q1 */ ', '/* a /* NESTED9 */ b */', ' -- COMMENT7\n', ' -- CR8\r', '\v');

// PostgreSQL's scanner token types for literals: FCONST, SCONST, USCONST, BCONST, XCONST, ICONST.
const LITERAL_TYPES = new Set([260, 261, 262, 263, 264, 266]);
const COMMENT_NAMES = new Set(['SQL_COMMENT', 'C_COMMENT']);

function statement(token: fc.Arbitrary<string>, sep: fc.Arbitrary<string>, maxTokens: number): fc.Arbitrary<string> {
  return fc.array(fc.tuple(token, sep), { minLength: 1, maxLength: maxTokens }).map((parts) => parts.map(([t, s]) => t + s).join(''));
}

describe('normalizeSql against PostgreSQL’s own scanner (libpg-query scanSync)', () => {
  beforeAll(async () => {
    await loadModule();
  });

  it('leaves no literal that PostgreSQL’s scanner finds, in any form, after any separator', () => {
    let literals = 0;
    fc.assert(
      fc.property(
        statement(fc.oneof({ weight: 3, arbitrary: pgLiteral }, { weight: 2, arbitrary: pgWord }, { weight: 2, arbitrary: pgOp }), pgSep, 30),
        (sql) => {
          const { tokens } = scanSync(sql);
          // The generator's contract, checked by the server's own lexer.
          for (const tok of tokens) {
            const bytes = Buffer.from(sql, 'utf8').subarray(tok.start, tok.end).toString('utf8');
            if (LITERAL_TYPES.has(tok.tokenType)) {
              // A literal may hold no canary where the scanner reads the statement otherwise than the generator
              // wrote it: a bit string continued across a newline, X'0' then '0'' ', reads as X'0' '0' (the
              // continuation, where '' is no escape), then the string ' '. Such a literal cannot witness its
              // removal by its canary, so the scan of the output below checks every literal by its token type.
              if (CANARY.test(bytes)) literals++;
            } else if (!COMMENT_NAMES.has(tok.tokenName)) {
              expect(bytes, `non-literal token ${bytes} in ${JSON.stringify(sql)}`).not.toMatch(CANARY);
            }
          }
          const out = normalizeSql(sql, 'postgres');
          expect(out, `valid input dropped: ${JSON.stringify(sql)}`).not.toBeNull();
          expect(out, `canary left from ${JSON.stringify(sql)}`).not.toMatch(CANARY);
          // And by PostgreSQL's own reading of the output: no literal of any kind is left in it.
          const text = out ?? '';
          const left = scanSync(text).tokens.filter((tok) => LITERAL_TYPES.has(tok.tokenType));
          expect(
            left.map((tok) => text.slice(tok.start, tok.end)),
            `literal left from ${JSON.stringify(sql)}`,
          ).toEqual([]);
        },
      ),
      // Counterexamples runs found (seeds -910486232 and 366206009), kept as fixed cases.
      { numRuns: 1500, examples: [["X'A'\n'0''' 1.5e1_1 "], ["X'0'\n'0'' ' n'A ' "]] },
    );
    expect(literals).toBeGreaterThan(3000);
  });

  it('with backslashes in plain strings (standard_conforming_strings unknown): never a canary, null only when the readings differ', () => {
    const backslashy = inner(["\\'", '\\', "''", ' ', 'x']).map((s) => quoted(s));
    fc.assert(
      fc.property(statement(fc.oneof(backslashy, pgLiteral, pgWord, pgOp), fc.constantFrom(' ', '\n', ' || '), 12), (sql) => {
        const out = normalizeSql(sql, 'postgres');
        if (out !== null) expect(out, `canary left from ${JSON.stringify(sql)}`).not.toMatch(CANARY);
      }),
      { numRuns: 1500 },
    );
  });
});

// ---------------------------------------------------------------------------
// T-SQL: "Constants (Transact-SQL)" (character strings with '' and N prefix,
// binary 0x, integer, decimal, float with E, money with a currency symbol),
// "Database identifiers" (regular, [delimited], "delimited" — a string under
// QUOTED_IDENTIFIER OFF), "Comment operators" (-- and nested /* */).
// ---------------------------------------------------------------------------
const TSQL_SPECIALS = [' ', "'", '"', '--', '/*', '*/', ']', '\r', '\n', ';', 'é', '東', '\u3000', '@', '$'];
const tsqlString = inner(TSQL_SPECIALS);
const CURRENCY = ['$', '€', '£', '¥', '¢', '₩', '₹', '＄', '￥'];
const tsqlLiteral: fc.Arbitrary<string> = fc.oneof(
  tsqlString.map((s) => quoted(s)),
  tsqlString.map((s) => `N${quoted(s)}`),
  tsqlString.map((s) => quoted(s, '"')),
  hexDigits.map((h) => `0x${h}`),
  digits,
  fc.tuple(digits, digits).map(([a, b]) => `${a}.${b}`),
  fc.tuple(digits, fc.constantFrom('E', 'e+', 'E-'), digits).map(([a, e, b]) => `${a}${e}${b}`),
  fc.tuple(fc.constantFrom(...CURRENCY), digits, fc.constantFrom('', '.5', '.25')).map(([c, d, f]) => `${c}${d}${f}`),
);
const tsqlWord = fc.constantFrom(
  'select',
  'from',
  'where',
  'and',
  'in',
  'values',
  'top',
  't',
  'dbo',
  '[my table]',
  '[a]]b]',
  '@p',
  '@@rowcount',
  '#tmp',
  'café',
  '東京',
  '$action',
);
const tsqlOp = fc.constantFrom('=', '+', '-', '*', '(', ')', ',', '<>', '.', ';', '%');
const tsqlSep = fc.constantFrom(' ', '\t', '\n', '\r', '\r\n', '\u3000', '\u00a0', '\u2003', ' /* Q1 /* N2 */ */ ', ' -- C3\n', ' -- C4\r');

// ---------------------------------------------------------------------------
// Oracle: "Literals" (text literals with N and q'…' alternative quoting — any
// delimiter but space, tab and return, [{(< paired —, numeric literals with f/d
// suffixes), "Database Object Names and Qualifiers", "Comments" (not nested).
// ---------------------------------------------------------------------------
const ORA_SPECIALS = [' ', "'", '"', '--', '/*', '\r', '\n', ';', 'é', '東', '\u3000', ':'];
const oraString = inner(ORA_SPECIALS);
const qQuote = fc
  .tuple(
    fc.constantFrom('q', 'Q', 'nq', 'NQ'),
    fc.constantFrom(['[', ']'], ['{', '}'], ['(', ')'], ['<', '>'], ['!', '!'], ['#', '#'], ['\ud834\udd1e', '\ud834\udd1e'], ['é', 'é']),
    oraString,
  )
  .filter(([, [, close], s]) => !s.includes(`${close}'`) && !s.endsWith(close))
  .map(([p, [open, close], s]) => `${p}'${open}${s}${close}'`);
const oraLiteral: fc.Arbitrary<string> = fc.oneof(
  oraString.map((s) => quoted(s)),
  oraString.map((s) => `N${quoted(s)}`),
  qQuote,
  digits,
  fc.tuple(digits, digits).map(([a, b]) => `${a}.${b}`),
  fc.tuple(digits, fc.constantFrom('f', 'F', 'd', 'D')).map(([a, s]) => `${a}${s}`),
  fc.tuple(digits, digits, fc.constantFrom('f', 'd', '')).map(([a, b, s]) => `${a}.${b}${s}`),
  fc.tuple(digits, fc.constantFrom('e', 'E+', 'e-'), digits).map(([a, e, b]) => `${a}${e}${b}`),
);
const oraWord = fc.constantFrom(
  'select',
  'from',
  'dual',
  'where',
  'and',
  'in',
  'values',
  't',
  'a$b',
  'x#y',
  'café',
  '東京',
  '"quoted id"',
  ':bind',
  'sys.v$session',
);
const oraOp = fc.constantFrom('=', '+', '-', '*', '(', ')', ',', '<>', '||', ';', '@');
const oraSep = fc.constantFrom(' ', '\t', '\n', '\r', '\r\n', '\u3000', '\u00a0', ' /* Q1 */ ', ' -- C3\n', ' -- C4\r', ' -- C5\u2028');

describe('normalizeSql on generators built from the T-SQL and Oracle lexical rules', () => {
  it.each<[string, SqlDialect, fc.Arbitrary<string>]>([
    [
      'T-SQL',
      'tsql',
      statement(fc.oneof({ weight: 3, arbitrary: tsqlLiteral }, { weight: 2, arbitrary: tsqlWord }, { weight: 2, arbitrary: tsqlOp }), tsqlSep, 30),
    ],
    [
      'Oracle',
      'oracle',
      statement(fc.oneof({ weight: 3, arbitrary: oraLiteral }, { weight: 2, arbitrary: oraWord }, { weight: 2, arbitrary: oraOp }), oraSep, 30),
    ],
  ])('%s: every literal is gone and valid input is never null', (_name, dialect, gen) => {
    fc.assert(
      fc.property(gen, (sql) => {
        const out = normalizeSql(sql, dialect);
        expect(out, `valid input dropped: ${JSON.stringify(sql)}`).not.toBeNull();
        expect(out, `canary left from ${JSON.stringify(sql)}`).not.toMatch(CANARY);
      }),
      { numRuns: 1500 },
    );
  });

  it.each<[string, SqlDialect, (pw: string) => string]>([
    ['Oracle CREATE USER', 'oracle', (pw) => `create user app identified by ${pw} default tablespace users`],
    ['Oracle ALTER USER … REPLACE', 'oracle', (pw) => `alter user app identified by ${pw} replace ${pw};`],
    ['Oracle database link', 'oracle', (pw) => `create database link l connect to app identified by ${pw} using 'DB1'`],
    ['T-SQL ALTER LOGIN', 'tsql', (pw) => `alter login app with password = ${pw} old_password = ${pw}, check_policy = off`],
    ['PostgreSQL ALTER ROLE', 'postgres', (pw) => `alter role app with login password ${pw} valid until 'INFINITY'`],
  ])('%s: a password of any token type is replaced', (_name, dialect, ddl) => {
    const password = fc.oneof(
      canary.map((c) => `p${c}`),
      canary.map((c) => `"p ${c} q"`),
      canary.map((c) => `'${c}'`),
      fc.tuple(canary, fc.constantFrom('#', '$', '-', '+', '@', '!', 'é'), canary).map(([a, s, b]) => `x${a}${s}${b}`),
    );
    fc.assert(
      fc.property(password, (pw) => {
        const out = normalizeSql(ddl(pw), dialect);
        expect(out).not.toBeNull();
        expect(out, ddl(pw)).not.toMatch(CANARY);
      }),
      { numRuns: 300 },
    );
  });
});
