/**
 * SQL normalisation: literals become `?`, comments go, IN-lists and multi-row
 * VALUES collapse, runs of whitespace become one space; identifiers, keywords,
 * operators and bind parameters ($1, @p1, :name, :1) stay. One forward scan over
 * char codes writing straight into an output buffer (collapsing an IN-list or a
 * VALUES row is moving the write position back), no regular expression on the
 * ASCII path and no parser: linear with a small constant on any statement, and
 * deterministic, so the same statement always gives the same text.
 *
 * Fails closed, per dialect (docs/redaction.md lists the rules):
 * - Each dialect has its own character classes, taken from the vendor's lexical
 *   rules (cited at the tables below). A character the dialect does not
 *   positively recognise as part of a keyword, identifier, operator or
 *   whitespace makes the whole run of non-separator characters around it one
 *   literal (`?`); it is never glued into a name and shipped.
 * - Text that cannot be tokenised (an unterminated string, quoted identifier,
 *   comment or dollar quote, a NUL byte) returns null and the caller drops it.
 * - Where a server setting changes how strings are delimited and the setting is
 *   unknown (PostgreSQL standard_conforming_strings, T-SQL QUOTED_IDENTIFIER),
 *   the text is read the safe way (T-SQL "…" is a literal) or both ways
 *   (PostgreSQL): if the two readings differ, null.
 * - Passwords in DDL (IDENTIFIED BY, CREATE/ALTER USER/ROLE/LOGIN … PASSWORD)
 *   are replaced whatever their token type.
 */
export type SqlDialect = 'postgres' | 'tsql' | 'oracle';

const C = {
  TAB: 9,
  LF: 10,
  CR: 13,
  SPACE: 32,
  BANG: 33,
  DQUOTE: 34,
  HASH: 35,
  DOLLAR: 36,
  AMP: 38,
  SQUOTE: 39,
  LPAREN: 40,
  RPAREN: 41,
  STAR: 42,
  PLUS: 43,
  COMMA: 44,
  MINUS: 45,
  DOT: 46,
  SLASH: 47,
  D0: 48,
  D9: 57,
  COLON: 58,
  SEMI: 59,
  EQ: 61,
  QMARK: 63,
  AT: 64,
  LBRACK: 91,
  BSLASH: 92,
  RBRACK: 93,
  UNDERSCORE: 95,
} as const;

const isDigit = (c: number): boolean => c >= C.D0 && c <= C.D9;

// ---------------------------------------------------------------------------
// Character classes per dialect (ASCII as tables, the hot path; non-ASCII below).
//   SPACE  separates tokens
//   START  starts (and continues) an identifier
//   PART   continues an identifier, or is glued into a literal run, never starts a name
//   OP     a one-character operator or punctuation token
//   QUOTE  handled by the scanner (quotes, `$`, …)
//   OTHER  not recognised: the run of non-separators around it becomes one literal
// ---------------------------------------------------------------------------
const SPACE = 1;
const START = 2;
const PART = 3;
const OP = 4;
const QUOTE = 5;
const OTHER = 6;

function asciiTable(spec: { start: string; part: string; op: string; quote: string }): Uint8Array {
  const t = new Uint8Array(128).fill(OTHER);
  // PostgreSQL `space [ \t\n\r\f\v]`; T-SQL and Oracle accept the same ASCII separators.
  for (const c of [9, 10, 11, 12, 13, 32]) t[c] = SPACE;
  for (let c = 65; c <= 90; c++) t[c] = START;
  for (let c = 97; c <= 122; c++) t[c] = START;
  for (let c = 48; c <= 57; c++) t[c] = PART;
  for (const ch of spec.start) t[ch.charCodeAt(0)] = START;
  for (const ch of spec.part) t[ch.charCodeAt(0)] = PART;
  for (const ch of spec.op) t[ch.charCodeAt(0)] = OP;
  for (const ch of spec.quote) t[ch.charCodeAt(0)] = QUOTE;
  return t;
}

/**
 * PostgreSQL, "Lexical Structure" (SQL Syntax chapter) and src/backend/parser/scan.l:
 * ident_start [A-Za-z\200-\377_], ident_cont [A-Za-z\200-\377_0-9\$]; self
 * [,()\[\].;\:\+\-\*\/\%\^\<\>\=], op_chars [\~\!\@\#\^\&\|\`\?\+\-\*\/\%\<\>\=].
 * Every byte >= 0x80 is an identifier character, so every non-ASCII UTF-16 unit is one.
 * `{` `}` are single-character tokens to every dialect here (ODBC escapes, MATCH_RECOGNIZE).
 */
const PG = asciiTable({ start: '_', part: '$', op: ',()[].;:+-*/%^<>=~!@#&|`?{}', quote: '\'"$' });
/**
 * T-SQL, "Database identifiers" (regular identifiers): the first character is a
 * letter, `_`, `@` or `#`; the following ones letters, decimal numbers, `@`, `$`,
 * `#`, `_`. `$` alone starts a money constant ("Constants (Transact-SQL)") or a
 * pseudo-column ($action, $identity).
 */
const TSQL = asciiTable({ start: '_@#', part: '$', op: ',().;:+-*/%^<>=~!&|?{}', quote: '\'"[$' });
/**
 * Oracle, "Database Object Names and Qualifiers": a nonquoted identifier begins
 * with an alphabetic character and contains only alphanumeric characters, `_`,
 * `$` and `#`. `@` is the database-link separator, `[` `]` appear in JSON paths.
 */
const ORACLE = asciiTable({ start: '', part: '_$#', op: ',().;:+-*/%^<>=~!&|@?{}[]', quote: '\'"' });

const TABLES: Record<SqlDialect, Uint8Array> = { postgres: PG, tsql: TSQL, oracle: ORACLE };

// Non-ASCII for T-SQL and Oracle. T-SQL: "Letters as defined by the Unicode Standard"
// start a name, letters and decimal numbers continue it; Oracle: alphabetic and
// alphanumeric characters of the database character set. Combining marks continue a
// name (decomposed accents). Unicode white space separates tokens. Everything else
// (currency symbols, other digits, symbols, punctuation, lone surrogates) is OTHER.
const RE_START = /^[\p{L}\p{Nl}]$/u;
const RE_PART = /^[\p{Mn}\p{Mc}\p{Nd}]$/u;
const RE_SPACE = /^\p{White_Space}$/u;
const BMP_CLASS = new Uint8Array(0x10000); // 0 = not computed yet

function classifyCodePoint(cp: number): number {
  const ch = String.fromCodePoint(cp);
  if (RE_SPACE.test(ch)) return SPACE;
  if (RE_START.test(ch)) return START;
  if (RE_PART.test(ch)) return PART;
  return OTHER;
}

/** Class of the (possibly surrogate-pair) character at `i`, T-SQL and Oracle. */
function unicodeClass(s: string, i: number, c: number): number {
  if (c >= 0xd800 && c <= 0xdbff) {
    const lo = s.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) return classifyCodePoint(((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000);
    return OTHER;
  }
  if (c >= 0xdc00 && c <= 0xdfff) return OTHER;
  let k = BMP_CLASS[c]!;
  if (k === 0) k = BMP_CLASS[c] = classifyCodePoint(c);
  return k;
}
/** UTF-16 length of the character at `i` (2 for a surrogate pair). */
const charLen = (s: string, i: number, c: number): number => {
  if (c >= 0xd800 && c <= 0xdbff) {
    const lo = s.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) return 2;
  }
  return 1;
};

// ---------------------------------------------------------------------------
// Scanning helpers.
// ---------------------------------------------------------------------------

/** End index (exclusive) of a quoted run starting at `i` (the opening quote), or -1 if unterminated. */
function endOfQuoted(s: string, i: number, quote: number, backslashEscapes: boolean): number {
  const n = s.length;
  const q = quote === C.SQUOTE ? "'" : '"';
  let j = i + 1;
  if (!backslashEscapes) {
    for (;;) {
      const k = s.indexOf(q, j);
      if (k === -1) return -1;
      if (s.charCodeAt(k + 1) !== quote) return k + 1;
      j = k + 2;
    }
  }
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === C.BSLASH) {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (s.charCodeAt(j + 1) === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return -1;
}

/** End of a T-SQL [bracketed identifier] (`]]` escapes `]`), or -1. */
function endOfBracketed(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const k = s.indexOf(']', j);
    if (k === -1) return -1;
    if (s.charCodeAt(k + 1) !== C.RBRACK) return k + 1;
    j = k + 2;
  }
}

/** End of a block comment starting at `i` (nested in PostgreSQL and T-SQL, not in Oracle), or -1. */
function endOfBlockComment(s: string, i: number, nested: boolean): number {
  if (!nested) {
    const k = s.indexOf('*/', i + 2);
    return k === -1 ? -1 : k + 2;
  }
  const n = s.length;
  let depth = 1;
  let j = i + 2;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === C.STAR && s.charCodeAt(j + 1) === C.SLASH) {
      depth--;
      j += 2;
      if (depth === 0) return j;
      continue;
    }
    if (c === C.SLASH && s.charCodeAt(j + 1) === C.STAR) {
      depth++;
      j += 2;
      continue;
    }
    j++;
  }
  return -1;
}

/**
 * End of a `--` comment starting at `i`: the index of its line terminator. PostgreSQL
 * (scan.l `newline [\n\r]`) ends it at LF or a lone CR. T-SQL and Oracle also at the
 * Unicode line terminators (NEL, LS, PS): ending a comment early only exposes more
 * text to this scanner, which replaces the literals in it; ending it late would hide
 * a literal inside the "comment" and keep it.
 */
function endOfLineComment(s: string, i: number, unicodeLines: boolean): number {
  const n = s.length;
  let j = i + 2;
  if (!unicodeLines) {
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === C.LF || c === C.CR) return j;
      j++;
    }
    return n;
  }
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === C.LF || c === C.CR || c === 0x85 || c === 0x2028 || c === 0x2029) return j;
    j++;
  }
  return n;
}

/** A PostgreSQL dollar-quote tag at `i` ($$ or $tag$): its length, or 0 when `$` starts something else. */
function dollarTagLength(s: string, i: number): number {
  // scan.l: dolq_start [A-Za-z\200-\377_], dolq_cont [A-Za-z\200-\377_0-9].
  let j = i + 1;
  const first = s.charCodeAt(j);
  if (first === C.DOLLAR) return 2;
  if (!(first >= 128 || PG[first] === START)) return 0;
  j++;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === C.DOLLAR) return j - i + 1;
    if (!(c >= 128 || PG[c] === START || isDigit(c))) return 0;
    j++;
  }
  return 0;
}

/**
 * End of a literal run starting at `i`: a number in any form of the dialect and
 * version (decimal, `.5`, exponents with signs, `0x`/`0o`/`0b`, `_` separators
 * anywhere including fractions and exponents, suffixes such as Oracle `f`/`d`,
 * T-SQL money `$12.50` or `€12`), and any identifier or unrecognised characters glued
 * to it. Everything up to the next separator, operator or quote is the literal:
 * what the server would read as trailing junk is replaced too, never kept.
 */
function endOfLiteralRun(s: string, i: number, t: Uint8Array, pg: boolean): number {
  const n = s.length;
  let j = i;
  let dot = false;
  const hex = s.charCodeAt(i) === C.D0 && (s.charCodeAt(i + 1) | 0x20) === 120;
  for (;;) {
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c < 128) {
        const k = t[c]!;
        if (k === START || k === PART || k === OTHER) {
          if (c === 0) return j; // NUL: the caller rejects the statement
          j++;
          continue;
        }
        // `$` is glued into T-SQL money; in PostgreSQL it may open a dollar quote.
        if (c === C.DOLLAR && !pg) {
          j++;
          continue;
        }
        break;
      }
      if (pg) {
        j++;
        continue;
      }
      const k = unicodeClass(s, j, c);
      if (k === SPACE) break;
      j += charLen(s, j, c);
    }
    const c = s.charCodeAt(j);
    if (c === C.DOT && !dot && s.charCodeAt(j + 1) !== C.DOT) {
      dot = true;
      j++;
      continue;
    }
    if ((c === C.PLUS || c === C.MINUS) && !hex && j > i && (s.charCodeAt(j - 1) | 0x20) === 101 && isDigit(s.charCodeAt(j + 1))) {
      const first = s.charCodeAt(i);
      if (isDigit(first) || first === C.DOT || first === C.DOLLAR || first >= 128) {
        j++;
        continue;
      }
    }
    return j;
  }
}

/** Oracle alternative quoting q'[...]' / nq'{...}': the index after the closing `]'`, -1 if unterminated, 0 if not one. */
function endOfOracleQ(s: string, i: number): number {
  const lc = s.charCodeAt(i) | 0x20;
  const q = lc === 113 /* q */ ? i : lc === 110 /* n */ && (s.charCodeAt(i + 1) | 0x20) === 113 ? i + 1 : -1;
  if (q === -1 || s.charCodeAt(q + 1) !== C.SQUOTE || q + 2 >= s.length) return 0;
  const open = s.charCodeAt(q + 2);
  // "any single-byte or multibyte character except space, tab, and return": compared
  // as a whole character, so a delimiter outside the BMP (a surrogate pair) works.
  if (open === C.SPACE || open === C.TAB || open === C.CR || open === C.LF) return 0;
  const len = charLen(s, q + 2, open);
  const close = open === 91 ? ']' : open === 123 ? '}' : open === 40 ? ')' : open === 60 ? '>' : s.slice(q + 2, q + 2 + len);
  const end = s.indexOf(`${close}'`, q + 2 + len);
  return end === -1 ? -1 : end + close.length + 1;
}

// ---------------------------------------------------------------------------
// Keywords the scanner reacts to, matched without allocating.
// ---------------------------------------------------------------------------
const KW_NONE = 0;
const KW_IN = 1;
const KW_VALUES = 2;
const KW_IDENTIFIED = 3;
const KW_BY = 4;
const KW_REPLACE = 5;
const KW_CREATE = 6; // CREATE, ALTER, OPEN: may start an authentication DDL
const KW_AUTH_OBJECT = 7; // USER, ROLE, LOGIN, GROUP, APPLICATION, MASTER, CERTIFICATE, CREDENTIAL, …
const KW_PASSWORD = 8; // PASSWORD, OLD_PASSWORD, SECRET
const KW_DML = 9; // SELECT, INSERT, UPDATE, DELETE, MERGE, GO: end the DDL context
const KW_NULL = 10;
const KW_UNARY = 11; // words after which `-1` is a negative literal

const KW_SELECT = 12; // DML and unary context

const KEYWORD_LIST: Array<[string, number]> = [
  ['in', KW_IN],
  ['values', KW_VALUES],
  ['identified', KW_IDENTIFIED],
  ['by', KW_BY],
  ['replace', KW_REPLACE],
  ['create', KW_CREATE],
  ['alter', KW_CREATE],
  ['open', KW_CREATE],
  ...['user', 'role', 'login', 'group', 'application', 'master', 'certificate', 'credential', 'symmetric', 'asymmetric', 'database', 'server'].map(
    (w): [string, number] => [w, KW_AUTH_OBJECT],
  ),
  ['password', KW_PASSWORD],
  ['old_password', KW_PASSWORD],
  ['secret', KW_PASSWORD],
  ['select', KW_SELECT],
  ...['insert', 'update', 'delete', 'merge', 'go'].map((w): [string, number] => [w, KW_DML]),
  ['null', KW_NULL],
  ...[
    'where',
    'and',
    'or',
    'not',
    'then',
    'else',
    'when',
    'case',
    'between',
    'return',
    'limit',
    'offset',
    'is',
    'like',
    'set',
    'on',
    'having',
    'array',
    'top',
  ].map((w): [string, number] => [w, KW_UNARY]),
];
const MAX_KW = 12;
// By length, then compared char by char: no string is built for an identifier.
const KEYWORDS_BY_LENGTH: Array<Array<[string, number]>> = Array.from({ length: MAX_KW + 1 }, () => []);
for (const entry of KEYWORD_LIST) KEYWORDS_BY_LENGTH[entry[0].length]!.push(entry);

/** The keyword code of s[a, b), case-insensitively. */
function keywordOf(s: string, a: number, b: number): number {
  const len = b - a;
  if (len < 2 || len > MAX_KW) return KW_NONE;
  const list = KEYWORDS_BY_LENGTH[len]!;
  const c0 = s.charCodeAt(a) | 0x20;
  outer: for (let e = 0; e < list.length; e++) {
    const w = list[e]![0];
    if (w.charCodeAt(0) !== c0) continue;
    for (let k = 1; k < len; k++) {
      const c = s.charCodeAt(a + k);
      if ((c >= 65 && c <= 90 ? c | 0x20 : c) !== w.charCodeAt(k)) continue outer;
    }
    return list[e]![1];
  }
  return KW_NONE;
}

/** Characters after which `-1` is a negative literal: `(,=<>+-*\/%^|&~!@#[`. */
const UNARY_AFTER_OP = new Uint8Array(128);
for (const ch of '(,=<>+-*/%^|&~!@#[') UNARY_AFTER_OP[ch.charCodeAt(0)] = 1;

// ---------------------------------------------------------------------------
// Output buffer: UTF-16 units, reused between calls (the output is at most twice
// the input: a space is only added where the input had a gap or after a comma).
// ---------------------------------------------------------------------------
let OUT = new Uint16Array(1 << 16);
const KEEP_BUFFER = 1 << 20;

// Node's Buffer copies UTF-16 units into a string in one pass, lone surrogates
// included (TextDecoder would replace them and is several times slower); the
// Uint16Array holds them in platform order, so only on little-endian platforms.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;

/** The output as a string. */
function bufferToString(buf: Uint16Array, len: number): string {
  const CHUNK = 8192;
  if (len <= CHUNK) return String.fromCharCode.apply(null, buf.subarray(0, len) as unknown as number[]);
  if (NodeBuffer && LITTLE_ENDIAN) return NodeBuffer.from(buf.buffer, buf.byteOffset, len * 2).toString('utf16le');
  const parts: string[] = [];
  for (let a = 0; a < len; a += CHUNK) parts.push(String.fromCharCode.apply(null, buf.subarray(a, Math.min(len, a + CHUNK)) as unknown as number[]));
  return parts.join('');
}

// Token kinds, for spacing, list collapsing and the unary-minus rule.
const T_NONE = 0;
const T_LIT = 1; // a replaced literal
const T_OP = 2; // a one-character operator; its code is in prevCode
const T_WORD = 3; // an unquoted identifier or keyword
const T_OTHER = 4; // quoted identifier, bind parameter

interface LexResult {
  out: string | null;
  /** A plain '…' string held a backslash: its end depends on standard_conforming_strings. */
  ambiguous: boolean;
}

function lex(sql: string, dialect: SqlDialect, backslashQuotes: boolean): LexResult {
  const n = sql.length;
  const t = TABLES[dialect];
  const pg = dialect === 'postgres';
  const tsql = dialect === 'tsql';
  const oracle = dialect === 'oracle';
  const nestedComments = !oracle;
  if (OUT.length < 2 * n + 16) OUT = new Uint16Array(2 * n + 16);
  const out = OUT;
  let len = 0;
  let ambiguous = false;
  // standard_conforming_strings = off reads a string differently only where an odd run
  // of backslashes comes before a quote inside it (`\'` escapes the quote); C:\dir\file
  // reads the same both ways. Backslashes are found with indexOf, each visited once.
  let nextBackslash = -1; // the next backslash at or after the last position asked, n when none
  const escapesQuote = (a: number, b: number): boolean => {
    let p = nextBackslash;
    if (p < a) {
      p = sql.indexOf('\\', a);
      if (p === -1) p = n;
    }
    while (p < b) {
      let q = p + 1;
      while (sql.charCodeAt(q) === C.BSLASH) q++;
      if (((q - p) & 1) === 1 && q < b && sql.charCodeAt(q) === C.SQUOTE) {
        nextBackslash = p;
        return true;
      }
      p = sql.indexOf('\\', q);
      if (p === -1) p = n;
    }
    nextBackslash = p;
    return false;
  };

  let gap = false; // whitespace or a comment since the last token
  let count = 0; // tokens written
  let prevCode = -1; // its code when it is a one-character operator
  let lastKind = T_NONE; // the last token scanned (before collapsing), for unary minus
  let lastCode = -1;
  let lastKw = KW_NONE;
  let lastUnaryWord = false;

  // IN ( ? , ? … ) and VALUES ( ? … ) , ( ? … ) collapsing, as two small state machines.
  let inState = 0;
  let inFirstEnd = 0;
  let vState = 0;
  let vKeepEnd = 0;
  let recordIn = false;
  let recordV = false;

  // Secrets: IDENTIFIED BY x [REPLACE y]; PASSWORD [=] x in authentication DDL.
  let authDdl = false;
  let secretNext = false; // the next token is a secret
  let passwordWord = false; // after PASSWORD: an optional `=`, then the secret
  let afterSecret = false; // a REPLACE right after an IDENTIFIED BY secret is followed by another
  let secretLiteral = false; // the literal being written is the secret

  /** Writes the separator the canonical spacing wants before a token of this kind. */
  const space = (kind: number, code: number): void => {
    if (count > 0 && (gap || prevCode === C.COMMA) && prevCode !== C.LPAREN && prevCode !== C.DOT) {
      if (!(kind === T_OP && (code === C.COMMA || code === C.RPAREN || code === C.SEMI || code === C.DOT))) out[len++] = C.SPACE;
    }
  };

  /** Collapse bookkeeping and spacing for a token about to be written; false when it is dropped. */
  const before = (kind: number, code: number, kw: number): boolean => {
    if ((vState | inState | kw) === 0) {
      space(kind, code);
      return true;
    }
    // VALUES: rows after the first literal-only row are dropped when they are literal-only too.
    let drop = false;
    switch (vState) {
      case 0:
        break;
      case 1:
        vState = kind === T_OP && code === C.LPAREN ? 2 : 0;
        break;
      case 2:
        vState = kind === T_LIT ? 3 : 0;
        break;
      case 3:
        vState = kind === T_OP && code === C.COMMA ? 4 : kind === T_OP && code === C.RPAREN ? 5 : 0;
        recordV = vState === 5;
        break;
      case 4:
        vState = kind === T_LIT ? 3 : 0;
        break;
      case 5:
        vState = kind === T_OP && code === C.COMMA ? 6 : 0;
        break;
      case 6:
        vState = kind === T_OP && code === C.LPAREN ? 7 : 0;
        break;
      case 7:
        vState = kind === T_LIT ? 8 : 0;
        break;
      case 8:
        if (kind === T_OP && code === C.COMMA) vState = 9;
        else if (kind === T_OP && code === C.RPAREN) {
          len = vKeepEnd;
          vState = 5;
          drop = true;
        } else vState = 0;
        break;
      case 9:
        vState = kind === T_LIT ? 8 : 0;
        break;
    }
    switch (inState) {
      case 0:
        break;
      case 1:
        inState = kind === T_OP && code === C.LPAREN ? 2 : 0;
        break;
      case 2:
        inState = kind === T_LIT ? 3 : 0;
        recordIn = inState === 3;
        break;
      case 3:
        if (kind === T_OP && code === C.COMMA) inState = 4;
        else {
          if (kind === T_OP && code === C.RPAREN) len = inFirstEnd;
          inState = 0;
        }
        break;
      case 4:
        inState = kind === T_LIT ? 3 : 0;
        break;
    }
    if (kw === KW_IN) inState = 1;
    else if (kw === KW_VALUES) vState = 1;
    if (drop) {
      prevCode = C.RPAREN;
      gap = false;
      return false;
    }
    space(kind, code);
    return true;
  };
  const after = (kind: number, code: number): void => {
    if (recordIn) {
      inFirstEnd = len;
      recordIn = false;
    }
    if (recordV) {
      vKeepEnd = len;
      recordV = false;
    }
    prevCode = kind === T_OP ? code : -1;
    lastKind = kind;
    lastCode = prevCode;
    gap = false;
    count++;
  };
  const literal = (): void => {
    if (before(T_LIT, -1, KW_NONE)) out[len++] = C.QMARK;
    after(T_LIT, -1);
    lastKw = KW_NONE;
    afterSecret = secretLiteral;
    secretLiteral = false;
  };
  const copy = (kind: number, a: number, b: number, kw: number): void => {
    if (before(kind, -1, kw)) for (let k = a; k < b; k++) out[len++] = sql.charCodeAt(k);
    after(kind, -1);
  };
  const op = (code: number): void => {
    if (before(T_OP, code, KW_NONE)) out[len++] = code;
    after(T_OP, code);
    lastKw = KW_NONE;
    afterSecret = false;
    if (code === C.SEMI) authDdl = false;
  };
  /** After an unquoted word: keyword-driven state for secrets and unary minus. */
  const word = (a: number, b: number): void => {
    const kw = keywordOf(sql, a, b);
    copy(T_WORD, a, b, kw);
    const prev = lastKw;
    lastKw = kw;
    lastUnaryWord = kw === KW_UNARY || kw === KW_SELECT || kw === KW_IN || kw === KW_VALUES || kw === KW_BY;
    if (afterSecret) {
      afterSecret = false;
      if (kw === KW_REPLACE) secretNext = true;
    }
    if (kw === KW_BY && prev === KW_IDENTIFIED) secretNext = true;
    else if (kw === KW_AUTH_OBJECT && (prev === KW_CREATE || prev === KW_AUTH_OBJECT)) authDdl = true;
    else if (kw === KW_DML || kw === KW_SELECT) authDdl = false;
    else if (kw === KW_PASSWORD && authDdl) passwordWord = true;
  };
  const unaryContext = (): boolean =>
    lastKind === T_NONE || (lastKind === T_OP && lastCode < 128 && UNARY_AFTER_OP[lastCode] === 1) || (lastKind === T_WORD && lastUnaryWord);

  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const k = c < 128 ? t[c]! : pg ? START : unicodeClass(sql, i, c);
    if (k === SPACE) {
      gap = true;
      i += c < 128 ? 1 : charLen(sql, i, c);
      continue;
    }
    const next = sql.charCodeAt(i + 1);
    // The hot paths, for token-dense text: one-character operators that start nothing
    // else, and plain decimal integers, written without the collapsing machinery when
    // no IN-list or VALUES row is open.
    if (k === OP && !(passwordWord || secretNext) && c !== C.SLASH && c !== C.DOT && c !== C.COLON && c !== C.EQ) {
      // A `?` in the input (a driver's parameter marker, or the normaliser's own output)
      // counts as a placeholder, so IN (?, ?) collapses and the output is a fixed point.
      if (c === C.QMARK) {
        literal();
        i++;
        continue;
      }
      if (c === C.MINUS) {
        if (next === C.MINUS) {
          i = endOfLineComment(sql, i, !pg);
          gap = true;
          continue;
        }
        if ((isDigit(next) || (next === C.DOT && isDigit(sql.charCodeAt(i + 2)))) && unaryContext()) {
          i = endOfLiteralRun(sql, i + 1, t, pg);
          if (sql.charCodeAt(i) === 0) return { out: null, ambiguous };
          literal();
          continue;
        }
      }
      if ((vState | inState) === 0) {
        if (count > 0 && (gap || prevCode === C.COMMA) && prevCode !== C.LPAREN && prevCode !== C.DOT && c !== C.COMMA && c !== C.RPAREN && c !== C.SEMI) {
          out[len++] = C.SPACE;
        }
        out[len++] = c;
        lastKind = T_OP;
        prevCode = lastCode = c;
        gap = false;
        count++;
        lastKw = KW_NONE;
        afterSecret = false;
        if (c === C.SEMI) authDdl = false;
      } else op(c);
      i++;
      continue;
    }
    // PostgreSQL bind parameters $1, $2 …
    if (c === C.DOLLAR && pg && isDigit(next)) {
      let j = i + 2;
      while (isDigit(sql.charCodeAt(j))) j++;
      copy(T_OTHER, i, j, KW_NONE);
      lastKw = KW_NONE;
      i = j;
      continue;
    }
    if (isDigit(c) && !(passwordWord || secretNext)) {
      let j = i + 1;
      let d = next;
      while (isDigit(d)) d = sql.charCodeAt(++j);
      // A plain integer ends at a separator or an operator other than `.` (a fraction follows).
      if (j >= n || (d < 128 && d !== C.DOT && (t[d] === SPACE || t[d] === OP))) {
        literal();
        i = j;
        continue;
      }
    }
    if (c === C.MINUS && next === C.MINUS) {
      i = endOfLineComment(sql, i, !pg);
      gap = true;
      continue;
    }
    if (c === C.SLASH && next === C.STAR) {
      const end = endOfBlockComment(sql, i, nestedComments);
      if (end === -1) return { out: null, ambiguous };
      i = end;
      gap = true;
      continue;
    }
    if (c === 0) return { out: null, ambiguous }; // a NUL byte: not SQL text

    // A secret after IDENTIFIED BY / PASSWORD: replaced whatever its token type.
    if (passwordWord) {
      passwordWord = false;
      if (c === C.EQ) {
        op(c);
        i++;
        secretNext = true;
        continue;
      }
      secretNext = true;
    }
    if (secretNext) {
      secretNext = false;
      const end = endOfSecret(sql, i, t, pg);
      if (end > i) {
        const kw = keywordOf(sql, i, end);
        if (kw !== KW_NULL && kw !== KW_VALUES) {
          secretLiteral = true;
          literal();
          i = end;
          continue;
        }
      } else secretLiteral = true; // a string: the scanner replaces it below
    }

    if (c === C.SQUOTE) {
      const escapes = pg && backslashQuotes;
      const end = endOfQuoted(sql, i, C.SQUOTE, escapes);
      if (end === -1) return { out: null, ambiguous };
      if (pg && !escapes && !ambiguous && escapesQuote(i, end)) ambiguous = true;
      literal();
      i = end;
      continue;
    }
    if (k === START) {
      const lc = c | 0x20;
      // Prefixed string literals: E'..' (backslash escapes, PostgreSQL), B'..', X'..', N'..'.
      if (next === C.SQUOTE && (lc === 101 || lc === 98 || lc === 120 || lc === 110)) {
        const escapes = pg && (lc === 101 || (lc === 110 && backslashQuotes));
        const end = endOfQuoted(sql, i + 1, C.SQUOTE, escapes);
        if (end === -1) return { out: null, ambiguous };
        if (pg && lc === 110 && !escapes && !ambiguous && escapesQuote(i, end)) ambiguous = true;
        literal();
        i = end;
        continue;
      }
      // U&'..' unicode-escape strings (PostgreSQL).
      if (lc === 117 && next === C.AMP && sql.charCodeAt(i + 2) === C.SQUOTE) {
        const end = endOfQuoted(sql, i + 2, C.SQUOTE, false);
        if (end === -1) return { out: null, ambiguous };
        literal();
        i = end;
        continue;
      }
      if (oracle && (lc === 113 || lc === 110)) {
        const end = endOfOracleQ(sql, i);
        if (end === -1) return { out: null, ambiguous };
        if (end > 0) {
          literal();
          i = end;
          continue;
        }
      }
      let j = i + (c < 128 ? 1 : charLen(sql, i, c));
      let stop = 0;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (d < 128) {
          const kd = t[d]!;
          if (kd === START || kd === PART) {
            j++;
            continue;
          }
          stop = kd;
          break;
        }
        if (pg) {
          j++;
          continue;
        }
        const kd = unicodeClass(sql, j, d);
        if (kd === START || kd === PART) {
          j += charLen(sql, j, d);
          continue;
        }
        stop = kd;
        break;
      }
      // T-SQL `$` continues a name; elsewhere `$` is handled by the table above.
      if (stop === OTHER || (stop === QUOTE && tsql && sql.charCodeAt(j) === C.DOLLAR)) {
        // An unrecognised character glued to the name: the whole run is one literal.
        if (sql.charCodeAt(j) === 0) return { out: null, ambiguous };
        literal();
        i = endOfLiteralRun(sql, i, t, pg);
        continue;
      }
      word(i, j);
      i = j;
      continue;
    }
    if (isDigit(c) || (c === C.DOT && isDigit(next))) {
      i = endOfLiteralRun(sql, i, t, pg);
      if (sql.charCodeAt(i) === 0) return { out: null, ambiguous };
      literal();
      continue;
    }
    // A negative number where an operand is expected is one literal: `= -1` and `= 1` group together.
    if (c === C.MINUS && (isDigit(next) || (next === C.DOT && isDigit(sql.charCodeAt(i + 2)))) && unaryContext()) {
      i = endOfLiteralRun(sql, i + 1, t, pg);
      if (sql.charCodeAt(i) === 0) return { out: null, ambiguous };
      literal();
      continue;
    }
    if (c === C.DQUOTE) {
      const end = endOfQuoted(sql, i, C.DQUOTE, false);
      if (end === -1) return { out: null, ambiguous };
      // T-SQL with QUOTED_IDENTIFIER OFF reads "…" as a string, and the setting is unknown here.
      if (tsql) literal();
      else {
        copy(T_OTHER, i, end, KW_NONE);
        lastKw = KW_NONE;
      }
      i = end;
      continue;
    }
    if (c === C.LBRACK && tsql) {
      const end = endOfBracketed(sql, i);
      if (end === -1) return { out: null, ambiguous };
      copy(T_OTHER, i, end, KW_NONE);
      lastKw = KW_NONE;
      i = end;
      continue;
    }
    // Oracle positional binds :1, :2 stay binds (a named :name is ':' then an identifier).
    if (c === C.COLON && oracle && isDigit(next)) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      copy(T_OTHER, i, j, KW_NONE);
      lastKw = KW_NONE;
      i = j;
      continue;
    }
    if (c === C.DOLLAR) {
      if (pg) {
        if (isDigit(next)) {
          let j = i + 1;
          while (j < n && isDigit(sql.charCodeAt(j))) j++;
          copy(T_OTHER, i, j, KW_NONE);
          lastKw = KW_NONE;
          i = j;
          continue;
        }
        const tagLen = dollarTagLength(sql, i);
        if (tagLen > 0) {
          const end = sql.indexOf(sql.slice(i, i + tagLen), i + tagLen);
          if (end === -1) return { out: null, ambiguous };
          literal();
          i = end + tagLen;
          continue;
        }
        op(c);
        i++;
        continue;
      }
      // T-SQL: $action, $identity … are names; `$` before anything else is money.
      if (tsql && next < 128 && (next | 0x20) >= 97 && (next | 0x20) <= 122) {
        let j = i + 1;
        while (j < n && sql.charCodeAt(j) < 128 && (t[sql.charCodeAt(j)] === START || t[sql.charCodeAt(j)] === PART)) j++;
        word(i, j);
        i = j;
        continue;
      }
      i = endOfLiteralRun(sql, i, t, pg);
      if (sql.charCodeAt(i) === 0) return { out: null, ambiguous };
      literal();
      continue;
    }
    if (k === OP || k === QUOTE) {
      op(c);
      i++;
      continue;
    }
    // PART (a digit-less continuation such as Oracle `_x`) or OTHER: one literal run.
    i = endOfLiteralRun(sql, i, t, pg);
    if (sql.charCodeAt(i) === 0) return { out: null, ambiguous };
    literal();
  }
  const text = bufferToString(out, len);
  if (OUT.length > KEEP_BUFFER) OUT = new Uint16Array(1 << 16);
  return { out: text, ambiguous };
}

/**
 * End of a secret token starting at `i`: a quoted identifier whole, a string or a
 * bind parameter not at all (they are handled as such), anything else up to the
 * next separator, `;`, `,`, parenthesis, quote or comment.
 */
function endOfSecret(s: string, i: number, t: Uint8Array, pg: boolean): number {
  const c = s.charCodeAt(i);
  if (c === C.SQUOTE || c === C.COLON || c === C.AT || c === C.QMARK) return i;
  if (c === C.DOLLAR && (isDigit(s.charCodeAt(i + 1)) || pg)) return i;
  if (c === C.DQUOTE) {
    const end = endOfQuoted(s, i, C.DQUOTE, false);
    return end === -1 ? i : end;
  }
  if (c === C.LBRACK && t === TSQL) {
    const end = endOfBracketed(s, i);
    return end === -1 ? i : end;
  }
  const n = s.length;
  let j = i;
  while (j < n) {
    const d = s.charCodeAt(j);
    if (d < 128) {
      if (t[d] === SPACE || d === C.SEMI || d === C.COMMA || d === C.LPAREN || d === C.RPAREN || d === C.SQUOTE || d === C.DQUOTE || d === 0) break;
      if ((d === C.MINUS && s.charCodeAt(j + 1) === C.MINUS) || (d === C.SLASH && s.charCodeAt(j + 1) === C.STAR)) break;
      j++;
      continue;
    }
    if (!pg && unicodeClass(s, j, d) === SPACE) break;
    j++;
  }
  // A prefixed string (N'…', E'…', B'…', X'…', q'…', nq'…', U&'…') is a string: let the scanner read it.
  if (s.charCodeAt(j) === C.SQUOTE && isStringPrefix(s, i, j)) return i;
  return j;
}

function isStringPrefix(s: string, a: number, b: number): boolean {
  const c0 = s.charCodeAt(a) | 0x20;
  if (b - a === 1) return c0 === 110 || c0 === 101 || c0 === 98 || c0 === 120 || c0 === 113;
  if (b - a !== 2) return false;
  const c1 = s.charCodeAt(a + 1);
  return (c0 === 110 && (c1 | 0x20) === 113) || (c0 === 117 && c1 === C.AMP);
}

export function normalizeSql(sql: string, dialect: SqlDialect = 'postgres'): string | null {
  if (dialect !== 'postgres') return lex(sql, dialect, false).out;
  // standard_conforming_strings is on by default since PostgreSQL 9.1; with it off,
  // '…' strings take backslash escapes and end elsewhere. The setting is unknown
  // here, so a statement whose strings hold a backslash is read both ways: one
  // reading that fails to tokenise is ruled out, two that disagree give null.
  const on = lex(sql, dialect, false);
  if (!on.ambiguous) return on.out;
  const off = lex(sql, dialect, true);
  if (on.out === null) return off.out;
  if (off.out === null) return on.out;
  return on.out === off.out ? on.out : null;
}
