// Whole reads and writes on a file descriptor (Node only): readSync / writeSync may move fewer bytes
// than asked (signals, pipes, large requests), so both loop until every byte has moved. A read
// that meets the end of the file is an error: callers read what they know the file holds.
import { readSync, writeSync } from "node:fs";

/** Fills `dst` from the file at byte `position`; throws if the file ends first. */
export function readExact(fd: number, dst: Uint8Array, position: number): void {
  for (let done = 0; done < dst.length; ) {
    const n = readSync(fd, dst, done, dst.length - done, position + done);
    if (n === 0) throw new RangeError(`file ends at byte ${position + done}, ${dst.length - done} bytes short of ${position + dst.length}`);
    done += n;
  }
}

/** Writes all of `src` at byte `position`, or at the file's current offset when position is null. */
export function writeExact(fd: number, src: Uint8Array, position: number | null): void {
  for (let done = 0; done < src.length; ) done += writeSync(fd, src, done, src.length - done, position === null ? null : position + done);
}

/** The bytes of a typed array (or of part of one: `length` elements from element `at`). */
export function bytesOf(a: Float32Array | Float64Array | Int32Array, at = 0, length = a.length - at): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + at * a.BYTES_PER_ELEMENT, length * a.BYTES_PER_ELEMENT);
}
