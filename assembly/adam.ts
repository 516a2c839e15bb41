// AdamW over one flat parameter buffer (see kernels.ts for the update). Byte pointers, f32 state;
// the hyper-parameters arrive as f64 so that the bias corrections 1 − βᵗ are formed from the
// caller's exact β (β2 = 0.999 rounded to f32 would move 1 − β2 by 1.3e-5 relative at step 1).
import { madd } from "./simd";

export function adam_step(
  p: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f64, beta1: f64, beta2: f64, eps: f64, weightDecay: f64, step: i32,
): void {
  const bc1 = 1.0 - Math.pow(beta1, <f64>step);
  const bc2 = 1.0 - Math.pow(beta2, <f64>step);
  // m̂/(√v̂ + eps) = (m/bc1) / (√v·(1/√bc2) + eps): both corrections fold into two constants
  const b1 = <f32>beta1;
  const c1 = <f32>(1.0 - beta1);
  const b2 = <f32>beta2;
  const c2 = <f32>(1.0 - beta2);
  const rs = <f32>(1.0 / Math.sqrt(bc2));
  const ep = <f32>eps;
  const stepSize = <f32>(lr / bc1);
  // decoupled decay: p·(1 − lr·wd), applied to the parameter before this step's update
  const keep = <f32>(1.0 - lr * weightDecay);
  const vb1 = f32x4.splat(b1);
  const vc1 = f32x4.splat(c1);
  const vb2 = f32x4.splat(b2);
  const vc2 = f32x4.splat(c2);
  const vrs = f32x4.splat(rs);
  const vep = f32x4.splat(ep);
  const vstep = f32x4.splat(-stepSize);
  const vkeep = f32x4.splat(keep);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 2;
    const gv = v128.load(g + o);
    const mv = madd(vb1, v128.load(m + o), f32x4.mul(vc1, gv));
    const vv = madd(vb2, v128.load(v + o), f32x4.mul(vc2, f32x4.mul(gv, gv)));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const ratio = f32x4.div(mv, madd(f32x4.sqrt(vv), vrs, vep));
    v128.store(p + o, madd(vstep, ratio, f32x4.mul(v128.load(p + o), vkeep)));
  }
  for (; j < n; j++) {
    const o = <usize>j << 2;
    const gs = load<f32>(g + o);
    const ms = b1 * load<f32>(m + o) + c1 * gs;
    const vs = b2 * load<f32>(v + o) + c2 * gs * gs;
    store<f32>(m + o, ms);
    store<f32>(v + o, vs);
    store<f32>(p + o, load<f32>(p + o) * keep - stepSize * (ms / (Mathf.sqrt(vs) * rs + ep)));
  }
}
