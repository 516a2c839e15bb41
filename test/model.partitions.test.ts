// The parameter partitions are METHOD.md's: shared = item fields, positions, attention and its
// LayerNorms, gates, final LayerNorm, prediction MLP (and the click vectors); group = the K experts
// of every block, one slice each; private = user fields and user experts. FedSASRec: one shared FFN
// per block, no group experts, user fields private.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ffnParamSize } from "../src/kernels/kernels.js";
import { RefBackend } from "../src/kernels/ref-backend.js";
import { ParamStore, type Partition } from "../src/autograd/params.js";
import { countParams, createModel, DEFAULT_CONFIG, ModelConfigError } from "../src/model/build.js";
import type { ModelConfig, Schema } from "../src/model/types.js";
import { Rng } from "../src/util/rng.js";

const schema: Schema = { itemCardinalities: [4, 5, 6], userCardinalities: [3, 4] };
const config: ModelConfig = { ...DEFAULT_CONFIG, maxlen: 6, fieldDim: 2, groups: 3, clickInput: true };

function names(c: ModelConfig): Record<Partition, string[]> {
  const ps = new ParamStore(new RefBackend("f64"), createModel(c, schema).specs, new Rng(1));
  return { shared: ps.names("shared"), group: ps.names("group"), private: ps.names("private") };
}

test("mrff: parameters by partition", () => {
  const block = (l: number) => [`block${l}.attn.ln`, `block${l}.attn.attn`, `block${l}.ffn.ln`, `block${l}.gate.w`, `block${l}.gate.b`];
  assert.equal(names(config), {
    shared: ["item.fields", "click", "position", ...block(0), ...block(1), "final.ln", "mlp.0.w", "mlp.0.b", "mlp.out.w", "mlp.out.b"],
    group: ["block0.group0", "block0.group1", "block0.group2", "block1.group0", "block1.group1", "block1.group2"],
    private: ["block0.user", "block1.user", "user.fields"],
  });
  assert.not.ok(names({ ...config, clickInput: false }).shared.includes("click"));
});

test("mrff: groupParam names one fused FFN slice per (block, group)", () => {
  const model = createModel(config, schema);
  const d = 3 * config.fieldDim;
  const specs = new Map(model.specs.map((s) => [s.name, s]));
  for (let l = 0; l < config.blocks; l++) {
    for (let k = 0; k < config.groups; k++) {
      const s = specs.get(model.groupParam(l, k))!;
      assert.is(s.partition, "group");
      assert.equal([...s.shape], [ffnParamSize(d, d)]);
    }
  }
  assert.throws(() => model.groupParam(config.blocks, 0), /no group expert/);
  assert.throws(() => model.groupParam(0, config.groups), /no group expert/);
});

test("mrff: the K group experts of a block start distinct", () => {
  const model = createModel(config, schema);
  const ps = new ParamStore(new RefBackend("f64"), model.specs, new Rng(3));
  for (let l = 0; l < config.blocks; l++) {
    const values = Array.from({ length: config.groups }, (_, k) => {
      const t = ps.get(model.groupParam(l, k));
      return Array.from(ps.be.f.subarray(t.offset, t.offset + t.size));
    });
    for (let a = 0; a < values.length; a++) {
      for (let b = a + 1; b < values.length; b++) assert.ok(values[a]!.some((v, j) => v !== values[b]![j]), `experts ${a} and ${b} of block ${l} are equal`);
    }
  }
});

test("fedsasrec: one shared FFN per block, no gate, no group experts, user fields private", () => {
  const block = (l: number) => [`block${l}.attn.ln`, `block${l}.attn.attn`, `block${l}.ffn.ln`, `block${l}.ffn`];
  const c: ModelConfig = { ...config, kind: "fedsasrec", clickInput: false };
  assert.equal(names(c), {
    shared: ["item.fields", "position", ...block(0), ...block(1), "final.ln", "mlp.0.w", "mlp.0.b", "mlp.out.w", "mlp.out.b"],
    group: [],
    private: ["user.fields"],
  });
  assert.throws(() => createModel(c, schema).groupParam(0, 0), /no group experts/);
});

test("default configuration: METHOD.md's reference sizes and parameter counts on KuaiSAR-R's fields", () => {
  // the cardinalities (padding included) of KuaiSAR-R's 6 item and 4 user fields, as readFolder gives them
  const kuaisar: Schema = { itemCardinalities: [3, 23, 38, 278, 325, 42], userCardinalities: [9, 4, 8, 5] };
  const model = createModel(DEFAULT_CONFIG, kuaisar);
  assert.is(model.d, 48);
  assert.is(model.du, 32);
  const attention = 4 * 48 * 48 + 4 * 48;
  const ffn = 2 * 48 * 48 + 2 * 48;
  const perBlockShared = 2 * 96 + attention + (80 * 4 + 4);
  const mlp = 128 * 32 + 32 + 32 + 1;
  assert.equal(countParams(model.specs), {
    shared: 709 * 8 + 65 * 48 + 2 * perBlockShared + 96 + mlp,
    group: 2 * 4 * ffn,
    private: 26 * 8 + 2 * ffn,
  });
});

test("createModel rejects bad configurations", () => {
  assert.throws(() => createModel({ ...config, groups: 0 }, schema), /groups/);
  assert.throws(() => createModel({ ...config, dropout: 1 }, schema), /dropout/);
  assert.throws(() => createModel({ ...config, heads: 4 }, schema), (e: unknown) => e instanceof ModelConfigError && /heads must divide the item vector's width d = 3 item fields × field dim 2 = 6, got 4/.test((e as Error).message));
  assert.throws(() => createModel({ ...config, mlp: [0] }, schema), /mlp/);
  assert.throws(() => createModel(config, { itemCardinalities: [], userCardinalities: [2] }), /item field/);
});

test.run();

test("mrff: userExpertInit zero starts each user expert's second layer at 0, the first as fan-in", () => {
  const d = 3 * config.fieldDim;
  const first = d * d + d;
  const slice = (c: ModelConfig, name: string) => {
    const ps = new ParamStore(new RefBackend("f64"), createModel(c, schema).specs, new Rng(5));
    const t = ps.get(name);
    return Array.from(ps.be.f.subarray(t.offset, t.offset + t.size));
  };
  for (const l of [0, 1]) {
    const zero = slice({ ...config, userExpertInit: "zero" }, `block${l}.user`);
    const fanIn = slice(config, `block${l}.user`);
    assert.is(zero.length, ffnParamSize(d, d));
    assert.ok(zero.slice(first).every((v) => v === 0), "second layer not zero");
    assert.ok(zero.slice(0, first).some((v) => v !== 0), "first layer zero too");
    assert.ok(zero.slice(0, first).every((v) => Math.abs(v) <= 1 / Math.sqrt(d)), "first layer outside ±1/√d");
    assert.ok(fanIn.slice(first).some((v) => v !== 0), "default second layer zero");
  }
  assert.throws(() => createModel({ ...config, userExpertInit: "ones" as "zero" }, schema), /userExpertInit must be fan-in or zero, got 'ones'/);
});
