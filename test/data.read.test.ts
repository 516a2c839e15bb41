// Reading KuaiSAR-style folders: what a well-formed folder becomes, the file-format variations that
// must not matter, and every kind of bad input, each rejected with its file, line and column.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataError, readFolder, type Dataset } from "../src/data/index.js";

type Files = Record<string, string>;

const GOOD: Files = {
  "df.csv": [
    "user_id,video_id,timestamp,is_click",
    "7,0,1685336204570.0,0",
    "7,5,1685336204570.0,1",
    "3,5,1685336204000.0,1",
    "7,9,1685336100000.0,1",
    "3,0,1685336205000.0,0",
    "3,9,1685336205000.0,1",
    "",
  ].join("\n"),
  "user_features.csv": "user_id,age,city\n3,20,4\n7,30,4\n",
  "video_features.csv": "video_id,kind,cat,note\n5,1,-2,x\n0,0,7,y\n9,1,7,z\n",
  "tiny_user_feature_dict.txt": "age\ncity\n",
  "tiny_video_feature_dict.txt": "cat\nkind\n",
};

const dirs: string[] = [];
function folder(files: Files): string {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-data-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function read(files: Files): Dataset {
  return readFolder(folder(files));
}

function sameDataset(a: Dataset, b: Dataset): void {
  assert.equal([a.numUsers, a.numItems, a.userFields, a.itemFields, a.report], [b.numUsers, b.numItems, b.userFields, b.itemFields, b.report]);
  for (const k of ["userIds", "itemIds", "userFeatures", "itemFeatures", "seqStart", "seqItems", "seqLabels", "seqTimes"] as const) {
    assert.equal(Array.from(a[k]), Array.from(b[k]), k);
  }
}

/** Reads `files` with one file replaced and checks the error's location (and message). */
function rejects(change: Files, file: string, line: number, column: number, detail: RegExp): void {
  let err: unknown;
  try {
    read({ ...GOOD, ...change });
  } catch (e) {
    err = e;
  }
  if (!(err instanceof DataError)) return assert.unreachable(`expected a DataError, got ${String(err)}`);
  assert.ok(err.file.endsWith(file), `file ${err.file} should end with ${file}`);
  assert.equal([err.line, err.column], [line, column], err.message);
  assert.match(err.message, detail);
  if (line > 0) assert.match(err.message, `line ${line}`);
  if (column > 0) assert.match(err.message, `column ${column}`);
}

test("a folder becomes the dataset: ids and values remapped with 0 as padding, impressions sorted by time", () => {
  const ds = read(GOOD);
  assert.is(ds.numUsers, 2);
  assert.is(ds.numItems, 3);
  assert.equal(Array.from(ds.userIds), [3, 7]);
  assert.equal(Array.from(ds.itemIds), [0, 5, 9]); // item index i holds raw id itemIds[i-1]: raw 0 is item 1
  // Fields in the order the lists give; codes by ascending raw value; padding counted in the cardinality.
  assert.equal(
    ds.itemFields.map((f) => [f.name, f.cardinality, Array.from(f.values), f.offset]),
    [
      ["cat", 3, [-2, 7], 0],
      ["kind", 3, [0, 1], 3],
    ],
  );
  assert.equal(ds.userFields.map((f) => [f.name, f.cardinality, f.offset]), [["age", 3, 0], ["city", 2, 3]]);
  assert.equal(Array.from(ds.itemFeatures), [0, 0, /* raw 0 */ 2, 1, /* raw 5 */ 1, 2, /* raw 9 */ 2, 2]);
  assert.equal(Array.from(ds.userFeatures), [1, 1, 2, 1]);
  assert.equal(Array.from(ds.seqStart), [0, 3, 6]);
  // User 3: 5@...4000, then the tie 0 and 9 @...5000 in file order. User 7: 9 first, then the tie 0, 5.
  assert.equal(Array.from(ds.seqItems), [2, 1, 3, 3, 1, 2]);
  assert.equal(Array.from(ds.seqLabels), [1, 0, 1, 1, 0, 1]);
  assert.equal(Array.from(ds.seqTimes), [1685336204000, 1685336205000, 1685336205000, 1685336100000, 1685336204570, 1685336204570]);
  assert.equal(ds.report, { rows: 6, shortUsers: 0, shortUserRows: 0, idleUsers: 0, idleItems: 0 });
});

test("CRLF, a BOM, no final newline, ids written as floats, quoted cells and reordered columns change nothing", () => {
  const crlf = (s: string) => s.replace(/\n/g, "\r\n");
  const variant: Files = {
    ...GOOD,
    "df.csv": "\uFEFF" + crlf(GOOD["df.csv"]).trimEnd().replace("7,0,1685", "7.0,0.0,1685"),
    "user_features.csv": crlf("city,user_id,age\n4,3,20\n4,7,30.0"),
    "video_features.csv": 'note,video_id,kind,cat\n"a, ""quoted""\nnote",5,1,-2\n"",0,0,"7"\nz,9,1,7e0\n',
    "tiny_user_feature_dict.txt": "\uFEFF age \r\n\r\ncity\r\n",
  };
  sameDataset(read(variant), read(GOOD));
});

test("columns not listed as fields are ignored, whatever they hold", () => {
  const ds = read({ ...GOOD, "video_features.csv": "video_id,kind,cat,note\n5,1,-2,not a number\n0,0,7,\n9,1,7,1.5\n" });
  sameDataset(ds, read(GOOD));
});

test("users with fewer than 3 impressions are left out and counted; items never shown are kept and counted", () => {
  const ds = read({
    ...GOOD,
    "df.csv": GOOD["df.csv"] + "4,5,1.0,1\n4,9,2.0,0\n",
    "user_features.csv": GOOD["user_features.csv"] + "4,20,4\n8,20,5\n",
    "video_features.csv": GOOD["video_features.csv"] + "11,1,7,w\n",
  });
  assert.equal(Array.from(ds.userIds), [3, 7]);
  assert.is(ds.numItems, 4);
  assert.equal(ds.report, { rows: 8, shortUsers: 1, shortUserRows: 2, idleUsers: 1, idleItems: 1 });
  // Field codes come from every feature row, so city 5 (only user 8's) still has a code.
  assert.equal(Array.from(ds.userFields[1].values), [4, 5]);
});

test("a folder in which no user can be split is rejected", () => {
  rejects({ "df.csv": "user_id,video_id,timestamp,is_click\n" }, "df.csv", 0, 0, /no user has 3 or more impressions \(0 rows\)/);
  rejects({ "df.csv": "user_id,video_id,timestamp,is_click\n3,5,1.0,1\n3,9,2.0,1\n" }, "df.csv", 0, 0, /\(2 rows\)/);
});

test("missing files are named", () => {
  const { ["df.csv"]: _df, ...noDf } = GOOD;
  assert.throws(() => readFolder(folder(noDf)), (e: unknown) => e instanceof DataError && e.file.endsWith("df.csv") && /missing file/.test(e.message));
  const { ["tiny_user_feature_dict.txt"]: _u, ...noList } = GOOD;
  assert.throws(() => readFolder(folder(noList)), (e: unknown) => e instanceof DataError && /no file ends in _user_feature_dict\.txt/.test(e.message));
  assert.throws(
    () => readFolder(folder({ ...GOOD, "b_video_feature_dict.txt": "cat\n" })),
    (e: unknown) => e instanceof DataError && /several files end in _video_feature_dict\.txt/.test(e.message),
  );
  assert.throws(() => readFolder(join(tmpdir(), "fedfacet-no-such-folder")), (e: unknown) => e instanceof DataError && /cannot read this folder/.test(e.message));
});

test("missing columns: in the interactions, and a listed field absent from its table", () => {
  rejects({ "df.csv": "user_id,video_id,timestamp\n7,0,1.0\n" }, "df.csv", 1, 0, /"is_click"\): missing column/);
  rejects({ "tiny_video_feature_dict.txt": "cat\nkind\ncolour\n" }, "video_features.csv", 1, 0, /"colour"\): missing column/);
  rejects({ "user_features.csv": "user_id,age,city,age\n3,20,4,1\n" }, "user_features.csv", 1, 4, /also used by column 2/);
});

test("bad cells are rejected where they are", () => {
  const df = (row: string) => ({ "df.csv": GOOD["df.csv"].replace("3,5,1685336204000.0,1", row) });
  rejects(df("3,5,soon,1"), "df.csv", 4, 3, /"timestamp"\): not a number: "soon"/);
  rejects(df("3,5,,1"), "df.csv", 4, 3, /not a number: ""/);
  rejects(df("3,5.5,1685336204000.0,1"), "df.csv", 4, 2, /"video_id"\): not an integer/);
  rejects(df("3,5,1685336204000.0,2"), "df.csv", 4, 4, /"is_click"\): label must be 0 or 1: "2"/);
  rejects(df("3,5,1685336204000.0,0.5"), "df.csv", 4, 4, /label must be 0 or 1/);
  rejects(df("3,5,1685336204000.0, 1"), "df.csv", 4, 4, /not a number: " 1"/);
  rejects(df("3,5,1e999,1"), "df.csv", 4, 3, /not a finite number/);
  rejects(df("99999999999999999,5,1.0,1"), "df.csv", 4, 1, /not an integer in ±2\^53/);
  rejects({ "user_features.csv": "user_id,age,city\n3,20,4\n7,30.5,4\n" }, "user_features.csv", 3, 2, /"age"\): not an integer in ±2\^53: "30.5"/);
  rejects({ "video_features.csv": "video_id,kind,cat,note\n5,1,-2,x\n0,0,0x7,y\n9,1,7,z\n" }, "video_features.csv", 3, 3, /"cat"\): not a number: "0x7"/);
});

test("ids without a feature row are rejected", () => {
  rejects({ "df.csv": GOOD["df.csv"] + "8,5,1.0,1\n" }, "df.csv", 8, 1, /user_id 8 has no row in .*user_features\.csv/);
  rejects({ "df.csv": GOOD["df.csv"] + "7,6,1.0,1\n" }, "df.csv", 8, 2, /video_id 6 has no row in .*video_features\.csv/);
});

test("duplicate feature rows are rejected, naming both lines", () => {
  rejects({ "user_features.csv": GOOD["user_features.csv"] + "3,21,4\n" }, "user_features.csv", 4, 1, /user_id 3 repeats the row on line 2/);
  rejects({ "video_features.csv": GOOD["video_features.csv"] + "0.0,1,7,q\n" }, "video_features.csv", 5, 1, /video_id 0 repeats the row on line 3/);
});

test("malformed lines are rejected", () => {
  rejects({ "df.csv": GOOD["df.csv"].replace("3,5,1685336204000.0,1", "3,5,1685336204000.0") }, "df.csv", 4, 0, /3 fields, but the header has 4/);
  rejects({ "df.csv": GOOD["df.csv"].replace("3,5,1685336204000.0,1\n", "3,5,1685336204000.0,1\n\n") }, "df.csv", 5, 0, /empty line/);
  rejects({ "user_features.csv": "" }, "user_features.csv", 1, 0, /file is empty/);
  rejects({ "video_features.csv": 'video_id,kind,cat,note\n5,1,-2,"x\n' }, "video_features.csv", 2, 0, /never closed/);
  rejects({ "video_features.csv": 'video_id,kind,cat,note\n5,1,-2,"x"y\n' }, "video_features.csv", 2, 0, /text after a closing quote/);
  // Line numbers stay right after a quoted cell that spans lines.
  rejects({ "video_features.csv": 'video_id,kind,cat,note\n5,1,-2,"two\nlines"\n0,0,x,y\n' }, "video_features.csv", 4, 3, /not a number: "x"/);
});

test("field lists: repeats, emptiness and the id column are rejected", () => {
  rejects({ "tiny_video_feature_dict.txt": "cat\nkind\ncat\n" }, "tiny_video_feature_dict.txt", 3, 0, /field listed twice \(first on line 1\)/);
  rejects({ "tiny_user_feature_dict.txt": "\n  \n" }, "tiny_user_feature_dict.txt", 0, 0, /lists no fields/);
  rejects({ "tiny_user_feature_dict.txt": "age\nuser_id\n" }, "tiny_user_feature_dict.txt", 0, 0, /id column cannot also be a field/);
});

test.run();
