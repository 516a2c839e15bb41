// The reference model's partition sizes and expert layout on a data folder's fields (KuaiSAR-R in
// the load benchmarks), as an update must match them.
import { ParamStore } from "../src/autograd/params.js";
import { groupLayout, type GroupLayout } from "../src/federated/aggregate.js";
import { schemaOfSource } from "../src/federated/source.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { createModel, DEFAULT_CONFIG, schemaOf } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";

export interface ModelShape {
  shared: number;
  group: number;
  layout: GroupLayout;
  /** Values in one update: the shared partition and one expert per block (the first group's size). */
  updateValues: number;
}

export async function referenceShape(dataDir: string): Promise<ModelShape> {
  const be = await loadWasmBackend();
  const model = createModel(DEFAULT_CONFIG, schemaOf(schemaOfSource({ kind: "folder", dir: dataDir })));
  const store = new ParamStore(be, model.specs, new Rng(1));
  const layout = groupLayout(model, store)!;
  const shared = store.buffer("shared").size;
  const group = store.buffer("group").size;
  store.dispose();
  let updateValues = shared;
  for (let l = 0; l < layout.blocks; l++) updateValues += layout.size[l * layout.groups]!;
  return { shared, group, layout, updateValues };
}
