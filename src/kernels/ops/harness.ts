// Runs an op-table entry on a backend: makes host inputs from a seed, places every tensor in a
// backend's memory, runs forward/backward, reads results back, compares, and checks gradients by
// finite differences on the f64 reference backend.
import type { Backend } from "../backend.js";
import { readF, readI, readI8, writeF, writeI, writeI8 } from "../backend.js";
import { int8Elements } from "../kernels.js";
import { RefBackend } from "../ref-backend.js";
import { Rng } from "../../util/rng.js";
import type { Dims, OpDef, TensorSpec, Tolerance } from "./registry.js";

export type HostTensors = Map<string, Float64Array>;

function elementsOf<D extends Dims>(t: TensorSpec<D>, d: D): number {
  const n = t.size(d);
  return t.type === "i8" ? int8Elements(n) : n;
}

function normals(rng: Rng, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = rng.normal();
  return out;
}

/** Host values of every in/inout tensor, plus gradient seeds (d<of>) and prefilled grads (d<wrt>). */
export function makeInputs(op: OpDef, d: Dims, seed: number): HostTensors {
  const rng = new Rng(seed);
  const host: HostTensors = new Map();
  for (const t of op.tensors) {
    if (t.role === "out") continue;
    const n = t.size(d);
    host.set(t.name, Float64Array.from(t.init ? t.init(rng, n, d) : normals(rng, n)));
  }
  if (op.grad) {
    for (const o of op.grad.of) host.set("d" + o, normals(rng, tensor(op, o).size(d)));
    // gradients start non-zero so that the test also proves the kernels accumulate
    for (const w of op.grad.wrt) host.set("d" + w, normals(rng, tensor(op, w).size(d)));
  }
  return host;
}

export function tensor(op: OpDef, name: string): TensorSpec<Dims> {
  const t = op.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`op ${op.name}: no tensor named '${name}'`);
  return t;
}

/** A placed instance: tensor name -> element offset in `be`. */
export interface Placed {
  be: Backend;
  p: Record<string, number>;
  free(): void;
}

/** Uploads host values into a placed tensor of spec t (also used to restore inputs between benchmark runs). */
export function write(be: Backend, t: TensorSpec<Dims>, off: number, data: ArrayLike<number>): void {
  if (t.type === "i32") writeI(be, off, data);
  else if (t.type === "i8") writeI8(be, off, data);
  else writeF(be, off, data);
}

function read(be: Backend, t: TensorSpec<Dims>, off: number, n: number): Float64Array {
  if (t.type === "i32") return Float64Array.from(readI(be, off, n));
  if (t.type === "i8") return Float64Array.from(readI8(be, off, n));
  return readF(be, off, n);
}

/** Allocates every tensor (and gradient buffers when the op has grad) and uploads host values. */
export function place(be: Backend, op: OpDef, d: Dims, host: HostTensors): Placed {
  const p: Record<string, number> = {};
  const put = (name: string, t: TensorSpec<Dims>): void => {
    p[name] = be.alloc(Math.max(1, elementsOf(t, d)));
    const h = host.get(name);
    if (h) write(be, t, p[name]!, h);
  };
  for (const t of op.tensors) put(t.name, t);
  if (op.grad) for (const name of [...op.grad.of, ...op.grad.wrt]) put("d" + name, tensor(op, name));
  return { be, p, free: () => Object.values(p).forEach((o) => be.free(o)) };
}

/** Reads every out/inout tensor (and d<wrt> gradients with `grads`). */
export function readOutputs(pl: Placed, op: OpDef, d: Dims, grads = false): HostTensors {
  const out: HostTensors = new Map();
  for (const t of op.tensors) if (t.role !== "in") out.set(t.name, read(pl.be, t, pl.p[t.name]!, t.size(d)));
  if (grads && op.grad) {
    for (const w of op.grad.wrt) {
      const t = tensor(op, w);
      out.set("d" + w, read(pl.be, t, pl.p["d" + w]!, t.size(d)));
    }
  }
  return out;
}

/** Runs forward on a fresh placement; returns outputs and the scalar result (if any). */
export function runForward(be: Backend, op: OpDef, d: Dims, host: HostTensors): { out: HostTensors; scalar: number | undefined } {
  const pl = place(be, op, d, host);
  try {
    const r = op.forward(be, d, pl.p);
    return { out: readOutputs(pl, op, d), scalar: typeof r === "number" ? r : undefined };
  } finally {
    pl.free();
  }
}

/** Runs forward then backward; returns outputs and gradients. */
export function runBackward(be: Backend, op: OpDef, d: Dims, host: HostTensors): HostTensors {
  if (!op.grad) throw new Error(`op ${op.name} has no backward`);
  const pl = place(be, op, d, host);
  try {
    op.forward(be, d, pl.p);
    op.grad.backward(be, d, pl.p);
    return readOutputs(pl, op, d, true);
  } finally {
    pl.free();
  }
}

/** First element where got and want differ beyond tol, as a message; null when all agree. */
export function mismatch(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance): string | null {
  if (got.length !== want.length) return `${name}: length ${got.length} != ${want.length}`;
  for (let j = 0; j < want.length; j++) {
    const g = got[j]!;
    const w = want[j]!;
    if (Number.isNaN(g) !== Number.isNaN(w)) return `${name}[${j}]: ${g} vs ${w} (NaN mismatch)`;
    if (Number.isNaN(w)) continue;
    if (!(Math.abs(g - w) <= tol.abs + tol.rel * Math.abs(w))) {
      return `${name}[${j}]: got ${g}, want ${w} (|diff| ${Math.abs(g - w).toExponential(3)} > ${tol.abs} + ${tol.rel}·|want|)`;
    }
  }
  return null;
}

/** Compares every compared output (and the scalar) of two runs; returns messages of mismatches. */
export function compareForward(
  op: OpDef,
  got: { out: HostTensors; scalar: number | undefined },
  want: { out: HostTensors; scalar: number | undefined },
  tol: Tolerance,
): string[] {
  const errs: string[] = [];
  for (const t of op.tensors) {
    if (t.role === "in" || t.compare === false) continue;
    const e = mismatch(t.name, got.out.get(t.name)!, want.out.get(t.name)!, tol);
    if (e) errs.push(e);
  }
  if (want.scalar !== undefined) {
    const e = mismatch("result", [got.scalar ?? NaN], [want.scalar], tol);
    if (e) errs.push(e);
  }
  return errs;
}

/** Gradients compared with a tolerance relative to each tensor's largest magnitude. */
export function compareGrads(op: OpDef, got: HostTensors, want: HostTensors, tol: Tolerance): string[] {
  const errs: string[] = [];
  for (const w of op.grad!.wrt) {
    const ref = want.get("d" + w)!;
    let peak = 0;
    for (const v of ref) peak = Math.max(peak, Math.abs(v));
    const e = mismatch("d" + w, got.get("d" + w)!, ref, { abs: tol.abs + tol.rel * peak, rel: tol.rel });
    if (e) errs.push(e);
  }
  return errs;
}

/**
 * Finite-difference check on the f64 reference backend: L = Σ_o Σ out_o ⊙ R_o. For up to
 * `samples` elements of each differentiated input, compares the backward's gradient (minus the
 * prefilled value, since backward accumulates) with the central difference (L(x+h) − L(x−h))/2h.
 */
export function gradCheck(op: OpDef, d: Dims, host: HostTensors, samples = 12, h = 1e-5, seed = 1): string[] {
  const g = op.grad!;
  const be = new RefBackend("f64");
  const grads = runBackward(be, op, d, host);
  const loss = (hs: HostTensors): number => {
    const { out } = runForward(be, op, d, hs);
    let s = 0;
    for (const o of g.of) {
      const y = out.get(o)!;
      const r = hs.get("d" + o)!;
      for (let j = 0; j < y.length; j++) s += y[j]! * r[j]!;
    }
    return s;
  };
  const rng = new Rng(seed);
  const errs: string[] = [];
  for (const w of g.wrt) {
    if (g.fdSkip?.includes(w)) continue;
    const x = host.get(w)!;
    const analytic = grads.get("d" + w)!;
    const prefill = host.get("d" + w)!;
    const picks = x.length <= samples ? [...x.keys()] : Array.from({ length: samples }, () => rng.int(x.length));
    for (const j of picks) {
      const orig = x[j]!;
      x[j] = orig + h;
      const lp = loss(host);
      x[j] = orig - h;
      const lm = loss(host);
      x[j] = orig;
      const fd = (lp - lm) / (2 * h);
      const an = analytic[j]! - prefill[j]!;
      if (!(Math.abs(fd - an) <= 1e-6 + 1e-4 * Math.max(Math.abs(fd), Math.abs(an)))) {
        errs.push(`d${w}[${j}]: backward ${an}, finite difference ${fd}`);
      }
    }
  }
  return errs;
}
