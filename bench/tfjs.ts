// Loads TensorFlow.js with its wasm backend (XNNPACK) for the comparison column. It is a
// devDependency, imported dynamically so that the benchmark still runs, without that column,
// where it is not installed.
import * as nodeModule from "node:module";
import { dirname } from "node:path";

export type Tf = typeof import("@tensorflow/tfjs-core");

export interface TfjsRuntime {
  tf: Tf;
  /** e.g. "4.22.0 (wasm, SIMD)" */
  description: string;
  /** Why gradients are unavailable (then only forward passes are compared), or null. */
  noGradients: string | null;
}

export type TfjsLoad = { ok: true; runtime: TfjsRuntime } | { ok: false; reason: string };

export async function loadTfjs(): Promise<TfjsLoad> {
  let tf: Tf;
  let wasm: typeof import("@tensorflow/tfjs-backend-wasm");
  try {
    tf = await import("@tensorflow/tfjs-core");
    wasm = await import("@tensorflow/tfjs-backend-wasm");
  } catch (e) {
    return { ok: false, reason: `TensorFlow.js is not installed (${(e as Error).message.split("\n")[0]})` };
  }
  // In Node the backend reads its .wasm files from disk; it picks the SIMD build itself when the
  // runtime supports it. Its multithread check fails in Node 20, so it runs on one thread, as
  // our kernels do.
  const entry = nodeModule.createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
  wasm.setWasmPaths(dirname(entry) + "/");
  if (!(await tf.setBackend("wasm"))) return { ok: false, reason: "TensorFlow.js wasm backend failed to initialise" };
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const description = `${tf.version_core} (wasm, ${simd ? "SIMD" : "no SIMD"})`;
  return { ok: true, runtime: { tf, description, noGradients: await registerGradients() } };
}

/** Registers tfjs-core's gradient functions (see tfjs-gradients-hooks.ts); returns why not, or null. */
async function registerGradients(): Promise<string | null> {
  // module.register arrived in Node 20.6
  if (typeof nodeModule.register !== "function") return "TensorFlow.js gradients need Node ≥ 20.6 (module.register)";
  try {
    nodeModule.register(new URL("./tfjs-gradients-hooks.js", import.meta.url));
    await import("@tensorflow/tfjs-core/dist/register_all_gradients.js");
    return null;
  } catch (e) {
    return `TensorFlow.js gradients could not be registered (${(e as Error).message.split("\n")[0]})`;
  }
}
