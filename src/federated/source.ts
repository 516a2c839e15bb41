// Where the data comes from. The coordinator loads it once and moves its arrays into shared memory,
// so that worker threads read the same bytes: parsing the CSV files in every worker cost about
// 25 MB of resident memory per worker on KuaiSAR-R (measured), and a copy per worker as much again.
import type { Dataset } from "../data/dataset.js";
import { readFolder, readFolderSchema } from "../data/folder.js";
import { dataSchemaOf, type DataSchema } from "../data/schema.js";
import { syntheticDataset, type SyntheticOptions } from "../data/synthetic.js";

export type DataSource = { kind: "folder"; dir: string } | { kind: "synthetic"; options: Partial<SyntheticOptions> };

export function loadData(src: DataSource): Dataset {
  return src.kind === "folder" ? readFolder(src.dir) : syntheticDataset(src.options);
}

/** The field vocabulary of a source; of a folder, read without its interactions. */
export function schemaOfSource(src: DataSource): DataSchema {
  return src.kind === "folder" ? readFolderSchema(src.dir) : dataSchemaOf(syntheticDataset(src.options));
}

type Typed = Int32Array | Uint8Array | Float64Array;

function shared<T extends Typed>(a: T): T {
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/**
 * The same dataset with its large arrays in SharedArrayBuffers: posting it to a worker shares them
 * instead of copying (the field tables are small and are copied).
 */
export function shareDataset(ds: Dataset): Dataset {
  return {
    ...ds,
    userIds: shared(ds.userIds),
    itemIds: shared(ds.itemIds),
    userFeatures: shared(ds.userFeatures),
    itemFeatures: shared(ds.itemFeatures),
    seqStart: shared(ds.seqStart),
    seqItems: shared(ds.seqItems),
    seqLabels: shared(ds.seqLabels),
    seqTimes: shared(ds.seqTimes),
  };
}
