// Decimal numbers straight from CSV bytes. The data files hold hundreds of thousands of cells, nearly
// all short integers or integers written as floats (`1685336204570.0`); those are accumulated digit by
// digit without making a string. Anything else that is a valid decimal goes through Number().

const latin1 = new TextDecoder("latin1");

/**
 * The value of bytes [start, end) if they form a decimal number: optional sign, digits with an
 * optional fraction (at least one digit in all), optional exponent. NaN otherwise (including empty
 * cells, spaces, `0x10`, `Infinity`). "-0" gives +0.
 */
export function parseDecimal(b: Uint8Array, start: number, end: number): number {
  let i = start;
  let neg = false;
  if (i < end && (b[i] === 0x2d || b[i] === 0x2b)) {
    neg = b[i] === 0x2d;
    i++;
  }
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const d = b[i] - 0x30;
    if (d < 0 || d > 9) break;
    v = v * 10 + d;
    digits++;
  }
  // Up to 15 integer digits the accumulation is exact (< 2^53), and a fraction of zeros adds nothing.
  let exact = digits <= 15;
  if (i < end && b[i] === 0x2e) {
    for (i++; i < end; i++) {
      const d = b[i] - 0x30;
      if (d < 0 || d > 9) break;
      if (d !== 0) exact = false;
      digits++;
    }
  }
  if (digits === 0) return NaN;
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const first = i;
    while (i < end && b[i] >= 0x30 && b[i] <= 0x39) i++;
    if (i === first) return NaN;
    exact = false;
  }
  if (i !== end) return NaN;
  if (exact) return neg ? 0 - v : v;
  return Number(latin1.decode(b.subarray(start, end))) + 0;
}
