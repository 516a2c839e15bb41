// Per-step arena: bump allocation of activations, saved tensors and their gradients inside chunks
// obtained once from a Backend. reset() rewinds to the first chunk and keeps every chunk, so a
// training step whose allocation sequence repeats (the normal case) allocates nothing after the
// first one, and the JS collector and WASM memory growth stay out of the hot loop.
import type { Backend } from "./backend.js";
import { roundUp } from "./heap.js";

interface Chunk {
  offset: number;
  size: number;
}

export class Arena {
  private readonly chunks: Chunk[] = [];
  /** Index of the chunk being filled; -1 before the first allocation since the last reset. */
  private cur = -1;
  /** Next free element offset inside chunks[cur]. */
  private top = 0;
  private allocs = 0;
  private used = 0;
  private peak = 0;

  /** @param chunkElements size of the first chunk (a larger request gets a larger one) */
  constructor(readonly be: Backend, readonly chunkElements = 1 << 16) {
    if (!Number.isInteger(chunkElements) || chunkElements < 1) throw new RangeError(`Arena: chunkElements must be a positive integer, got ${chunkElements}`);
  }

  /**
   * n elements (16-byte aligned) valid until the next reset(); contents are unspecified. May call
   * be.alloc, which may grow memory: re-read be.f / be.i afterwards.
   */
  alloc(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Arena.alloc: size must be a non-negative integer, got ${n}`);
    // every allocation takes at least one aligned slot, so distinct tensors never share an offset
    const size = Math.max(4, roundUp(n));
    if (this.cur < 0 || this.top + size > this.chunks[this.cur]!.offset + this.chunks[this.cur]!.size) this.nextChunk(size);
    const off = this.top;
    this.top += size;
    this.used += size;
    if (this.used > this.peak) this.peak = this.used;
    return off;
  }

  /** Like alloc, filled with zeros (gradient buffers, which kernels accumulate into). */
  zeros(n: number): number {
    const off = this.alloc(n);
    this.be.f.fill(0, off, off + n);
    return off;
  }

  /** Makes every allocation since the last reset invalid; keeps the chunks for reuse. */
  reset(): void {
    this.cur = -1;
    this.top = 0;
    this.used = 0;
  }

  /** Returns every chunk to the backend; the arena may be used again (it starts over). */
  dispose(): void {
    for (const c of this.chunks) this.be.free(c.offset);
    this.chunks.length = 0;
    this.reset();
  }

  /** Number of be.alloc calls made so far (constant once the arena has warmed up). */
  get backendAllocs(): number {
    return this.allocs;
  }

  /** Elements reserved from the backend. */
  get capacity(): number {
    let s = 0;
    for (const c of this.chunks) s += c.size;
    return s;
  }

  /** Largest number of elements handed out between two resets (alignment included). */
  get peakElements(): number {
    return this.peak;
  }

  /** Moves to the next kept chunk that can hold `size`, or reserves a new one at the end. */
  private nextChunk(size: number): void {
    for (let c = this.cur + 1; c < this.chunks.length; c++) {
      if (this.chunks[c]!.size >= size) {
        this.cur = c;
        this.top = this.chunks[c]!.offset;
        return;
      }
    }
    // each new chunk is at least as large as all the others together: when steps vary in size a
    // few doublings give a chunk that holds any spill of a step, so growth stops after O(log)
    // chunks and the reserve stays within about twice the peak (exact-size chunks kept piling up)
    const chunkSize = Math.max(this.chunkElements, size, this.capacity);
    const offset = this.be.alloc(chunkSize);
    this.allocs++;
    this.chunks.push({ offset, size: roundUp(chunkSize) });
    this.cur = this.chunks.length - 1;
    this.top = offset;
  }
}
