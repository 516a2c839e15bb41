// The WASM backend: instantiates the kernel module and adapts the byte-pointer ABI of
// assembly/*.ts to the element-offset contract of kernels.ts. Uses only WebAssembly and atob, so
// it loads unchanged in Node 20+, browsers, Deno and Workers.
import type { Backend, BackendName } from "./backend.js";
import { Heap } from "./heap.js";
import { checkDropoutP, checkInt8Block, type Flag } from "./kernels.js";
import { SIMD_WASM_BASE64, RELAXED_WASM_BASE64 } from "./wasm-binaries.generated.js";

/**
 * Raw exports of build/fedfacet-*.wasm: byte pointers, an absent pointer is -1. A kernel that needs
 * temporaries also exports `<name>_scratch(dims...)`, the bytes of scratch it needs for those dims.
 */
type Fn = (...args: number[]) => number;
interface RawExports {
  memory: WebAssembly.Memory;
  heap_base: Fn;
  set_scratch: Fn;
  [name: string]: Fn | WebAssembly.Memory | undefined;
}
type KernelExports = Record<string, Fn>;

/** Every export the contract needs; checked at load so a stale build fails at once, by name. */
const REQUIRED_EXPORTS = [
  "gemm_ab", "gemm_abt", "gemm_atb", "attention_forward", "attention_backward", "ffn_forward", "ffn_backward",
  "layernorm_forward", "layernorm_backward", "embedding_gather", "embedding_scatter_add", "bce_forward",
  "bce_backward", "adam_step", "axpy", "scale", "weighted_sum", "l2_norm", "clip_by_norm", "non_finite_index",
  "add", "mul", "mul_row_mask", "add_row_vector", "col_sum_acc", "relu_forward", "relu_backward", "dropout_mask", "delta",
  "topk_select", "quantize_int8", "dequantize_int8",
];

/** An optional element offset as a byte pointer (NONE stays -1). */
function opt(offset: number): number {
  return offset < 0 ? -1 : offset * 4;
}

export type SimdLevel = "relaxed" | "simd";

export interface LoadOptions {
  /** "auto" (default) takes relaxed SIMD (fused multiply-add) where the runtime validates it. */
  simd?: "auto" | SimdLevel;
  /**
   * A precompiled module or the bytes of build/fedfacet-*.wasm, for runtimes that forbid
   * compiling embedded bytes (Cloudflare Workers: import the .wasm and pass it here).
   */
  module?: WebAssembly.Module | BufferSource;
  /** Which binary `module` is, when it is given (default "simd"). */
  moduleLevel?: SimdLevel;
}

const PAGE = 65536;

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const out = new Uint8Array(new ArrayBuffer(s.length));
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Which SIMD level this runtime can run (null: no WebAssembly SIMD at all). */
export function detectSimd(): SimdLevel | null {
  if (typeof WebAssembly !== "object") return null;
  if (WebAssembly.validate(decodeBase64(RELAXED_WASM_BASE64))) return "relaxed";
  if (WebAssembly.validate(decodeBase64(SIMD_WASM_BASE64))) return "simd";
  return null;
}

export async function loadWasmBackend(options: LoadOptions = {}): Promise<WasmBackend> {
  let level: SimdLevel;
  let module: WebAssembly.Module;
  if (options.module instanceof WebAssembly.Module) {
    level = options.moduleLevel ?? "simd";
    module = options.module;
  } else if (options.module) {
    level = options.moduleLevel ?? "simd";
    module = await WebAssembly.compile(options.module);
  } else {
    level = chooseLevel(options.simd ?? "auto");
    module = await WebAssembly.compile(decodeBase64(level === "relaxed" ? RELAXED_WASM_BASE64 : SIMD_WASM_BASE64));
  }
  const instance = await WebAssembly.instantiate(module, {});
  return new WasmBackend(instance.exports as unknown as RawExports, level);
}

function chooseLevel(want: "auto" | SimdLevel): SimdLevel {
  const have = detectSimd();
  if (have === null) {
    throw new Error(
      "fedfacet: this JavaScript runtime does not support WebAssembly SIMD (128-bit), which the kernels " +
        "require. Use Node 20+, Deno 1.9+, Chrome/Edge 91+, Firefox 89+ or Safari 16.4+.",
    );
  }
  if (want === "relaxed" && have !== "relaxed") {
    throw new Error(
      "fedfacet: relaxed SIMD was requested but this runtime does not support it " +
        "(Node 20 needs --experimental-wasm-relaxed-simd); use simd: 'auto' or 'simd'.",
    );
  }
  return want === "auto" ? have : want;
}

export class WasmBackend implements Backend {
  readonly name: BackendName;
  private readonly heap: Heap;
  private readonly memory: WebAssembly.Memory;
  private buffer: ArrayBuffer;
  private fView: Float32Array;
  private iView: Int32Array;
  private i8View: Int8Array;
  private scratchOffset = -1;
  private scratchElems = 0;
  private readonly k: KernelExports;
  private readonly need = new Map<string, Fn>();

  constructor(private readonly ex: RawExports, readonly level: SimdLevel) {
    const missing = REQUIRED_EXPORTS.filter((name) => typeof ex[name] !== "function");
    if (missing.length) {
      throw new Error(`fedfacet: the WASM module lacks kernels ${missing.join(", ")} (a stale or foreign build? run npm run build)`);
    }
    this.k = ex as unknown as KernelExports;
    for (const [name, v] of Object.entries(ex)) {
      if (name.endsWith("_scratch") && typeof v === "function") this.need.set(name.slice(0, -"_scratch".length), v as Fn);
    }
    this.name = level === "relaxed" ? "wasm-relaxed" : "wasm-simd";
    this.memory = ex.memory;
    this.buffer = this.memory.buffer;
    this.fView = new Float32Array(this.buffer);
    this.iView = new Int32Array(this.buffer);
    this.i8View = new Int8Array(this.buffer);
    this.heap = new Heap(Math.ceil(ex.heap_base() / 4), this.buffer.byteLength / 4, (min) => this.growTo(min));
  }

  private growTo(minElements: number): number {
    const have = this.memory.buffer.byteLength;
    const need = minElements * 4;
    // grow geometrically so that a sequence of allocations does not grow page by page
    const target = Math.max(need, Math.min(have * 2, have + 256 * 1024 * 1024));
    const pages = Math.ceil((target - have) / PAGE);
    try {
      this.memory.grow(pages);
    } catch {
      throw new RangeError(`fedfacet: cannot grow WASM memory to ${Math.ceil(need / 2 ** 20)} MiB (wasm32 limit is 4 GiB)`);
    }
    return this.memory.buffer.byteLength / 4;
  }

  private refresh(): void {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer;
      this.fView = new Float32Array(this.buffer);
      this.iView = new Int32Array(this.buffer);
      this.i8View = new Int8Array(this.buffer);
    }
  }

  get f(): Float32Array {
    this.refresh();
    return this.fView;
  }
  get i(): Int32Array {
    this.refresh();
    return this.iView;
  }
  get i8(): Int8Array {
    this.refresh();
    return this.i8View;
  }

  alloc(n: number): number {
    const off = this.heap.alloc(n);
    this.f.fill(0, off, off + n);
    return off;
  }

  free(offset: number): void {
    this.heap.release(offset);
  }

  /** Bytes of WASM linear memory currently reserved. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Runs `name`'s scratch-size export, if it has one, and grows the scratch region to fit. */
  private ensure(name: string, a: number, b = 0, c = 0, d = 0, e = 0): void {
    const need = this.need.get(name);
    if (need !== undefined) this.scratch(need(a, b, c, d, e));
  }

  /** Makes sure the scratch region holds `bytes` before a kernel that uses it runs. */
  private scratch(bytes: number): void {
    if (bytes <= this.scratchElems * 4) return;
    if (this.scratchOffset >= 0) this.heap.release(this.scratchOffset);
    this.scratchElems = Math.ceil(bytes / 4);
    this.scratchOffset = this.heap.alloc(this.scratchElems);
    this.refresh();
    this.ex.set_scratch(this.scratchOffset * 4, this.scratchElems * 4);
  }

  gemmAB(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void {
    this.ensure("gemm_ab", M, N, K, accumulate);
    this.k.gemm_ab(a * 4, b * 4, c * 4, M, N, K, accumulate);
  }
  gemmABt(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void {
    this.ensure("gemm_abt", M, N, K, accumulate);
    this.k.gemm_abt(a * 4, b * 4, c * 4, M, N, K, accumulate);
  }
  gemmAtB(a: number, b: number, c: number, M: number, N: number, K: number, accumulate: Flag): void {
    this.ensure("gemm_atb", M, N, K, accumulate);
    this.k.gemm_atb(a * 4, b * 4, c * 4, M, N, K, accumulate);
  }
  attentionForward(
    xq: number, xkv: number, w: number, mask: number, out: number, save: number,
    B: number, T: number, d: number, heads: number, causal: Flag,
  ): void {
    this.ensure("attention_forward", B, T, d, heads, causal);
    this.k.attention_forward(xq * 4, xkv * 4, w * 4, mask * 4, out * 4, save * 4, B, T, d, heads, causal);
  }
  attentionBackward(
    dout: number, xq: number, xkv: number, w: number, mask: number, save: number,
    dxq: number, dxkv: number, dw: number,
    B: number, T: number, d: number, heads: number, causal: Flag,
  ): void {
    this.ensure("attention_backward", B, T, d, heads, causal);
    this.k.attention_backward(dout * 4, xq * 4, xkv * 4, w * 4, mask * 4, save * 4, dxq * 4, dxkv * 4, dw * 4, B, T, d, heads, causal);
  }
  ffnForward(x: number, w: number, y: number, save: number, rows: number, d: number, dff: number, drop: number): void {
    this.ensure("ffn_forward", rows, d, dff);
    this.k.ffn_forward(x * 4, w * 4, y * 4, save * 4, opt(drop), rows, d, dff);
  }
  ffnBackward(
    dy: number, x: number, w: number, save: number, dx: number, dw: number,
    rows: number, d: number, dff: number, drop: number,
  ): void {
    this.ensure("ffn_backward", rows, d, dff);
    this.k.ffn_backward(dy * 4, x * 4, w * 4, save * 4, dx * 4, dw * 4, opt(drop), rows, d, dff);
  }
  layerNormForward(x: number, w: number, y: number, save: number, rows: number, d: number, eps: number): void {
    this.k.layernorm_forward(x * 4, w * 4, y * 4, save * 4, rows, d, eps);
  }
  layerNormBackward(dy: number, x: number, w: number, save: number, dx: number, dw: number, rows: number, d: number): void {
    this.k.layernorm_backward(dy * 4, x * 4, w * 4, save * 4, dx * 4, dw * 4, rows, d);
  }
  embeddingGather(table: number, idx: number, out: number, n: number, fields: number, dim: number): void {
    this.k.embedding_gather(table * 4, idx * 4, out * 4, n, fields, dim);
  }
  embeddingScatterAdd(dout: number, idx: number, dtable: number, n: number, fields: number, dim: number): void {
    this.k.embedding_scatter_add(dout * 4, idx * 4, dtable * 4, n, fields, dim);
  }
  bceForward(logits: number, labels: number, weights: number, n: number): number {
    return this.k.bce_forward(logits * 4, labels * 4, weights * 4, n);
  }
  bceBackward(logits: number, labels: number, weights: number, dlogits: number, n: number, scale: number): void {
    this.k.bce_backward(logits * 4, labels * 4, weights * 4, dlogits * 4, n, scale);
  }
  adamStep(
    p: number, g: number, m: number, v: number, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number,
  ): void {
    this.k.adam_step(p * 4, g * 4, m * 4, v * 4, n, lr, beta1, beta2, eps, weightDecay, step);
  }
  axpy(y: number, x: number, n: number, a: number): void {
    this.k.axpy(y * 4, x * 4, n, a);
  }
  scale(x: number, n: number, a: number): void {
    this.k.scale(x * 4, n, a);
  }
  weightedSum(out: number, list: number, weights: number, count: number, n: number): void {
    this.k.weighted_sum(out * 4, list * 4, weights * 4, count, n);
  }
  l2Norm(x: number, n: number): number {
    return this.k.l2_norm(x * 4, n);
  }
  clipByNorm(x: number, n: number, maxNorm: number): number {
    return this.k.clip_by_norm(x * 4, n, maxNorm);
  }
  nonFiniteIndex(x: number, n: number): number {
    return this.k.non_finite_index(x * 4, n);
  }
  add(a: number, b: number, out: number, n: number): void {
    this.k.add(a * 4, b * 4, out * 4, n);
  }
  mul(a: number, b: number, out: number, n: number): void {
    this.k.mul(a * 4, b * 4, out * 4, n);
  }
  mulRowMask(x: number, mask: number, rows: number, cols: number): void {
    this.k.mul_row_mask(x * 4, mask * 4, rows, cols);
  }
  addRowVector(y: number, b: number, rows: number, cols: number): void {
    this.k.add_row_vector(y * 4, b * 4, rows, cols);
  }
  colSumAcc(x: number, out: number, rows: number, cols: number): void {
    this.k.col_sum_acc(x * 4, out * 4, rows, cols);
  }
  reluForward(x: number, y: number, n: number): void {
    this.k.relu_forward(x * 4, y * 4, n);
  }
  reluBackward(dy: number, x: number, dx: number, n: number): void {
    this.k.relu_backward(dy * 4, x * 4, dx * 4, n);
  }
  dropoutMask(state: number, out: number, n: number, p: number): void {
    checkDropoutP(p);
    this.k.dropout_mask(state * 4, out * 4, n, p);
  }
  delta(next: number, prev: number, out: number, n: number): void {
    this.k.delta(next * 4, prev * 4, out * 4, n);
  }
  topkSelect(x: number, residual: number, n: number, k: number, outIdx: number, outVal: number): number {
    this.ensure("topk_select", n, k);
    return this.k.topk_select(x * 4, residual * 4, outIdx * 4, outVal * 4, n, k);
  }
  quantizeInt8(x: number, n: number, block: number, q: number, scales: number): void {
    checkInt8Block(block);
    this.k.quantize_int8(x * 4, q * 4, scales * 4, n, block);
  }
  dequantizeInt8(q: number, scales: number, n: number, block: number, out: number): void {
    checkInt8Block(block);
    this.k.dequantize_int8(q * 4, scales * 4, out * 4, n, block);
  }
}
