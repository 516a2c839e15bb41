// Parameter initialisers: each draws n values from an explicit Rng, so the same seed and the same
// list of parameters give the same model on every backend.
import type { Rng } from "../util/rng.js";

export type Init = (rng: Rng, n: number) => ArrayLike<number>;

/** Normal(0, std²). */
export function normalInit(std: number): Init {
  return (rng, n) => Float64Array.from({ length: n }, () => std * rng.normal());
}

/** Uniform on [−bound, bound) (e.g. Glorot: bound = √(6 / (fanIn + fanOut))). */
export function uniformInit(bound: number): Init {
  return (rng, n) => Float64Array.from({ length: n }, () => rng.uniform(-bound, bound));
}

/** Every value equal to v (0 for biases, 1 for LayerNorm gains). */
export function constantInit(v: number): Init {
  return (_rng, n) => new Float64Array(n).fill(v);
}

/**
 * Consecutive parts of one slice initialised differently (the fused attention and FFN slices hold
 * weights and biases together). The counts must add up to the slice's size.
 */
export function segmentsInit(parts: readonly (readonly [count: number, init: Init])[]): Init {
  const total = parts.reduce((s, [count]) => s + count, 0);
  return (rng, n) => {
    if (total !== n) throw new RangeError(`segmentsInit: parts cover ${total} values, the slice has ${n}`);
    const out = new Float64Array(n);
    let at = 0;
    for (const [count, init] of parts) {
      out.set(init(rng, count), at);
      at += count;
    }
    return out;
  };
}
