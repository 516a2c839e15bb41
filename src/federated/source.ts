// Where the data comes from, described so that a worker thread can load its own copy (a path or
// generator options travel to it; a Dataset does not), and the parameter layout of a regime.
import type { ParamSpec } from "../autograd/params.js";
import type { Dataset } from "../data/dataset.js";
import { readFolder } from "../data/folder.js";
import { syntheticDataset, type SyntheticOptions } from "../data/synthetic.js";
import type { Recommender } from "../model/types.js";

export type DataSource = { kind: "folder"; dir: string } | { kind: "synthetic"; options: Partial<SyntheticOptions> };

export function loadData(src: DataSource): Dataset {
  return src.kind === "folder" ? readFolder(src.dir) : syntheticDataset(src.options);
}

/** The parameter layout of a regime: as the model declares it, or all private (local training). */
export function regimeSpecs(model: Recommender, allPrivate: boolean): ParamSpec[] {
  return allPrivate ? model.specs.map((s) => ({ ...s, partition: "private" })) : model.specs;
}
