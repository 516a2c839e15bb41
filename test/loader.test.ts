// The loader's promises: it says clearly when a runtime lacks SIMD (or the relaxed SIMD that was
// asked for), refuses a module that lacks any kernel of the contract, and accepts the shipped
// .wasm bytes or a precompiled module (the Workers path) in place of the embedded binary.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readF, upload } from "../src/kernels/backend.js";
import { detectSimd, loadWasmBackend } from "../src/kernels/wasm-backend.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

async function withoutSimd<T>(body: () => Promise<T>): Promise<T> {
  const validate = WebAssembly.validate;
  WebAssembly.validate = () => false;
  try {
    return await body();
  } finally {
    WebAssembly.validate = validate;
  }
}

test("a runtime without WebAssembly SIMD gets a message naming what is missing", async () => {
  await withoutSimd(async () => {
    assert.is(detectSimd(), null);
    try {
      await loadWasmBackend();
      assert.unreachable("loading should fail without SIMD");
    } catch (e) {
      assert.match(String(e), /does not support WebAssembly SIMD/);
    }
  });
});

test("asking for relaxed SIMD where the runtime lacks it is refused with the way out", async () => {
  const validate = WebAssembly.validate;
  // SIMD validates, relaxed does not: the relaxed binary is the one that uses relaxed_madd
  const relaxed = readFileSync(`${root}/build/fedfacet-relaxed.wasm`);
  WebAssembly.validate = (bytes: BufferSource) => Buffer.compare(Buffer.from(bytes as Uint8Array), relaxed) !== 0 && validate(bytes);
  try {
    assert.is(detectSimd(), "simd");
    await loadWasmBackend({ simd: "relaxed" }).then(
      () => assert.unreachable("relaxed should be refused"),
      (e) => assert.match(String(e), /relaxed SIMD was requested/),
    );
    assert.is((await loadWasmBackend()).name, "wasm-simd");
  } finally {
    WebAssembly.validate = validate;
  }
});

test("a module that lacks kernels of the contract is refused, naming them", async () => {
  // (module (memory (export "memory") 1)): exports memory and nothing else
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0]);
  await loadWasmBackend({ module: bytes }).then(
    () => assert.unreachable("a foreign module should be refused"),
    (e) => assert.match(String(e), /lacks kernels gemm_ab, gemm_abt, .*dequantize_int8/),
  );
});

test("the shipped .wasm files load from bytes or as a precompiled module (Workers)", async () => {
  const bytes = readFileSync(`${root}/build/fedfacet-simd.wasm`);
  for (const module of [bytes, new WebAssembly.Module(bytes)]) {
    const be = await loadWasmBackend({ module });
    assert.is(be.name, "wasm-simd");
    const x = upload(be, [3, 4]);
    assert.equal(Array.from(readF(be, x, 2)), [3, 4]);
    assert.is(be.l2Norm(x, 2), 5);
  }
});

test.run();
