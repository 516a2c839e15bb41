// Element-granular first-fit allocator over a growable linear address space. Used by every backend
// (WASM memory or the reference backends' JS arrays), so allocation behaves identically on both.
// Offsets are in 4-byte elements and aligned to ALIGN elements (16 bytes, one v128).

export const ALIGN = 4;

interface Block {
  start: number;
  size: number;
}

export class Heap {
  private readonly free: Block[] = [];
  private readonly live = new Map<number, number>();
  private top: number;

  /**
   * @param base first usable element offset
   * @param capacity current size of the address space in elements
   * @param grow called with the minimum capacity needed; returns the new capacity
   */
  constructor(base: number, private capacity: number, private readonly grow: (minCapacity: number) => number) {
    this.top = roundUp(base);
  }

  /** Allocates n elements (n >= 0); contents are unspecified. */
  alloc(n: number): number {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`Heap.alloc: size must be a non-negative integer, got ${n}`);
    const size = Math.max(ALIGN, roundUp(n));
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i]!;
      if (b.size < size) continue;
      const start = b.start;
      if (b.size === size) this.free.splice(i, 1);
      else {
        b.start += size;
        b.size -= size;
      }
      this.live.set(start, size);
      return start;
    }
    const start = this.top;
    if (start + size > this.capacity) this.capacity = this.grow(start + size);
    this.top = start + size;
    this.live.set(start, size);
    return start;
  }

  /** Returns a block to the free list, merging it with free neighbours. */
  release(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined) throw new Error(`Heap.release: offset ${offset} is not a live allocation`);
    this.live.delete(offset);
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < offset) i++;
    this.free.splice(i, 0, { start: offset, size });
    // merge with the next, then with the previous block
    const cur = this.free[i]!;
    const next = this.free[i + 1];
    if (next && cur.start + cur.size === next.start) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === cur.start) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
    // a free block at the top shrinks the used region instead of fragmenting it
    const last = this.free[this.free.length - 1];
    if (last && last.start + last.size === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }

  /** Size in elements of a live allocation (as rounded up by alloc). */
  sizeOf(offset: number): number {
    const size = this.live.get(offset);
    if (size === undefined) throw new Error(`Heap.sizeOf: offset ${offset} is not a live allocation`);
    return size;
  }

  /** Elements in live allocations. */
  get liveElements(): number {
    let s = 0;
    for (const v of this.live.values()) s += v;
    return s;
  }
}

export function roundUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
