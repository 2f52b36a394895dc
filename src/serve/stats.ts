/**
 * Confidence intervals for the ratings summary: Student's t interval of a
 * mean, the textbook choice for small samples of 1–5 ratings (and what
 * `scipy.stats.t.interval(0.95, n-1, loc=mean, scale=sem)` returns).
 */

/** Mean, count and a two-sided confidence interval of a sample. */
export interface MeanInterval {
  count: number;
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator); null for n < 2. */
  std: number | null;
  /** Lower/upper bounds of the interval; null for n < 2 (no spread to estimate). */
  low: number | null;
  high: number | null;
}

/**
 * Natural log of the gamma function (Lanczos approximation, g = 7, n = 9;
 * relative error below 1e-14 for x > 0).
 */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast for x < (a+1)/(a+b+2); use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** CDF of Student's t distribution with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * Quantile of Student's t distribution (e.g. `studentTQuantile(0.975, 4)` =
 * 2.7764, scipy's `t.ppf`), by bisection on the CDF to 1e-12.
 * @throws RangeError when p is outside (0, 1) or df is not positive
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new RangeError(`studentTQuantile: df must be positive, got ${df}`);
  let lo = -1e6;
  let hi = 1e6;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(lo)); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/**
 * Mean with a two-sided t confidence interval: `mean ± t(1 − α/2, n − 1) · s/√n`.
 * @param sumOfSquares Σx² (so a database can aggregate without returning rows)
 * @param level confidence level (default 0.95)
 */
export function meanInterval(count: number, sum: number, sumOfSquares: number, level = 0.95): MeanInterval {
  const mean = count > 0 ? sum / count : NaN;
  if (count < 2) return { count, mean, std: null, low: null, high: null };
  const variance = Math.max(0, (sumOfSquares - count * mean * mean) / (count - 1));
  const std = Math.sqrt(variance);
  const half = studentTQuantile(1 - (1 - level) / 2, count - 1) * (std / Math.sqrt(count));
  return { count, mean, std, low: mean - half, high: mean + half };
}
