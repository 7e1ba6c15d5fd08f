/**
 * SQL normalisation: literals become `?`, comments go, IN-lists and multi-row
 * VALUES collapse, runs of whitespace become one space; identifiers, keywords,
 * operators and bind parameters ($1, @p1, :name, :1) stay. One forward scan over
 * char codes and one linear pass over the tokens, no regular expression and no
 * parser: fast enough for the collection hot path and deterministic, so the same
 * statement always gives the same text. Fails closed: text that cannot be
 * tokenised (an unterminated string, quoted identifier, comment or dollar quote,
 * a NUL byte) returns null and the caller drops it rather than ship it raw.
 */
export type SqlDialect = 'postgres' | 'tsql' | 'oracle';

const C = {
  TAB: 9,
  LF: 10,
  CR: 13,
  SPACE: 32,
  DQUOTE: 34,
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
  LBRACK: 91,
  BSLASH: 92,
  RBRACK: 93,
  UNDERSCORE: 95,
} as const;

const isDigit = (c: number): boolean => c >= C.D0 && c <= C.D9;
// ASCII identifier characters as a table: the identifier loop is the hottest path.
const IDENT_PART = new Uint8Array(128);
for (let c = 0; c < 128; c++) IDENT_PART[c] = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || (c >= 48 && c <= 57) || c === 36 ? 1 : 0;
// Bytes >= 128 start identifiers, as in PostgreSQL's lexer (ident_start [A-Za-z\200-\377_]).
const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === C.UNDERSCORE || c >= 128;
const isSpace = (c: number): boolean => c === C.SPACE || c === C.TAB || c === C.LF || c === C.CR || c === 11 || c === 12;
const isHex = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** End index (exclusive) of a quoted run starting at `i` (the opening quote), or -1 if unterminated. */
function endOfQuoted(s: string, i: number, quote: number, backslashEscapes: boolean): number {
  const n = s.length;
  let j = i + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (backslashEscapes && c === C.BSLASH) {
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
    if (nested && c === C.SLASH && s.charCodeAt(j + 1) === C.STAR) {
      depth++;
      j += 2;
      continue;
    }
    j++;
  }
  return -1;
}

/** A PostgreSQL dollar-quote tag at `i` ($$ or $tag$): its length, or 0 when `$` starts something else. */
function dollarTagLength(s: string, i: number): number {
  let j = i + 1;
  const first = s.charCodeAt(j);
  if (first === C.DOLLAR) return 2;
  if (!isIdentStart(first)) return 0;
  j++;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === C.DOLLAR) return j - i + 1;
    if (!(isIdentStart(c) || isDigit(c))) return 0;
    j++;
  }
  return 0;
}

/** End of a numeric literal starting at `i` (digits, or `.digit`), hex/binary/octal and `_` separators included. */
function endOfNumber(s: string, i: number): number {
  const n = s.length;
  let j = i;
  if (s.charCodeAt(j) === C.D0) {
    const x = s.charCodeAt(j + 1) | 0x20;
    if (x === 120 /* x */ || x === 98 /* b */ || x === 111 /* o */) {
      j += 2;
      while (j < n && (isHex(s.charCodeAt(j)) || s.charCodeAt(j) === C.UNDERSCORE)) j++;
      return j;
    }
  }
  while (j < n && (isDigit(s.charCodeAt(j)) || s.charCodeAt(j) === C.UNDERSCORE)) j++;
  if (s.charCodeAt(j) === C.DOT && s.charCodeAt(j + 1) !== C.DOT) {
    j++;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
  }
  const e = s.charCodeAt(j) | 0x20;
  if (e === 101 /* e */) {
    let k = j + 1;
    const sign = s.charCodeAt(k);
    if (sign === C.PLUS || sign === C.MINUS) k++;
    if (isDigit(s.charCodeAt(k))) {
      while (k < n && isDigit(s.charCodeAt(k))) k++;
      j = k;
    }
  }
  return j;
}

/** Words after which `-1` is a negative literal, not a subtraction. */
const UNARY_CONTEXT_WORDS = new Set([
  'select', 'where', 'and', 'or', 'not', 'in', 'values', 'then', 'else', 'when', 'case', 'between',
  'return', 'limit', 'offset', 'by', 'is', 'like', 'set', 'on', 'having', 'array', 'top',
]);
const OPERATOR_CHARS = '(,=<>+-*/%^|&~!@#[';

function isUnaryContext(last: string): boolean {
  if (last === '') return true;
  if (last.length === 1 && OPERATOR_CHARS.includes(last)) return true;
  return last.length <= 7 && UNARY_CONTEXT_WORDS.has(last.toLowerCase());
}

/** Oracle alternative quoting q'[...]' / nq'{...}': the index after the closing `]'`, -1 if unterminated, 0 if not one. */
function endOfOracleQ(s: string, i: number): number {
  const lc = s.charCodeAt(i) | 0x20;
  const q = lc === 113 /* q */ ? i : lc === 110 /* n */ && (s.charCodeAt(i + 1) | 0x20) === 113 ? i + 1 : -1;
  if (q === -1 || s.charCodeAt(q + 1) !== C.SQUOTE || q + 2 >= s.length) return 0;
  const open = s.charCodeAt(q + 2);
  if (isSpace(open)) return 0;
  const close = open === 91 ? 93 : open === 123 ? 125 : open === 40 ? 41 : open === 60 ? 62 : open;
  const end = s.indexOf(`${String.fromCharCode(close)}'`, q + 3);
  return end === -1 ? -1 : end + 2;
}

const isPlaceholder = (t: string | undefined): boolean => t === '?';

/** Case-insensitive match of a token against a lower-case ASCII keyword, without allocating. */
function isKeyword(t: string, word: string): boolean {
  if (t.length !== word.length) return false;
  for (let k = 0; k < t.length; k++) if ((t.charCodeAt(k) | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/** Index after a `( ? , ? … )` tuple of literals starting at `i`, or -1. Linear in the tuple length. */
function endOfLiteralTuple(tokens: readonly string[], i: number): number {
  if (tokens[i] !== '(' || !isPlaceholder(tokens[i + 1])) return -1;
  let j = i + 2;
  while (tokens[j] === ',' && isPlaceholder(tokens[j + 1])) j += 2;
  return tokens[j] === ')' ? j + 1 : -1;
}

/**
 * `IN (?, ?, …)` becomes `IN (?)`, and `VALUES (?, ?), (?, ?)` keeps one row, so
 * the number of literals does not split query groups. Works on tokens in one
 * pass: every token is looked at a bounded number of times.
 */
function collapseLists(tokens: string[], gaps: boolean[]): void {
  let w = 0;
  let i = 0;
  const n = tokens.length;
  const keep = (k: number): void => {
    if (w !== k) {
      tokens[w] = tokens[k]!;
      gaps[w] = gaps[k]!;
    }
    w++;
  };
  while (i < n) {
    const t = tokens[i]!;
    if (isKeyword(t, 'in')) {
      const end = endOfLiteralTuple(tokens, i + 1);
      if (end !== -1) {
        keep(i);
        keep(i + 1);
        keep(i + 2);
        keep(end - 1);
        i = end;
        continue;
      }
    } else if (isKeyword(t, 'values')) {
      let end = endOfLiteralTuple(tokens, i + 1);
      if (end !== -1) {
        for (let k = i; k < end; k++) keep(k);
        for (;;) {
          if (tokens[end] !== ',') break;
          const next = endOfLiteralTuple(tokens, end + 1);
          if (next === -1) break;
          end = next;
        }
        i = end;
        continue;
      }
    }
    keep(i);
    i++;
  }
  tokens.length = w;
  gaps.length = w;
}

// Char-code checks, not Set lookups: every identifier token is a fresh string whose hash would be computed per lookup.
const noSpaceBefore = (t: string): boolean => {
  if (t.length !== 1) return false;
  const c = t.charCodeAt(0);
  return c === C.COMMA || c === C.RPAREN || c === 59 /* ; */ || c === C.DOT;
};
const noSpaceAfter = (t: string): boolean => t.length === 1 && (t.charCodeAt(0) === C.LPAREN || t.charCodeAt(0) === C.DOT);

export function normalizeSql(sql: string, dialect: SqlDialect = 'postgres'): string | null {
  const n = sql.length;
  const tokens: string[] = [];
  // gaps[k]: the input had whitespace or a comment before tokens[k].
  const gaps: boolean[] = [];
  const nestedComments = dialect !== 'oracle';
  let pendingSpace = false;
  let last = '';
  let i = 0;
  const emit = (text: string): void => {
    tokens.push(text);
    gaps.push(pendingSpace);
    pendingSpace = false;
    last = text;
  };
  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = sql.charCodeAt(i + 1);
    if (isSpace(c)) {
      pendingSpace = true;
      i++;
      continue;
    }
    if (c === C.MINUS && next === C.MINUS) {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
      pendingSpace = true;
      continue;
    }
    if (c === C.SLASH && next === C.STAR) {
      const end = endOfBlockComment(sql, i, nestedComments);
      if (end === -1) return null;
      i = end;
      pendingSpace = true;
      continue;
    }
    if (c === C.SQUOTE) {
      const end = endOfQuoted(sql, i, C.SQUOTE, false);
      if (end === -1) return null;
      emit('?');
      i = end;
      continue;
    }
    if (isIdentStart(c)) {
      const lc = c | 0x20;
      // Prefixed string literals: E'..' (backslash escapes, PostgreSQL), B'..', X'..', N'..'.
      if (next === C.SQUOTE && (lc === 101 || lc === 98 || lc === 120 || lc === 110)) {
        const end = endOfQuoted(sql, i + 1, C.SQUOTE, lc === 101 && dialect === 'postgres');
        if (end === -1) return null;
        emit('?');
        i = end;
        continue;
      }
      // U&'..' unicode-escape strings (PostgreSQL).
      if (lc === 117 && next === C.AMP && sql.charCodeAt(i + 2) === C.SQUOTE) {
        const end = endOfQuoted(sql, i + 2, C.SQUOTE, false);
        if (end === -1) return null;
        emit('?');
        i = end;
        continue;
      }
      if (dialect === 'oracle' && (lc === 113 || lc === 110)) {
        const end = endOfOracleQ(sql, i);
        if (end === -1) return null;
        if (end > 0) {
          emit('?');
          i = end;
          continue;
        }
      }
      let j = i + 1;
      while (j < n) {
        const d = sql.charCodeAt(j);
        if (d < 128 && IDENT_PART[d] === 0) break;
        j++;
      }
      emit(sql.slice(i, j));
      i = j;
      continue;
    }
    if (isDigit(c) || (c === C.DOT && isDigit(next))) {
      emit('?');
      i = endOfNumber(sql, i);
      continue;
    }
    // A negative number where an operand is expected is one literal: `= -1` and `= 1` group together.
    if (c === C.MINUS && (isDigit(next) || (next === C.DOT && isDigit(sql.charCodeAt(i + 2)))) && isUnaryContext(last)) {
      emit('?');
      i = endOfNumber(sql, i + 1);
      continue;
    }
    if (c === C.DQUOTE) {
      const end = endOfQuoted(sql, i, C.DQUOTE, false);
      if (end === -1) return null;
      emit(sql.slice(i, end));
      i = end;
      continue;
    }
    if (c === C.LBRACK && dialect === 'tsql') {
      const end = endOfBracketed(sql, i);
      if (end === -1) return null;
      emit(sql.slice(i, end));
      i = end;
      continue;
    }
    // Oracle positional binds :1, :2 stay binds (a named :name is ':' then an identifier).
    if (c === C.COLON && dialect === 'oracle' && isDigit(next)) {
      let j = i + 1;
      while (j < n && isDigit(sql.charCodeAt(j))) j++;
      emit(sql.slice(i, j));
      i = j;
      continue;
    }
    if (c === C.DOLLAR && dialect === 'postgres') {
      if (isDigit(next)) {
        let j = i + 1;
        while (j < n && isDigit(sql.charCodeAt(j))) j++;
        emit(sql.slice(i, j));
        i = j;
        continue;
      }
      const tagLen = dollarTagLength(sql, i);
      if (tagLen > 0) {
        const tag = sql.slice(i, i + tagLen);
        const end = sql.indexOf(tag, i + tagLen);
        if (end === -1) return null;
        emit('?');
        i = end + tagLen;
        continue;
      }
    }
    if (c === 0) return null; // a NUL byte: not SQL text
    // Operators and punctuation, one character at a time; spacing is normalised.
    emit(sql[i]!);
    i++;
  }
  collapseLists(tokens, gaps);
  // Spacing is canonical: one space between tokens where the input had any and
  // always after a comma, none before , ) ; . or after ( . — so layout differences
  // do not split query groups.
  let out = '';
  let prev = '';
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if ((gaps[k] || prev === ',') && k > 0 && !noSpaceBefore(t) && !noSpaceAfter(prev)) out += ' ';
    out += t;
    prev = t;
  }
  return out;
}
