// One client's DP-FedAvg contribution as the network carries it (the shared delta and the chosen
// expert's delta at each block): its joint L2 norm, and clipping it to the bound C. The device clips
// before it encodes; the coordinator measures every received update again, since a device cannot be
// trusted to have clipped. Browser-safe (no node:* import): the network client uses it.

/** L2 norm of the concatenation of `parts`, in f64. */
export function updateNorm(parts: readonly Float32Array[]): number {
  let sq = 0;
  for (const p of parts) for (let j = 0; j < p.length; j++) sq += p[j]! * p[j]!;
  return Math.sqrt(sq);
}

/**
 * Scales `parts` in place, jointly, to L2 norm at most `clip` (unchanged when already within it).
 * The factor is shrunk by 1e-7 so that the f32 rounding of the scaled values cannot push the norm
 * back over C. Returns the norm before clipping; throws on a non-finite update.
 */
export function clipUpdate(parts: readonly Float32Array[], clip: number): number {
  if (!(clip > 0 && Number.isFinite(clip))) throw new RangeError(`clip must be a positive number, got ${clip}`);
  const norm = updateNorm(parts);
  if (!Number.isFinite(norm)) throw new RangeError("DP: the update is not finite");
  if (norm > clip) {
    const factor = (clip / norm) * (1 - 1e-7);
    for (const p of parts) for (let j = 0; j < p.length; j++) p[j] = p[j]! * factor;
  }
  return norm;
}
