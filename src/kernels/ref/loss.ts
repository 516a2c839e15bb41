// Reference (oracle) for assembly/loss.ts: the contract's formula, ℓ = max(x,0) − x·y + log(1 + e^−|x|),
// in doubles. Terms with wᵢ = 0 are skipped, as in the kernel, so padding never contributes.
import type { RefMem } from "./mem.js";

export function bceForward(m: RefMem, logits: number, labels: number, weights: number, n: number): number {
  const f = m.f;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const w = f[weights + i]!;
    if (w === 0) continue;
    const x = f[logits + i]!;
    num += w * (Math.max(x, 0) - x * f[labels + i]! + Math.log1p(Math.exp(-Math.abs(x))));
    den += w;
  }
  return den === 0 ? 0 : num / den;
}

export function bceBackward(m: RefMem, logits: number, labels: number, weights: number, dlogits: number, n: number, scale: number): void {
  const f = m.f;
  let den = 0;
  for (let i = 0; i < n; i++) den += f[weights + i]!;
  if (den === 0) return;
  for (let i = 0; i < n; i++) {
    const w = f[weights + i]!;
    if (w === 0) continue;
    const sigma = 1 / (1 + Math.exp(-f[logits + i]!));
    f[dlogits + i] = f[dlogits + i]! + (scale * w * (sigma - f[labels + i]!)) / den;
  }
}
