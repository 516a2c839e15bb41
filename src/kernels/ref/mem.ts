// What a reference kernel sees: the backend's views (element offsets, as in kernels.ts). The
// references compute in JS doubles and round only when they store into f, so the f64 backend is
// exact enough for finite-difference gradient checks and the f32 backend mirrors WASM storage.
import type { FloatArray } from "../backend.js";

export interface RefMem {
  readonly f: FloatArray;
  readonly i: Int32Array;
  readonly i8: Int8Array;
}
