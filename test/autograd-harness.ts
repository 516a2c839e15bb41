// Gradient checks for graphs built from autograd ops. A case names its parameters (everything
// whose gradient is checked) and builds a graph from them; the scalar under test is Σ out ⊙ R for
// a fixed random R (seeded into out's gradient). Checks: (1) on the f64 reference backend the
// tape's gradients equal central finite differences; (2) a WASM backend's values and gradients
// equal the f64 reference's, within a tolerance relative to each tensor's peak magnitude.
import fc from "fast-check";
import { Arena } from "../src/kernels/arena.js";
import type { Backend } from "../src/kernels/backend.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { Rng } from "../src/util/rng.js";
import { ParamStore, type Partition } from "../src/autograd/params.js";
import { normalInit, type Init } from "../src/autograd/init.js";
import { Tape } from "../src/autograd/tape.js";
import type { Tensor } from "../src/autograd/tensor.js";
import { wasmBackends } from "./helpers.js";

export type Dims = Record<string, number>;

export interface Tolerance {
  /** |got − want| ≤ abs + rel·peak, peak = max |want| over the tensor. */
  abs: number;
  rel: number;
}

export interface GradCase<D extends Dims = Dims> {
  name: string;
  /** Inclusive ranges fast-check draws each dimension from. */
  dims: { [K in keyof D]: [number, number] };
  /** Shapes always checked: sizes 1, T = 1, all-padding rows, large values... */
  edge: D[];
  /** The tensors whose gradients are checked (partition: default "shared"). */
  params(d: D): { name: string; shape: number[]; init?: Init; partition?: Partition }[];
  /**
   * Builds the graph; `rng` is fresh with the same seed on every call (constants, dropout). `ps`
   * holds the parameters `p` returns, for graphs built by code that takes a ParamStore (the model).
   */
  build(tp: Tape, p: (name: string) => Tensor, d: D, rng: Rng, ps: ParamStore): Tensor;
  /** WASM (f32) against the f64 reference. */
  tol: Tolerance;
}

export function defineCase<D extends Dims>(c: GradCase<D>): GradCase {
  return c as unknown as GradCase;
}

/** Random dimensions of a case, for fast-check. */
export function dimsArbitrary(c: GradCase): fc.Arbitrary<Dims> {
  const rec: Record<string, fc.Arbitrary<number>> = {};
  for (const [k, [lo, hi]] of Object.entries(c.dims)) rec[k] = fc.integer({ min: lo, max: hi });
  return fc.record(rec) as fc.Arbitrary<Dims>;
}

export interface Instance {
  be: Backend;
  tp: Tape;
  ps: ParamStore;
  /** Runs the forward pass from a clean arena; returns the output. */
  forward(): Tensor;
  /** Returns the parameter buffers and the arena to the backend. */
  dispose(): void;
}

export function instantiate(be: Backend, c: GradCase, d: Dims, seed: number): Instance {
  const specs = c.params(d).map((p) => ({ name: p.name, partition: p.partition ?? "shared", shape: p.shape, init: p.init ?? normalInit(1) }));
  const ps = new ParamStore(be, specs, new Rng(seed));
  const tp = new Tape(be, new Arena(be, 1 << 12));
  const get = (name: string): Tensor => ps.get(name);
  return {
    be,
    tp,
    ps,
    forward: () => {
      tp.reset();
      return c.build(tp, get, d, new Rng(seed + 1), ps);
    },
    dispose: () => {
      ps.dispose();
      tp.arena.dispose();
    },
  };
}

function seedFor(n: number, seed: number): Float64Array {
  const rng = new Rng(seed + 2);
  return Float64Array.from({ length: n }, () => rng.normal());
}

export interface Result {
  out: Float64Array;
  grads: Map<string, Float64Array>;
}

/** Forward, then backward from R; returns the output and every parameter's gradient. */
export function run(be: Backend, c: GradCase, d: Dims, seed: number): Result {
  const inst = instantiate(be, c, d, seed);
  const out = inst.forward();
  const values = Float64Array.from(be.f.subarray(out.offset, out.offset + out.size));
  inst.ps.zeroGrads();
  if (out.requiresGrad) inst.tp.backward(out, seedFor(out.size, seed));
  const grads = new Map<string, Float64Array>();
  for (const name of inst.ps.names()) {
    const t = inst.ps.get(name);
    grads.set(name, Float64Array.from(be.f.subarray(t.grad, t.grad + t.size)));
  }
  inst.dispose();
  return { out: values, grads };
}

/** Messages for non-finite values in a result (must be empty: no NaN anywhere, even all-padding). */
export function nonFinite(r: Result): string[] {
  const errs: string[] = [];
  const scan = (name: string, a: Float64Array) => {
    const j = a.findIndex((v) => !Number.isFinite(v));
    if (j >= 0) errs.push(`${name}[${j}] = ${a[j]}`);
  };
  scan("out", r.out);
  for (const [k, g] of r.grads) scan("d" + k, g);
  return errs;
}

/**
 * Central differences on the f64 reference backend for up to `sample` elements of every
 * parameter (all of them when smaller), against the tape's gradient. h = 1e-5 balances the
 * O(h²) truncation error against rounding in f64 (~1e-16·|L|/h); the tolerance is
 * 1e-7 + 1e-5·peak |gradient| of the tensor.
 */
export function fdCheck(c: GradCase, d: Dims, seed: number, sample = Infinity): string[] {
  const be = new RefBackend("f64");
  const analytic = run(be, c, d, seed);
  const errs = nonFinite(analytic);
  const inst = instantiate(be, c, d, seed);
  const loss = (): number => {
    const out = inst.forward();
    const r = seedFor(out.size, seed);
    const f = be.f;
    let s = 0;
    for (let j = 0; j < out.size; j++) s += r[j]! * f[out.offset + j]!;
    return s;
  };
  const h = 1e-5;
  const pick = new Rng(seed + 3);
  for (const name of inst.ps.names()) {
    const t = inst.ps.get(name);
    const g = analytic.grads.get(name)!;
    const peak = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const idx = t.size <= sample ? [...g.keys()] : Array.from({ length: sample }, () => pick.int(t.size));
    for (const j of idx) {
      const v = be.f[t.offset + j]!;
      be.f[t.offset + j] = v + h;
      const up = loss();
      be.f[t.offset + j] = v - h;
      const down = loss();
      be.f[t.offset + j] = v;
      const fd = (up - down) / (2 * h);
      if (!(Math.abs(fd - g[j]!) <= 1e-7 + 1e-5 * peak)) errs.push(`d${name}[${j}]: tape ${g[j]}, finite differences ${fd} (peak ${peak})`);
    }
  }
  return errs;
}

function compare(name: string, got: Float64Array, want: Float64Array, tol: Tolerance): string | null {
  const peak = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let j = 0; j < want.length; j++) {
    const diff = Math.abs(got[j]! - want[j]!);
    if (!(diff <= tol.abs + tol.rel * peak)) return `${name}[${j}]: got ${got[j]}, want ${want[j]} (|diff| ${diff.toExponential(2)}, peak ${peak.toExponential(2)})`;
  }
  return null;
}

/** Compares the output and every gradient of two results. */
export function compareResults(got: Result, want: Result, tol: Tolerance): string[] {
  const errs = [compare("out", got.out, want.out, tol)];
  for (const [k, w] of want.grads) errs.push(compare("d" + k, got.grads.get(k)!, w, tol));
  return errs.filter((e): e is string => e !== null);
}

/** Throws with the first of `errs` (a failed test), saying where. */
function failOn(errs: string[], where: string): void {
  if (errs.length) throw new Error(`${where}:\n  ${errs.slice(0, 8).join("\n  ")}`);
}

/** fdCheck as an assertion. */
export function expectGradients(c: GradCase, d: Dims, seed: number, sample = Infinity): void {
  failOn(fdCheck(c, d, seed, sample), `${c.name} at ${JSON.stringify(d)} seed ${seed}`);
}

/** Every WASM backend's output and gradients equal the f64 reference's, finite, within c.tol. */
export async function expectWasmAgrees(c: GradCase, d: Dims, seed: number): Promise<void> {
  const want = run(new RefBackend("f64"), c, d, seed);
  for (const be of await wasmBackends()) {
    const got = run(be, c, d, seed);
    failOn([...nonFinite(got), ...compareResults(got, want, c.tol)], `${c.name} on ${be.name} at ${JSON.stringify(d)} seed ${seed}`);
  }
}
