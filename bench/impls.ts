// The implementations the kernel benchmark compares, each prepared for one op, shape and phase:
// our backends (WASM builds and the plain-TypeScript reference) driven through the op table's
// harness, and TensorFlow.js running the same maths (tfjs-ops.ts).
import type { Tensor } from "@tensorflow/tfjs-core";
import type { Backend } from "../src/kernels/backend.js";
import { place, tensor, write, type HostTensors } from "../src/kernels/ops/harness.js";
import type { Dims, OpDef } from "../src/kernels/ops/registry.js";
import type { Timed } from "./measure.js";
import type { Tf, TfjsRuntime } from "./tfjs.js";
import { TFJS, TFJS_FRESH } from "./report.js";
import { TFJS_NO_BACKWARD, TFJS_OPS, type TfjsSpec } from "./tfjs-ops.js";

export type Phase = "fwd" | "fwd+bwd";

export interface Prepared extends Timed {
  dispose(): void;
}

export interface Impl {
  name: string;
  /** Slow implementations get a smaller time budget (fewer iterations), but are still measured. */
  slow: boolean;
  /** Why this implementation cannot run op/phase at all (no equivalent), or null when it can. */
  unsupported(op: OpDef, phase: Phase): string | null;
  prepare(op: OpDef, d: Dims, host: HostTensors, phase: Phase): Prepared;
}

/** One of our backends, through the harness: tensors placed once, mutated ones restored per sample. */
export function backendImpl(be: Backend, slow: boolean): Impl {
  return {
    name: be.name,
    slow,
    unsupported: () => null,
    prepare(op, d, host, phase) {
      const pl = place(be, op, d, host);
      // inout tensors and accumulated gradients change on every call: restore them between samples
      const inout = op.tensors.filter((t) => t.role === "inout");
      const restore: [string, string][] = inout.map((t) => [t.name, t.name]);
      if (phase === "fwd+bwd") for (const w of op.grad!.wrt) restore.push(["d" + w, w]);
      const fwd = (): void => void op.forward(be, d, pl.p);
      return {
        call: phase === "fwd" ? fwd : () => (fwd(), op.grad!.backward(be, d, pl.p)),
        reset: () => {
          for (const [buf, spec] of restore) write(be, tensor(op, spec), pl.p[buf]!, host.get(buf)!);
        },
        dispose: () => pl.free(),
        ...(inout.length ? { maxBatch: IN_PLACE_BATCH } : {}),
      };
    },
  };
}

// Short enough that 16 repeated in-place updates stay in normal floating-point range for the
// op table's inputs, long enough (≥ 16 calls of ≥ 0.1 µs) that the timer's cost stays small.
const IN_PLACE_BATCH = 16;

export function tfjsImpl({ tf, noGradients }: TfjsRuntime): Impl {
  return {
    name: TFJS,
    slow: false,
    unsupported(op, phase) {
      if (!TFJS_OPS[op.name]) return "no TensorFlow.js equivalent";
      if (phase === "fwd+bwd") return noGradients ?? TFJS_NO_BACKWARD[op.name] ?? null;
      return null;
    },
    prepare(op, d, host, phase) {
      const spec = TFJS_OPS[op.name]!(tf, d);
      const x = tfInputs(tf, op, spec, host);
      const seeds: Tensor[] = [];
      let call = (): void => tf.tidy(() => void spec.forward(x));
      if (phase === "fwd+bwd") {
        const of = op.grad!.of;
        const wrt = spec.wrt;
        if (!wrt) throw new Error(`tfjs ${op.name}: no inputs to differentiate (TfjsSpec.wrt)`);
        // the seeds take each output's shape, known once the forward has run
        const shapes = tf.tidy(() => {
          const out = spec.forward(x);
          return of.map((o) => out[o]!.shape);
        });
        for (const [k, o] of of.entries()) seeds.push(tf.tensor(Float32Array.from(host.get("d" + o)!), shapes[k]));
        // one output: seed it as dy; several: differentiate Σ_o Σ out_o ⊙ seed_o
        const g = tf.grads((...args: Tensor[]) => {
          const xs = { ...x };
          wrt.forEach((n, k) => (xs[n] = args[k]!));
          const out = spec.forward(xs);
          if (of.length === 1) return out[of[0]!]!;
          return tf.addN(of.map((o, k) => tf.sum(tf.mul(out[o]!, seeds[k]!))));
        });
        const args = wrt.map((n) => x[n]!);
        const dy = of.length === 1 ? seeds[0] : undefined;
        call = () => tf.tidy(() => void g(args, dy));
      }
      return {
        call,
        reset: () => {},
        dispose: () => tf.dispose([...Object.values(x), ...seeds]),
      };
    },
  };
}

// Fresh tensors made per sample (untimed): a batch of calls may use at most this many.
const FRESH_POOL = 64;

/**
 * TensorFlow.js's x·W with a new W tensor on every call. Its wasm backend keeps XNNPACK's packed
 * copy of a matMul's right-hand side per tensor and reuses it while that tensor lives, which the
 * fixed-weight rows (tfjsImpl) measure. Training never reuses it: the optimiser's step makes the
 * weights a new tensor (Variable.assign takes the new data), and attention's P·V multiplies by a
 * new V, so each call packs B again. Here each call multiplies by one of a pool of tensors, made
 * (from the same values) before the sample and disposed after it, outside the timed calls.
 */
export function tfjsFreshBImpl({ tf }: TfjsRuntime): Impl {
  return {
    name: TFJS_FRESH,
    slow: false,
    unsupported: (op, phase) => (op.name === "gemm_ab" && phase === "fwd" ? null : "fresh weights are measured for gemm_ab forward only"),
    prepare(op, d, host) {
      const spec = TFJS_OPS[op.name]!(tf, d);
      const x = tfInputs(tf, op, spec, host);
      const values = x.b!.dataSync().slice();
      const shape = x.b!.shape;
      let pool: Tensor[] = [];
      let next = 0;
      return {
        call: () => {
          const b = pool[next++];
          if (!b) throw new Error(`tfjs fresh-weight pool of ${FRESH_POOL} ran out (a batch larger than maxBatch)`);
          tf.tidy(() => void spec.forward({ ...x, b }));
        },
        reset: () => {
          tf.dispose(pool);
          pool = Array.from({ length: FRESH_POOL }, () => tf.tensor(values, shape));
          next = 0;
        },
        dispose: () => tf.dispose([...Object.values(x), ...pool]),
        maxBatch: FRESH_POOL,
      };
    },
  };
}

/**
 * The forward outputs of TensorFlow.js's version of op at d, by op tensor name ("result": the
 * scalar), with the absolute difference from ours that its arithmetic explains.
 */
export function tfjsOutputs({ tf }: TfjsRuntime, op: OpDef, d: Dims, host: HostTensors): { out: HostTensors; checkAbs: number } {
  const spec = TFJS_OPS[op.name]!(tf, d);
  const out: HostTensors = new Map();
  tf.tidy(() => {
    for (const [name, t] of Object.entries(spec.forward(tfInputs(tf, op, spec, host)))) out.set(name, Float64Array.from(t.dataSync()));
  });
  return { out, checkAbs: spec.checkAbs ?? 0 };
}

/** TensorFlow.js tensors holding the host values of the spec's inputs, plus its constants. */
function tfInputs(tf: Tf, op: OpDef, spec: TfjsSpec, host: HostTensors): Record<string, Tensor> {
  const x: Record<string, Tensor> = {};
  for (const [name, inp] of Object.entries(spec.inputs)) {
    const src = host.get(inp.from ?? name);
    if (!src) throw new Error(`tfjs ${op.name}: the op has no input tensor '${inp.from ?? name}'`);
    const at = inp.at ?? 0;
    const values = src.subarray(at, at + inp.shape.reduce((a, b) => a * b, 1));
    x[name] = tf.tensor(inp.dtype === "int32" ? Int32Array.from(values) : Float32Array.from(values), inp.shape, inp.dtype);
  }
  if (spec.constants) Object.assign(x, tf.tidy(() => spec.constants!(x)));
  return x;
}
