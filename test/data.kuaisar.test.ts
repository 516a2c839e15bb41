// The real KuaiSAR-R folder, when present (it is not part of the repository): FEDFACET_KUAISAR, or by
// default ../shared/data/kuaisar-r next to the repository. Expected figures are METHOD.md's and an
// independent pandas-free recount (Python csv + stable sorted()).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { leaveOneOut, readFolder } from "../src/data/index.js";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = resolve(repoRoot, process.env.FEDFACET_KUAISAR ?? "../shared/data/kuaisar-r");

if (!existsSync(dir)) {
  console.warn(`data.kuaisar: skipped, no KuaiSAR-R folder at ${dir} (set FEDFACET_KUAISAR to its path)`);
  test.skip("KuaiSAR-R loads with its published counts", () => {});
} else {
  test("KuaiSAR-R loads with its published counts, split sizes and field cardinalities", () => {
    const ds = readFolder(dir);
    assert.is(ds.numUsers, 1791);
    assert.is(ds.numItems, 69704);
    assert.is(ds.seqItems.length, 117590);
    assert.equal(ds.report, { rows: 117590, shortUsers: 0, shortUserRows: 0, idleUsers: 0, idleItems: 0 });
    // Distinct raw values per field, plus padding.
    assert.equal(ds.userFields.map((f) => f.cardinality), [9, 4, 8, 5]);
    assert.equal(ds.itemFields.map((f) => f.cardinality), [3, 23, 38, 278, 325, 42]);
    assert.is(ds.itemIds[0], 0); // raw video 0 is a real item: index 1
    const split = leaveOneOut(ds);
    assert.is(split.trainLength.reduce((n, l) => n + l, 0), 117590 - 2 * 1791);
    assert.is(split.validLabel.reduce((n, y) => n + y, 0), 1001);
    assert.is(split.testLabel.reduce((n, y) => n + y, 0), 937);
    // User 0 starts with three impressions sharing one timestamp: file order (videos 0, 1, 2) is kept.
    assert.equal(Array.from(ds.seqItems.subarray(0, 6)), [1, 2, 3, 4, 5, 6]);
  });
}

test.run();
