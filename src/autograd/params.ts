// Parameters live in one flat buffer per partition (shared, group, private; see METHOD.md), each
// one contiguous allocation holding named slices, with a gradient buffer of the same layout. Then
// aggregation, deltas, compression, serialisation and the optimiser each see one buffer per
// partition, and a module only holds Tensor views into it.
import type { Backend } from "../kernels/backend.js";
import { roundUp } from "../kernels/heap.js";
import type { Rng } from "../util/rng.js";
import type { Init } from "./init.js";
import { sizeOf, Tensor } from "./tensor.js";

export type Partition = "shared" | "group" | "private";
export const PARTITIONS: readonly Partition[] = ["shared", "group", "private"];

export interface ParamSpec {
  /** Unique name, e.g. "block0.attn". */
  name: string;
  partition: Partition;
  shape: readonly number[];
  init: Init;
}

export interface Slice {
  name: string;
  partition: Partition;
  /** Offset of the slice inside its partition buffer (elements, a multiple of 4). */
  start: number;
  size: number;
  shape: readonly number[];
}

export interface PartitionBuffer {
  /** Element offset of the values. */
  values: number;
  /** Element offset of the gradients (same layout). */
  grads: number;
  /** Elements in each buffer, alignment gaps (always zero) included. */
  size: number;
}

export class ParamStore {
  private readonly slices = new Map<string, Slice>();
  private readonly tensors = new Map<string, Tensor>();
  private readonly buffers = new Map<Partition, PartitionBuffer>();

  /**
   * Lays the specs out in order, each slice starting 16-byte aligned, and initialises them in the
   * same order from `rng`.
   */
  constructor(readonly be: Backend, specs: readonly ParamSpec[], rng: Rng) {
    const fill = new Map<Partition, number>(PARTITIONS.map((p) => [p, 0]));
    for (const s of specs) {
      if (this.slices.has(s.name)) throw new Error(`ParamStore: duplicate parameter '${s.name}'`);
      if (!PARTITIONS.includes(s.partition)) throw new Error(`ParamStore: '${s.name}' has unknown partition '${s.partition}'`);
      const size = sizeOf(s.shape);
      const start = fill.get(s.partition)!;
      this.slices.set(s.name, { name: s.name, partition: s.partition, start, size, shape: [...s.shape] });
      fill.set(s.partition, start + roundUp(size));
    }
    for (const p of PARTITIONS) {
      const size = fill.get(p)!;
      // be.alloc zero-fills, so gradients and alignment gaps start at 0
      this.buffers.set(p, { values: be.alloc(size), grads: be.alloc(size), size });
    }
    for (const s of specs) {
      const sl = this.slices.get(s.name)!;
      const buf = this.buffers.get(s.partition)!;
      const values = s.init(rng, sl.size);
      if (values.length !== sl.size) throw new RangeError(`ParamStore: init of '${s.name}' gave ${values.length} values, expected ${sl.size}`);
      be.f.set(values, buf.values + sl.start);
      this.tensors.set(s.name, new Tensor(buf.values + sl.start, sl.shape, buf.grads + sl.start, true));
    }
  }

  /** The parameter `name` as a tensor view (value and gradient in the partition buffers). */
  get(name: string): Tensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`ParamStore: no parameter '${name}'`);
    return t;
  }

  slice(name: string): Slice {
    const s = this.slices.get(name);
    if (!s) throw new Error(`ParamStore: no parameter '${name}'`);
    return s;
  }

  /** The flat value and gradient buffers of a partition. */
  buffer(p: Partition): PartitionBuffer {
    return this.buffers.get(p)!;
  }

  /** Names of the parameters (of one partition), in layout order. */
  names(partition?: Partition): string[] {
    return [...this.slices.values()].filter((s) => partition === undefined || s.partition === partition).map((s) => s.name);
  }

  /** Sets the gradients of every (or one) partition to 0. */
  zeroGrads(partition?: Partition): void {
    const f = this.be.f;
    for (const p of partition === undefined ? PARTITIONS : [partition]) {
      const b = this.buffers.get(p)!;
      f.fill(0, b.grads, b.grads + b.size);
    }
  }

  /** Returns the buffers to the backend; the store must not be used afterwards. */
  dispose(): void {
    for (const b of this.buffers.values()) {
      this.be.free(b.values);
      this.be.free(b.grads);
    }
    this.buffers.clear();
    this.tensors.clear();
    this.slices.clear();
  }
}
