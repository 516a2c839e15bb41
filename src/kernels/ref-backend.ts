// The reference backend: the kernel contract implemented in plain TypeScript (src/kernels/ref/*),
// over f32 storage (mirrors the WASM kernels' rounding) or f64 storage (exact enough for
// finite-difference gradient checks). It is the oracle, never the fast path.
import type { Backend, BackendName, FloatArray } from "./backend.js";
import { Heap } from "./heap.js";
import { checkDropoutP, checkInt8Block, type Flag } from "./kernels.js";
import * as adam from "./ref/adam.js";
import * as attention from "./ref/attention.js";
import * as compress from "./ref/compress.js";
import * as dropout from "./ref/dropout.js";
import * as elementwise from "./ref/elementwise.js";
import * as embedding from "./ref/embedding.js";
import * as ffn from "./ref/ffn.js";
import * as gemm from "./ref/gemm.js";
import * as layernorm from "./ref/layernorm.js";
import * as loss from "./ref/loss.js";
import * as vector from "./ref/vector.js";

export type RefPrecision = "f32" | "f64";

export class RefBackend implements Backend {
  readonly name: BackendName;
  private fArr: FloatArray;
  private iArr: Int32Array;
  private i8Arr: Int8Array;
  private readonly heap: Heap;

  constructor(readonly precision: RefPrecision = "f32", initialElements = 1 << 16) {
    this.name = precision === "f32" ? "ref-f32" : "ref-f64";
    this.fArr = precision === "f32" ? new Float32Array(initialElements) : new Float64Array(initialElements);
    this.iArr = new Int32Array(initialElements);
    this.i8Arr = new Int8Array(this.iArr.buffer);
    // offset 0 is never handed out, so a zero offset in a test is always a bug, never data
    this.heap = new Heap(4, initialElements, (min) => this.growTo(min));
  }

  private growTo(minElements: number): number {
    const cap = Math.max(minElements, this.fArr.length * 2);
    const f = this.precision === "f32" ? new Float32Array(cap) : new Float64Array(cap);
    f.set(this.fArr);
    const i = new Int32Array(cap);
    i.set(this.iArr);
    this.fArr = f;
    this.iArr = i;
    this.i8Arr = new Int8Array(i.buffer);
    return cap;
  }

  get f(): FloatArray {
    return this.fArr;
  }
  get i(): Int32Array {
    return this.iArr;
  }
  get i8(): Int8Array {
    return this.i8Arr;
  }

  alloc(n: number): number {
    const off = this.heap.alloc(n);
    this.fArr.fill(0, off, off + n);
    this.iArr.fill(0, off, off + n);
    return off;
  }

  free(offset: number): void {
    this.heap.release(offset);
  }

  gemmAB(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void {
    gemm.gemmAB(this, a, b, c, M, N, K, accumulate);
  }
  gemmABt(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void {
    gemm.gemmABt(this, a, b, c, M, N, K, accumulate);
  }
  gemmAtB(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void {
    gemm.gemmAtB(this, a, b, c, M, N, K, accumulate);
  }
  attentionForward(
    xq: number, xkv: number, w: number, mask: number, out: number, save: number,
    B: number, T: number, d: number, heads: number, causal: Flag,
  ): void {
    attention.attentionForward(this, xq, xkv, w, mask, out, save, B, T, d, heads, causal);
  }
  attentionBackward(
    dout: number, xq: number, xkv: number, w: number, mask: number, save: number,
    dxq: number, dxkv: number, dw: number,
    B: number, T: number, d: number, heads: number, causal: Flag,
  ): void {
    attention.attentionBackward(this, dout, xq, xkv, w, mask, save, dxq, dxkv, dw, B, T, d, heads, causal);
  }
  ffnForward(x: number, w: number, y: number, save: number, rows: number, d: number, dff: number, drop: number): void {
    ffn.ffnForward(this, x, w, y, save, rows, d, dff, drop);
  }
  ffnBackward(
    dy: number, x: number, w: number, save: number, dx: number, dw: number,
    rows: number, d: number, dff: number, drop: number,
  ): void {
    ffn.ffnBackward(this, dy, x, w, save, dx, dw, rows, d, dff, drop);
  }
  layerNormForward(x: number, w: number, y: number, save: number, rows: number, d: number, eps: number): void {
    layernorm.layerNormForward(this, x, w, y, save, rows, d, eps);
  }
  layerNormBackward(dy: number, x: number, w: number, save: number, dx: number, dw: number, rows: number, d: number): void {
    layernorm.layerNormBackward(this, dy, x, w, save, dx, dw, rows, d);
  }
  embeddingGather(table: number, idx: number, out: number, n: number, fields: number, dim: number): void {
    embedding.embeddingGather(this, table, idx, out, n, fields, dim);
  }
  embeddingScatterAdd(dout: number, idx: number, dtable: number, n: number, fields: number, dim: number): void {
    embedding.embeddingScatterAdd(this, dout, idx, dtable, n, fields, dim);
  }
  bceForward(logits: number, labels: number, weights: number, n: number): number {
    return loss.bceForward(this, logits, labels, weights, n);
  }
  bceBackward(logits: number, labels: number, weights: number, dlogits: number, n: number, scale: number): void {
    loss.bceBackward(this, logits, labels, weights, dlogits, n, scale);
  }
  adamStep(
    p: number, g: number, m: number, v: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    adam.adamStep(this, p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step);
  }
  axpy(y: number, x: number, n: number, a: number): void {
    vector.axpy(this, y, x, n, a);
  }
  scale(x: number, n: number, a: number): void {
    vector.scale(this, x, n, a);
  }
  weightedSum(out: number, list: number, weights: number, count: number, n: number): void {
    vector.weightedSum(this, out, list, weights, count, n);
  }
  l2Norm(x: number, n: number): number {
    return vector.l2Norm(this, x, n);
  }
  clipByNorm(x: number, n: number, maxNorm: number): number {
    return vector.clipByNorm(this, x, n, maxNorm);
  }
  nonFiniteIndex(x: number, n: number): number {
    return vector.nonFiniteIndex(this, x, n);
  }
  add(a: number, b: number, out: number, n: number): void {
    elementwise.add(this, a, b, out, n);
  }
  mul(a: number, b: number, out: number, n: number): void {
    elementwise.mul(this, a, b, out, n);
  }
  mulRowMask(x: number, mask: number, rows: number, cols: number): void {
    elementwise.mulRowMask(this, x, mask, rows, cols);
  }
  addRowVector(y: number, b: number, rows: number, cols: number): void {
    elementwise.addRowVector(this, y, b, rows, cols);
  }
  colSumAcc(x: number, out: number, rows: number, cols: number): void {
    elementwise.colSumAcc(this, x, out, rows, cols);
  }
  reluForward(x: number, y: number, n: number): void {
    elementwise.reluForward(this, x, y, n);
  }
  reluBackward(dy: number, x: number, dx: number, n: number): void {
    elementwise.reluBackward(this, dy, x, dx, n);
  }
  dropoutMask(state: number, out: number, n: number, p: number): void {
    checkDropoutP(p);
    dropout.dropoutMask(this, state, out, n, p);
  }
  delta(next: number, prev: number, out: number, n: number): void {
    compress.delta(this, next, prev, out, n);
  }
  topkSelect(x: number, residual: number, n: number, k: number, outIdx: number, outVal: number): number {
    return compress.topkSelect(this, x, residual, n, k, outIdx, outVal);
  }
  quantizeInt8(x: number, n: number, block: number, q: number, scales: number): void {
    checkInt8Block(block);
    compress.quantizeInt8(this, x, n, block, q, scales);
  }
  dequantizeInt8(q: number, scales: number, n: number, block: number, out: number): void {
    checkInt8Block(block);
    compress.dequantizeInt8(this, q, scales, n, block, out);
  }
}
