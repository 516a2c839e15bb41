// Standard normals from uniforms (Box–Muller), for the generators that are not Rng: WebCrypto's
// (the devices' DP noise, secagg/noised-vector.ts) and the keyed stream (util/chacha20.ts).

/** Normal draws from `uniform`, which must return values in (0, 1] (so that the log is finite); two per pair of uniforms. */
export function boxMuller(uniform: () => number): { normal(): number } {
  let spare: number | null = null;
  return {
    normal(): number {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      const r = Math.sqrt(-2 * Math.log(uniform()));
      const t = 2 * Math.PI * uniform();
      spare = r * Math.sin(t);
      return r * Math.cos(t);
    },
  };
}
