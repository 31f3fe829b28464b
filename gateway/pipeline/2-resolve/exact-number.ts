const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * True when `value`, parsed from the JSON number `source`, is the number the text means to any reader
 * that keeps precision (a backend in Python, Java BigDecimal, Postgres numeric…): `1.50`, `5e3` and
 * `0.1` are; `5000.0000000000001` (parses to 5000), `9007199254740993` (to …992) and `1e400` (to
 * Infinity) are not. A policy checking `amount <= 5000` must compare the amount the backend will book.
 *
 * The test: the source and the shortest decimal that round-trips the double (`String(value)`) are the
 * same decimal number, once both are reduced to digits without leading or trailing zeros and an exponent.
 */
export function isExactNumber(value: number, source: string | undefined): boolean {
  if (!Number.isFinite(value)) return false;
  if (source === undefined) return true;
  const written = reduce(source);
  return written !== undefined && written === reduce(String(value));
}

/** `-0012.3400e1` → `-1234e-1`; every zero → `0`. */
function reduce(text: string): string | undefined {
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  const [, sign = '', int = '', fraction = '', exponent = '0'] = m;
  let digits = (int + fraction).replace(/^0+/, '');
  let exp = Number(exponent) - fraction.length;
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  return `${sign}${digits}e${exp}`;
}
