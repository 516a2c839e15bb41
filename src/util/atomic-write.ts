// Writes a file so that readers see either the old contents or the complete new ones: write a
// temporary file beside it, flush it to disk, rename it over the target, then flush the directory
// so that the rename itself survives a crash (checkpoints are resumed from after one).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
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
