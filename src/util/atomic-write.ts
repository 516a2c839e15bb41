// Writes a file so that readers see either the old contents or the complete new ones: write a
// temporary file beside it, flush it to disk, rename it over the target, then flush the directory
// so that the rename itself survives a crash (checkpoints are resumed from after one).
import { closeSync, fsyncSync, openSync, renameSync, rmSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { writeExact } from "./file-io.js";

export function writeFileAtomic(path: string, data: string | ArrayBufferView | readonly ArrayBufferView[]): void {
  const parts = typeof data === "string" ? [Buffer.from(data, "utf8")] : Array.isArray(data) ? data : [data as ArrayBufferView];
  writeFileAtomicWith(path, (fd) => {
    for (const p of parts) writeExact(fd, new Uint8Array(p.buffer, p.byteOffset, p.byteLength), null);
  });
}

/**
 * writeFileAtomic for contents too large to hold in memory at once: `write` writes them to the
 * temporary file's descriptor (sequentially, e.g. with writeExact at position null).
 */
export function writeFileAtomicWith(path: string, write: (fd: number) => void): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, "w");
    try {
      write(fd);
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

/**
 * writeFileAtomic without blocking the event loop (the writes and flushes run on libuv's threads),
 * for a server that must keep answering while it persists. Callers must not run two at once on
 * the same path (they share the temporary file's name).
 */
export async function writeFileAtomicAsync(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const file = await open(tmp, "w");
    try {
      await file.writeFile(data, "utf8");
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDirAsync(dirname(path));
}

async function syncDirAsync(dir: string): Promise<void> {
  let file;
  try {
    file = await open(dir, "r");
  } catch {
    return;
  }
  try {
    await file.sync();
  } catch {
    // EISDIR/EPERM on platforms without directory fsync
  } finally {
    await file.close();
  }
}
