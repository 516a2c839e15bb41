// Atomic writes, blocking and not: the file holds exactly the new contents afterwards, no temporary
// file is left beside it, and a write that cannot happen throws and leaves nothing behind.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic, writeFileAtomicAsync } from "../src/util/atomic-write.js";

test("writeFileAtomic and writeFileAtomicAsync replace a file whole and leave no temporary", async () => {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-aw-"));
  try {
    const path = join(dir, "f.json");
    writeFileAtomic(path, "first");
    await writeFileAtomicAsync(path, "second ✓");
    assert.is(readFileSync(path, "utf8"), "second ✓");
    await writeFileAtomicAsync(path, "");
    assert.is(readFileSync(path, "utf8"), "");
    writeFileAtomic(path, "third");
    assert.is(readFileSync(path, "utf8"), "third");
    assert.equal(readdirSync(dir), ["f.json"]);
    try {
      await writeFileAtomicAsync(join(dir, "missing", "g.json"), "x");
      assert.unreachable("wrote into a missing folder");
    } catch (e) {
      assert.match(String(e), /ENOENT/);
    }
    assert.equal(readdirSync(dir), ["f.json"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
