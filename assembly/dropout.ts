// Inverted-dropout masks, drawn by the generator the host uses (xoshiro128**, src/util/rng.ts)
// from its state words in memory, which the kernel advances by one draw per element. So a mask
// drawn here is bit-for-bit the mask the host would draw in JS from the same state, and the host's
// generator continues from where the kernel stopped: moving the draw into WASM changes no number.
// The generator is a serial recurrence (each draw needs the previous state), so this is a scalar
// loop; it still runs several times faster than the JS one, which pays for 32-bit emulation
// (Math.imul, >>> 0) and a float division per draw.

// @ts-ignore: decorator
@inline function rotl(x: u32, k: u32): u32 {
  return (x << k) | (x >>> (32 - k));
}

/**
 * out[j] = 0 when draw_j / 2³² < p, else f32(1/(1 − p)), for j < n; state: 4 u32 words, advanced
 * past the n draws. 0 ≤ p < 1 (the host checks).
 */
export function dropout_mask(state: usize, out: usize, n: i32, p: f64): void {
  let s0 = load<u32>(state), s1 = load<u32>(state, 4), s2 = load<u32>(state, 8), s3 = load<u32>(state, 12);
  // draw/2³² < p  ⇔  draw < p·2³² (exact in f64: a power-of-two scaling)  ⇔  draw < ⌈p·2³²⌉, as
  // draw is an integer. The loop is branch-free integer work: the sign of draw − T selects the
  // bits of 0 or of keep (a select on a float compare became a 50%-mispredicted branch, with
  // 1/(1 − p) recomputed in it: 6.6 ns per element).
  const T = <i64>Math.ceil(p * 4294967296.0);
  const keep = reinterpret<u32>(<f32>(1.0 / (1.0 - p)));
  for (let j = 0; j < n; j++) {
    const draw = rotl(s1 * 5, 7) * 9;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    const dropped = <u32>((<i64>draw - T) >> 63); // all ones when draw < T
    store<u32>(out + (<usize>j << 2), keep & ~dropped);
  }
  store<u32>(state, s0);
  store<u32>(state, s1, 4);
  store<u32>(state, s2, 8);
  store<u32>(state, s3, 12);
}
