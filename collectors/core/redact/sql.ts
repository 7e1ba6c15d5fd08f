/**
 * SQL normalisation: literals become `?`, comments go, IN-lists collapse, runs of
 * whitespace become one space; identifiers, keywords, operators and bind
 * parameters ($1, @p1, :name) stay. One forward scan, no parser: fast enough for
 * the collection hot path and deterministic, so the same statement always gives
 * the same text. Fails closed: text that cannot be tokenised (an unterminated
 * string, quoted identifier, comment or dollar quote) returns null and the caller
 * drops it rather than ship it raw.
 */
export type SqlDialect = 'postgres' | 'tsql' | 'oracle';

const C = {
  TAB: 9,
  LF: 10,
  CR: 13,
  SPACE: 32,
  DQUOTE: 34,
  DOLLAR: 36,
  SQUOTE: 39,
  LPAREN: 40,
  RPAREN: 41,
  STAR: 42,
  COMMA: 44,
  MINUS: 45,
  DOT: 46,
  SLASH: 47,
  D0: 48,
  D9: 57,
  Q: 63,
  LBRACK: 91,
  BSLASH: 92,
  RBRACK: 93,
  UNDERSCORE: 95,
} as const;

const isDigit = (c: number): boolean => c >= C.D0 && c <= C.D9;
const isIdentStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === C.UNDERSCORE || c >= 128;
const isIdentPart = (c: number): boolean => isIdentStart(c) || isDigit(c) || c === C.DOLLAR;
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

/** End of a (possibly nested, in PostgreSQL) block comment starting at `i`, or -1. */
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
    if (sign === 43 || sign === C.MINUS) k++;
    if (isDigit(s.charCodeAt(k))) {
      while (k < n && isDigit(s.charCodeAt(k))) k++;
      j = k;
    }
  }
  return j;
}

/** Collapses `IN (?, ?, …)` and `IN (?)` to `IN (?)` and `VALUES (?, ?), (?, ?)` rows to one. */
function collapseLists(out: string): string {
  return out
    .replace(/\b(in)\s*\(\s*\?(?:\s*,\s*\?)*\s*\)/gi, '$1 (?)')
    .replace(/\b(values)\s*(\((?:\s*\?\s*,)*\s*\?\s*\))(?:\s*,\s*\((?:\s*\?\s*,)*\s*\?\s*\))+/gi, '$1 $2');
}

const NO_SPACE_BEFORE = new Set([',', ')', ';', '.']);
const NO_SPACE_AFTER = new Set(['(', '.']);

export function normalizeSql(sql: string, dialect: SqlDialect = 'postgres'): string | null {
  const n = sql.length;
  const parts: string[] = [];
  let pendingSpace = false;
  let i = 0;
  let last = '';
  // Spacing is canonical: one space between tokens where the input had any, none
  // before , ) ; . or after ( . — so layout differences do not split query groups.
  const emit = (text: string): void => {
    if (pendingSpace && parts.length > 0 && !NO_SPACE_BEFORE.has(text) && !NO_SPACE_AFTER.has(last)) parts.push(' ');
    pendingSpace = false;
    parts.push(text);
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
      const end = endOfBlockComment(sql, i, dialect === 'postgres');
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
      // Prefixed string literals: E'..' (backslash escapes), B'..', X'..', N'..', U&'..'.
      const lc = c | 0x20;
      if (next === C.SQUOTE && (lc === 101 || lc === 98 || lc === 120 || lc === 110)) {
        const end = endOfQuoted(sql, i + 1, C.SQUOTE, lc === 101 && dialect === 'postgres');
        if (end === -1) return null;
        emit('?');
        i = end;
        continue;
      }
      if (lc === 117 && next === 38 /* & */ && sql.charCodeAt(i + 2) === C.SQUOTE) {
        const end = endOfQuoted(sql, i + 2, C.SQUOTE, false);
        if (end === -1) return null;
        emit('?');
        i = end;
        continue;
      }
      if (dialect === 'oracle' && (lc === 113 || (lc === 110 && (sql.charCodeAt(i + 1) | 0x20) === 113)) ) {
        // Oracle alternative quoting q'[...]' / nq'{...}'.
        const q = lc === 113 ? i : i + 1;
        if (sql.charCodeAt(q + 1) === C.SQUOTE) {
          const open = sql.charCodeAt(q + 2);
          const close = open === 91 ? 93 : open === 123 ? 125 : open === 40 ? 41 : open === 60 ? 62 : open;
          const end = sql.indexOf(`${String.fromCharCode(close)}'`, q + 3);
          if (end === -1) return null;
          emit('?');
          i = end + 2;
          continue;
        }
      }
      let j = i + 1;
      while (j < n && isIdentPart(sql.charCodeAt(j))) j++;
      emit(sql.slice(i, j));
      i = j;
      continue;
    }
    if (isDigit(c) || (c === C.DOT && isDigit(next))) {
      const end = endOfNumber(sql, i);
      // A number glued to letters (1abc) is not a plain literal: keep tokenising conservatively.
      emit('?');
      i = end;
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
      const end = sql.indexOf(']', i + 1);
      if (end === -1) return null;
      emit(sql.slice(i, end + 1));
      i = end + 1;
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
  return collapseLists(parts.join(''));
}
