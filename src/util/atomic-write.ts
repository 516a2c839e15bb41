// Writes a file so that readers see either the old contents or the complete new ones: write a
// temporary file beside it, flush it to disk, rename it over the target, then flush the directory
// so that the rename itself survives a crash (checkpoints are resumed from after one).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export function writeFileAtomic(path: string, data: string | ArrayBufferView | readonly ArrayBufferView[]): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      const parts = typeof data === "string" ? [Buffer.from(data, "utf8")] : Array.isArray(data) ? data : [data as ArrayBufferView];
      for (const p of parts) writeAll(fd, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dirname(path));
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

/** Some platforms (Windows) cannot open a directory: the rename is then as durable as they allow. */
function syncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // EISDIR/EPERM on platforms without directory fsync
  } finally {
    closeSync(fd);
  }
}
