// σ(x) = 1/(1 + e^−x), evaluated without overflow for either sign (click probabilities at
// prediction time; training uses the fused loss in bce.ts instead).
import type { Tape } from "../tape.js";
import type { Tensor } from "../tensor.js";

export function sigmoid(tp: Tape, x: Tensor): Tensor {
  const y = tp.output(x.shape, x);
  const f = tp.be.f;
  for (let j = 0; j < x.size; j++) {
    const v = f[x.offset + j]!;
    const e = Math.exp(-Math.abs(v));
    f[y.offset + j] = v >= 0 ? 1 / (1 + e) : e / (1 + e);
  }
  tp.record(y, () => {
    const dx = tp.grad(x);
    const g = tp.be.f;
    for (let j = 0; j < x.size; j++) {
      const s = g[y.offset + j]!;
      g[dx + j] = g[dx + j]! + g[y.grad + j]! * s * (1 - s);
    }
  });
  return y;
}
