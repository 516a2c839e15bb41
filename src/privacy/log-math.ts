// Log-space arithmetic for the RDP accountant: the moments it sums overflow a double long before the
// orders that matter (exp(α²/2σ²) at α = 100, σ = 2.5 is e^800), so every sum is kept as a log.

/** log(eˣ + eʸ), exact for −∞ operands. */
export function logAdd(x: number, y: number): number {
  const hi = Math.max(x, y);
  const lo = Math.min(x, y);
  if (lo === -Infinity) return hi;
  return hi + Math.log1p(Math.exp(lo - hi));
}

/** log(eˣ − eʸ) for x ≥ y (−∞ when they are equal). */
export function logSub(x: number, y: number): number {
  if (y === -Infinity) return x;
  if (x < y) throw new RangeError(`logSub: the difference would be negative (log-values ${x} < ${y})`);
  if (x === y) return -Infinity;
  // log(eˣ − eʸ) = x + log(1 − e^(y−x)); expm1 keeps the digits when y is just below x
  return x + Math.log(-Math.expm1(y - x));
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);

/**
 * log erfc(x) with close to double precision relative error for every x, including
 * x ≫ 1 where erfc(x) underflows (erfc(30) ≈ 1e-393).
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.LN2;
  if (x < 0) return Math.log(2 - erfcPositive(-x));
  // below 2, 1 − erf(x) loses at most ~3 digits (erfc(2) ≈ 4.7e-3); above, the continued fraction
  // converges quickly and keeps full relative precision
  if (x < 2) return Math.log(1 - erfSeries(x));
  return -x * x - LOG_SQRT_PI - Math.log(erfcFractionDenominator(x));
}

/** erfc(x) for x ≥ 0 (may underflow to 0 for x > 27; use logErfc there). */
function erfcPositive(x: number): number {
  return x < 2 ? 1 - erfSeries(x) : Math.exp(-x * x - LOG_SQRT_PI) / erfcFractionDenominator(x);
}

/**
 * erf(x) = (2/√π)·e^(−x²)·Σₙ 2ⁿx^(2n+1)/(1·3·…·(2n+1)), for 0 ≤ x < 2: every term is positive, so
 * nothing cancels (the alternating Taylor series loses digits to cancellation as x grows).
 */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/**
 * The denominator of erfc(x) = e^(−x²)/(√π · F(x)), F(x) = x + (1/2)/(x + 1/(x + (3/2)/(x + …))),
 * the Laplace continued fraction, evaluated by the modified Lentz method (x ≥ 2).
 */
function erfcFractionDenominator(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = f;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? tiny : d;
    c = x + a / c;
    c = c === 0 ? tiny : c;
    d = 1 / d;
    const step = c * d;
    f *= step;
    if (Math.abs(step - 1) < 1e-16) return f;
  }
  throw new Error(`logErfc: the continued fraction did not converge at x = ${x}`);
}
