// Aggregation of a round: shared values are the mean over participants, group expert (l, k) the mean
// over the participants routed to k at block l (an expert nobody chose keeps its value), weighting
// by sample counts when asked, and sums that do not depend on the order chunks arrive in.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { constantInit } from "../src/autograd/init.js";
import { ParamStore, type ParamSpec } from "../src/autograd/params.js";
import { Aggregator, ChunkSums, groupLayout, type ChunkResult, type GroupLayout } from "../src/federated/aggregate.js";
import { SERVER_DEFAULTS, ServerOptimizer } from "../src/federated/server-opt.js";
import type { Recommender } from "../src/model/types.js";
import { Rng } from "../src/util/rng.js";
import { wasmBackends } from "./helpers.js";

const L = 2;
const K = 3;
const EXPERT = 5; // a size that is not a multiple of 4: the layout has alignment gaps

/** Just what groupLayout reads of a model. */
function fakeModel(): Recommender {
  return { config: { blocks: L, groups: K }, groupParam: (l: number, k: number) => `g${l}.${k}` } as unknown as Recommender;
}

function specs(extraGroup = false): ParamSpec[] {
  const experts = Array.from({ length: L * K }, (_, j): ParamSpec => ({ name: `g${Math.floor(j / K)}.${j % K}`, partition: "group", shape: [EXPERT], init: constantInit(0) }));
  return [
    { name: "emb", partition: "shared", shape: [3, 2], init: constantInit(0) },
    { name: "mlp", partition: "shared", shape: [7], init: constantInit(0) },
    ...experts,
    ...(extraGroup ? [{ name: "stray", partition: "group" as const, shape: [2], init: constantInit(0) }] : []),
    { name: "user", partition: "private", shape: [4], init: constantInit(0) },
  ];
}

interface Client {
  shared: number[];
  experts: number[][]; // [l·K + k] → values (only the routed ones matter)
  routes: number[];
  samples: number;
}

function randomClients(n: number, rng: Rng, S: number): Client[] {
  return Array.from({ length: n }, () => ({
    shared: Array.from({ length: S }, () => rng.normal()),
    experts: Array.from({ length: L * K }, () => Array.from({ length: EXPERT }, () => rng.normal())),
    // group 2 of block 1 is never chosen
    routes: [rng.int(K), rng.int(K - 1)],
    samples: 1 + rng.int(20),
  }));
}

async function setup() {
  const [be] = await wasmBackends();
  const store = new ParamStore(be!, specs(), new Rng(1));
  const layout = groupLayout(fakeModel(), store)!;
  return { be: be!, store, layout };
}

/** Writes a client's trained values into the store as LocalTrainer would leave them. */
function load(store: ParamStore, layout: GroupLayout, c: Client): void {
  const f = store.be.f;
  const sh = store.buffer("shared");
  const gr = store.buffer("group");
  f.fill(0, sh.values, sh.values + sh.size);
  store.names("shared").forEach((name) => {
    const s = store.slice(name);
    for (let j = 0; j < s.size; j++) f[sh.values + s.start + j] = c.shared[(name === "emb" ? 0 : 6) + j]!;
  });
  for (let cell = 0; cell < L * K; cell++) f.set(c.experts[cell]!, gr.values + layout.start[cell]!);
}

function runChunks(store: ParamStore, layout: GroupLayout, clients: Client[], chunk: number, weighted: boolean): ChunkResult[] {
  const sums = new ChunkSums(store, layout);
  const out: ChunkResult[] = [];
  for (let at = 0, i = 0; at < clients.length; at += chunk, i++) {
    sums.clear();
    for (const c of clients.slice(at, at + chunk)) {
      load(store, layout, c);
      sums.add(weighted ? c.samples : 1, c.routes, 0.5, c.samples, 0);
    }
    out.push(sums.result(i));
  }
  sums.dispose();
  return out;
}

test("groupLayout finds every expert and rejects a group parameter that is none", async () => {
  const { be, layout } = await setup();
  assert.is(layout.blocks, L);
  assert.is(layout.groups, K);
  for (let cell = 0; cell < L * K; cell++) {
    assert.is(layout.size[cell], EXPERT);
    assert.is(layout.start[cell]! % 4, 0);
  }
  const stray = new ParamStore(be, specs(true), new Rng(1));
  assert.throws(() => groupLayout(fakeModel(), stray), /no expert: stray/);
  const noGroups = new ParamStore(be, specs().filter((s) => s.partition !== "group"), new Rng(1));
  assert.is(groupLayout(fakeModel(), noGroups), null);
});

for (const weighted of [false, true]) {
  test(`means: shared over all, expert (l, k) over the clients routed to it, unchosen kept (${weighted ? "weighted by samples" : "uniform"})`, async () => {
    const { store, layout } = await setup();
    const S = store.buffer("shared").size;
    const G = store.buffer("group").size;
    const clients = randomClients(11, new Rng(7), 13);
    const agg = new Aggregator(S, G, layout);
    const results = runChunks(store, layout, clients, 4, weighted);
    for (const r of results) agg.add(r);
    const global = new Float32Array(S + G).fill(42);
    const totals = agg.finish(global, results.length, new ServerOptimizer(S + G, SERVER_DEFAULTS));
    const w = (c: Client) => (weighted ? c.samples : 1);
    const W = clients.reduce((s, c) => s + w(c), 0);
    const mean = (vals: (c: Client) => number, who: Client[], total: number) => who.reduce((s, c) => s + w(c) * vals(c), 0) / total;
    // shared: "emb" (6 values) then "mlp" (7) at its aligned start
    const at = (name: string) => store.slice(name).start;
    for (let j = 0; j < 6; j++) assert.ok(Math.abs(global[at("emb") + j]! - mean((c) => c.shared[j]!, clients, W)) < 1e-5, `emb[${j}]`);
    for (let j = 0; j < 7; j++) assert.ok(Math.abs(global[at("mlp") + j]! - mean((c) => c.shared[6 + j]!, clients, W)) < 1e-5, `mlp[${j}]`);
    for (let l = 0; l < L; l++) {
      for (let k = 0; k < K; k++) {
        const cell = l * K + k;
        const routed = clients.filter((c) => c.routes[l] === k);
        const from = S + layout.start[cell]!;
        for (let j = 0; j < EXPERT; j++) {
          const got = global[from + j]!;
          if (routed.length === 0) assert.is(got, 42, `unchosen expert (${l}, ${k}) keeps its value`);
          else assert.ok(Math.abs(got - mean((c) => c.experts[cell]![j]!, routed, routed.reduce((s, c) => s + w(c), 0))) < 1e-5, `expert (${l}, ${k})[${j}]`);
        }
        assert.ok(Math.abs(totals.groupShare[cell]! - routed.length / clients.length) < 1e-12, `share (${l}, ${k})`);
      }
    }
    assert.is(totals.clients, clients.length);
    assert.is(totals.samples, clients.reduce((s, c) => s + c.samples, 0));
    assert.ok(Math.abs(totals.loss - 0.5) < 1e-12);
    // the private partition never reaches the aggregator
    assert.is(global.length, S + G);
  });
}

test("the result does not depend on the order chunks arrive in, bit for bit", async () => {
  const { store, layout } = await setup();
  const S = store.buffer("shared").size;
  const G = store.buffer("group").size;
  const clients = randomClients(37, new Rng(3), 13);
  const results = runChunks(store, layout, clients, 5, false);
  const finish = (order: number[]) => {
    const agg = new Aggregator(S, G, layout);
    for (const i of order) agg.add(results[i]!);
    const g = new Float32Array(S + G);
    agg.finish(g, results.length, new ServerOptimizer(S + G, SERVER_DEFAULTS));
    return g;
  };
  const inOrder = finish(results.map((_, i) => i));
  const rng = new Rng(9);
  for (let trial = 0; trial < 5; trial++) {
    const order = results.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    assert.equal(Array.from(finish(order)), Array.from(inOrder), `order ${order.join(",")}`);
  }
});

test("finish refuses a round with a missing chunk; a chunk cannot arrive twice", async () => {
  const { store, layout } = await setup();
  const S = store.buffer("shared").size;
  const G = store.buffer("group").size;
  const results = runChunks(store, layout, randomClients(9, new Rng(5), 13), 3, false);
  const agg = new Aggregator(S, G, layout);
  agg.add(results[0]!);
  agg.add(results[2]!);
  assert.throws(() => agg.add(results[2]!), /arrived twice/);
  assert.throws(() => agg.finish(new Float32Array(S + G), 3, new ServerOptimizer(S + G, SERVER_DEFAULTS)), /1 of 3 chunks folded \(1 waiting\)/);
});

test("Aggregator.add returns what it folded, held-back chunks too; ChunkSums writes later chunks into those arrays, as into fresh ones", async () => {
  const { be, store, layout } = await setup();
  const S = store.buffer("shared").size;
  const G = store.buffer("group").size;
  const clients = randomClients(23, new Rng(13), 13);
  // touched averaging too: its counters must start from zero in reused arrays
  const globalAt = be.alloc(S);
  be.f.fill(0, globalAt, globalAt + S);
  const chunkOf = (sums: ChunkSums, i: number) => {
    sums.clear();
    for (const c of clients.slice(4 * i, 4 * i + 4)) {
      load(store, layout, c);
      sums.add(c.samples, c.routes, 0.5, c.samples, 0, false, globalAt);
    }
    return sums.result(i);
  };
  const chunks = Math.ceil(clients.length / 4);
  const freshSums = new ChunkSums(store, layout);
  const fresh = Array.from({ length: chunks }, (_, i) => chunkOf(freshSums, i));
  assert.is(new Set(fresh.map((r) => r.sums)).size, chunks, "without recycling, every chunk has arrays of its own");
  const copy = (r: ChunkResult) => [r.sums, r.groupWeight, r.routeCount, r.touched!].map((a) => Array.from(a));
  const want = fresh.map(copy);
  const finish = (agg: Aggregator) => {
    const g = new Float32Array(S + G).fill(1);
    agg.finish(g, chunks, new ServerOptimizer(S + G, SERVER_DEFAULTS));
    return Array.from(g);
  };
  const plain = new Aggregator(S, G, layout);
  for (const r of fresh) plain.add(r);

  // chunk 1 is made (and arrives) before chunk 0: it is held back, then folded with chunk 0
  const sums = new ChunkSums(store, layout);
  const agg = new Aggregator(S, G, layout);
  const seen = new Set<Float32Array>();
  for (const i of [1, 0, ...Array.from({ length: chunks - 2 }, (_, j) => j + 2)]) {
    const r = chunkOf(sums, i);
    seen.add(r.sums);
    assert.equal(copy(r), want[i], `chunk ${i} in ${seen.size} distinct arrays`);
    const folded = agg.add(r);
    assert.equal(folded.map((f) => f.chunk), i === 1 ? [] : i === 0 ? [0, 1] : [i]);
    for (const f of folded) sums.recycle(f);
  }
  assert.is(seen.size, 2, "two sets of arrays: one held back while the next chunk was made");
  assert.equal(finish(agg), finish(plain));
  assert.throws(() => sums.recycle({ ...fresh[0]!, sums: new Float32Array(S + G + 1) }), new RegExp(`recycled arrays of ${S + G + 1} sums`));
  for (const s of [sums, freshSums]) s.dispose();
  be.free(globalAt);
});

test("FedAdam: the first step moves each value by lr·Δ/(|Δ| + eps) towards the average; unchosen experts stay", async () => {
  const { store, layout } = await setup();
  const S = store.buffer("shared").size;
  const G = store.buffer("group").size;
  const clients = randomClients(10, new Rng(11), 13);
  const results = runChunks(store, layout, clients, 4, false);
  const opts = { ...SERVER_DEFAULTS, optimizer: "adam" as const, lr: 0.05 };
  const run = (server: ServerOptimizer, start: Float32Array) => {
    const agg = new Aggregator(S, G, layout);
    for (const r of results) agg.add(r);
    const g = Float32Array.from(start);
    agg.finish(g, results.length, server);
    return g;
  };
  const start = new Float32Array(S + G).map((_, j) => Math.sin(j));
  const averages = run(new ServerOptimizer(S + G, SERVER_DEFAULTS), start);
  const server = new ServerOptimizer(S + G, opts);
  const once = run(server, start);
  const unchosen = S + layout.start[1 * K + 2]!;
  for (let j = 0; j < S + G; j++) {
    if (j >= unchosen && j < unchosen + EXPERT) {
      assert.is(once[j], start[j], "an expert nobody chose does not move");
      continue;
    }
    const delta = averages[j]! - start[j]!;
    // bias-corrected first step: m̂ = Δ, √v̂ = |Δ|
    const want = start[j]! + opts.lr * (delta / (Math.abs(delta) + opts.eps));
    assert.ok(Math.abs(once[j]! - want) < 1e-6, `value ${j}: ${once[j]} vs ${want}`);
  }
  // the state carries over: a restored copy takes the same second step
  const copy = new ServerOptimizer(S + G, opts);
  const st = server.save();
  copy.restore({ m: st.m.slice(), v: st.v.slice(), steps: st.steps.slice() });
  assert.equal(Array.from(run(copy, once)), Array.from(run(server, once)));
});

test("a route outside the groups is an error naming the block", async () => {
  const { store, layout } = await setup();
  const sums = new ChunkSums(store, layout);
  sums.clear();
  assert.throws(() => sums.add(1, [0, K], 0, 1, 0), /route 3 at block 1/);
  sums.dispose();
});

test.run();
