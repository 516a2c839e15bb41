// A layer of the model: the parameters it declares (name, partition, shape, init) and a forward
// that builds its part of the graph on a tape from a ParamStore holding those parameters. Modules
// keep no state besides their sizes and names, so one ParamStore can hold any number of clients'
// copies and the same module objects serve them all.
import type { ParamSpec } from "../autograd/params.js";

export interface Module {
  readonly specs: readonly ParamSpec[];
}

/** Every parameter of several modules, in order. */
export function specsOf(modules: readonly Module[]): ParamSpec[] {
  return modules.flatMap((m) => m.specs);
}
