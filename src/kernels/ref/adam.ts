// Reference (oracle) for assembly/adam.ts: the AdamW update exactly as kernels.ts writes it.
import type { RefMem } from "./mem.js";

export function adamStep(
  mem: RefMem, p: number, g: number, m: number, v: number, n: number,
  lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
): void {
  const f = mem.f;
  const bc1 = 1 - beta1 ** step;
  const bc2 = 1 - beta2 ** step;
  for (let j = 0; j < n; j++) {
    const gj = f[g + j]!;
    const mj = beta1 * f[m + j]! + (1 - beta1) * gj;
    const vj = beta2 * f[v + j]! + (1 - beta2) * gj * gj;
    f[m + j] = mj;
    f[v + j] = vj;
    // the update uses the moments as stored (rounded in f32 storage), as the kernel does
    const mHat = f[m + j]! / bc1;
    const vHat = f[v + j]! / bc2;
    f[p + j] = f[p + j]! - lr * (mHat / (Math.sqrt(vHat) + eps) + weightDecay * f[p + j]!);
  }
}
