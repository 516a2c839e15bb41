// Diagnostics for the boost attack (attack.ts): where its lift comes from and how the attackers'
// updates differ from honest ones. Two modes, a few rounds each:
// - stats: per round, pairwise cosines and touched-row overlaps of the clients' updates restricted
//   to parameter groups (item-field embedding rows, the rest of the shared partition), attackers
//   against honest clients, and the FoolsGold trust each restriction would give;
// - ablate: the attackers' boosted delta is kept only on one parameter group (zero elsewhere), the
//   rule --defence aggregates, and the target's exposure is measured after the rounds;
// - votes: per round, how many shared values have a sign agreement |Σ signs| below ⌈agree·n⌉
//   (what consensus freezes and rlr reverses), per parameter.
//
//   node dist/bench/attack-diagnose.js [--data DIR] [--rounds 3] [--fraction 0.05] [--defence mean]
//        [--mode stats|ablate|votes] [--keep target-rows,item-rows,dense,group,all] [--agree 0.1]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { ParamStore } from "../src/autograd/params.js";
import { readFolder } from "../src/data/folder.js";
import { defaultConfig } from "../src/federated/config.js";
import { FederatedEngine } from "../src/federated/federated-engine.js";
import { regimeSpecs } from "../src/federated/regime.js";
import type { DeltaChunk } from "../src/federated/robust/client-deltas.js";
import { foolsGoldTrust, gramOfRows } from "../src/federated/robust/foolsgold.js";
import type { RuleKind } from "../src/federated/robust/rules.js";
import { deriveSeed } from "../src/federated/seed.js";
import { loadWasmBackend } from "../src/kernels/wasm-backend.js";
import { createModel, schemaOf } from "../src/model/index.js";
import { Rng } from "../src/util/rng.js";
import { pickTarget, writePoisonedFolder } from "./attack-data.js";
import { candidateSet, exposure, modelValues } from "./exposure.js";
import { benchArgs, KUAISAR_DEFAULT } from "./bench-args.js";

const a = benchArgs({
  data: { type: "string", default: KUAISAR_DEFAULT },
  rounds: { type: "string", default: "3" },
  workers: { type: "string", default: "2" },
  fraction: { type: "string", default: "0.05" },
  defence: { type: "string", default: "mean" },
  mode: { type: "string", default: "stats" },
  keep: { type: "string", default: "all,target-rows,item-rows,dense,group" },
  agree: { type: "string", default: "0.1" },
});
const data = resolve(a.data!);
const rounds = Number(a.rounds);
const fraction = Number(a.fraction);
const defence = a.defence as RuleKind;
const real = readFolder(data);
const N = real.numUsers;
const target = pickTarget(real, "second_level_category_name");
const candidates = candidateSet(real, target.items, 100, 1);
const be = await loadWasmBackend();
const attackers = Math.round((fraction * N) / (1 - fraction));

// the shared partition's layout, and the item-field table's rows of the target items' codes
const c0 = defaultConfig("mrff");
const store = new ParamStore(be, regimeSpecs(createModel(c0.model, schemaOf(real)), false), new Rng(1));
const slices = store.names("shared").map((n) => store.slice(n));
store.dispose();
const itemSlice = slices.find((s) => s.name === "item.fields")!;
const dim = c0.model.fieldDim;
const F = real.itemFields.length;
const offsets: number[] = [];
let acc = 0;
for (const f of real.itemFields) {
  offsets.push(acc);
  acc += f.cardinality;
}
const targetRows = new Set<number>();
for (const i of target.items) for (let f = 0; f < F; f++) targetRows.add(offsets[f]! + real.itemFeatures[i * F + f]!);
const catRow = offsets[real.itemFields.findIndex((f) => f.name === target.field)]! + target.code;
console.log(`shared slices: ${slices.map((s) => `${s.name}[${s.start}+${s.size}]`).join(" ")}`);
console.log(`item fields: ${real.itemFields.map((f) => `${f.name}:${f.cardinality}`).join(" ")}; target rows ${[...targetRows].join(",")} (category row ${catRow})`);

type Part = "all" | "none" | "target-rows" | "item-rows" | "dense" | "group" | `slice:${string}`;
/** Whether shared/group coordinate j of a row (length R, shared S) belongs to the part. */
function inPart(p: Part, j: number, S: number): boolean {
  if (p === "all") return true;
  if (p === "none") return false;
  if (p.startsWith("slice:")) {
    const names = p.slice(6).split("+");
    return j < S && slices.some((s) => names.some((n) => s.name.includes(n)) && j >= s.start && j < s.start + s.size);
  }
  if (p === "group") return j >= S;
  if (j >= S) return false;
  const inItems = j >= itemSlice.start && j < itemSlice.start + itemSlice.size;
  if (p === "dense") return !inItems;
  if (p === "item-rows") return inItems;
  return inItems && targetRows.has(Math.floor((j - itemSlice.start) / dim));
}

async function run(keep: Part | null): Promise<void> {
  const c = defaultConfig("mrff");
  c.rounds = rounds;
  c.seed = 1;
  c.bootstrap = 1;
  c.aggregator = { shared: defence, group: defence, trim: 0.1, bound: "median", agree: Number(a.agree) };
  const dir = join(mkdtempSync(join(tmpdir(), "fedfacet-diag-")), "data");
  writePoisonedFolder(data, dir, real, target, { count: attackers, length: 30, seed: deriveSeed(1, 78, attackers) });
  c.data = { kind: "folder", dir };
  let R = 0;
  let S = 0;
  let chunks: DeltaChunk[] = [];
  const hook = (d: DeltaChunk) => {
    d.clients.forEach((id, i) => {
      if (id < N) return;
      const row = d.deltas.subarray(i * R, (i + 1) * R);
      for (let j = 0; j < R; j++) row[j] = keep === null || inPart(keep, j, S) ? row[j]! * 10 : 0;
    });
    if (keep === null) chunks.push({ ...d, deltas: Float32Array.from(d.deltas) });
  };
  const engine = await FederatedEngine.create(c, Number(a.workers), { onDeltas: hook });
  S = engine.params.shared;
  R = S + engine.params.group / c.model.groups;
  try {
    for (let r = 1; r <= rounds; r++) {
      chunks = [];
      await engine.trainRound(r, () => {});
      if (keep === null) stats(r, chunks, R, S);
    }
    const ex = await exposure(be, c.model, real, modelValues(engine), N, candidates, target.items.length);
    console.log(`keep ${keep ?? "all (stats run)"}, defence ${defence}, ${rounds} rounds: exposure ${ex.toFixed(3)}`);
  } finally {
    await engine.close();
    rmSync(dirname(dir), { recursive: true, force: true });
  }
}

const q = (v: number[]) => {
  const s = [...v].sort((x, y) => x - y);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * (s.length - 1)))]!.toFixed(3);
  return `min ${at(0)} q25 ${at(0.25)} med ${at(0.5)} q75 ${at(0.75)} max ${at(1)}`;
};

function stats(round: number, list: DeltaChunk[], R: number, S: number): void {
  const ids: number[] = [];
  const rows: Float32Array[] = [];
  for (const d of list.sort((x, y) => x.chunk - y.chunk)) d.clients.forEach((id, i) => (ids.push(id), rows.push(d.deltas.subarray(i * R, (i + 1) * R))));
  const n = rows.length;
  const isA = ids.map((id) => id >= N);
  const itemLo = itemSlice.start;
  const itemHi = itemSlice.start + itemSlice.size;
  const tableRows = itemSlice.size / dim;
  // which item-table rows each client touched, and how many clients touched each row
  const touched: Uint8Array[] = rows.map((row) => {
    const t = new Uint8Array(tableRows);
    for (let j = itemLo; j < itemHi; j++) if (row[j] !== 0) t[Math.floor((j - itemLo) / dim)] = 1;
    return t;
  });
  const count = new Float64Array(tableRows);
  for (const t of touched) for (let r = 0; r < tableRows; r++) count[r] += t[r]!;
  const honestCat = touched.filter((t, i) => !isA[i] && t[catRow]).length;
  console.log(`\nround ${round}: ${n} clients, ${isA.filter(Boolean).length} attackers; category row touched by ${honestCat} honest; target rows' touch counts ${[...targetRows].map((r) => count[r]).join(",")}`);
  // contested coordinates: the shared values whose clients' signs nearly cancel (|Σ signs| < θ)
  const votes = new Float64Array(S);
  for (const row of rows) for (let j = 0; j < S; j++) votes[j] += Math.sign(row[j]!);
  const contested: number[] = [];
  for (let j = 0; j < S; j++) if (Math.abs(votes[j]!) < Math.ceil(Number(a.agree) * n)) contested.push(j);
  const perSlice = slices.map((s) => `${s.name} ${contested.filter((j) => j >= s.start && j < s.start + s.size).length}/${s.size}`).join(", ");
  console.log(`below θ = ⌈${a.agree}·n⌉: ${contested.length} of ${S} shared values (${perSlice})`);
  if (a.mode === "votes") return;
  const views: [string, (row: Float32Array) => Float32Array][] = [
    ["contested", (row) => Float32Array.from(contested, (j) => row[j]!)],
    ["shared", (row) => row.subarray(0, S)],
    ["item-rows", (row) => row.subarray(itemLo, itemHi)],
    // rarity-weighted: each item-table row scaled by ln(n / clients that touched it)
    ["item-rows idf", (row) => {
      const out = row.slice(itemLo, itemHi);
      for (let j = 0; j < out.length; j++) {
        const c = count[Math.floor(j / dim)]!;
        out[j]! *= c > 0 ? Math.log(n / c) : 0;
      }
      return out;
    }],
    ...slices.filter((s) => s.size >= 32 && s.name !== "item.fields").map((s): [string, (row: Float32Array) => Float32Array] => [s.name, (row) => row.subarray(s.start, s.start + s.size)]),
    ["touched-set", (_row) => new Float32Array(0)],
  ];
  for (const [name, view] of views) {
    let g: Float64Array;
    if (name === "touched-set") {
      g = gramOfRows(be, touched.map((t) => Float32Array.from(t)));
    } else {
      g = gramOfRows(be, rows.map(view));
    }
    const cos = (i: number, j: number) => g[i * n + j]! / Math.sqrt(g[i * n + i]! * g[j * n + j]! || 1);
    const topk = (i: number, k: number) => {
      const c: number[] = [];
      for (let j = 0; j < n; j++) if (j !== i) c.push(cos(i, j));
      c.sort((x, y) => y - x);
      return c.slice(0, k).reduce((s, x) => s + x, 0) / k;
    };
    const k20A: number[] = [];
    const k20H: number[] = [];
    for (let i = 0; i < n; i++) (isA[i] ? k20A : k20H).push(topk(i, 20));
    const maxA: number[] = [];
    const maxH: number[] = [];
    const aa: number[] = [];
    const hh: number[] = [];
    const ah: number[] = [];
    const hrng = new Rng(round);
    for (let i = 0; i < n; i++) {
      let m = -Infinity;
      for (let j = 0; j < n; j++) if (j !== i) m = Math.max(m, cos(i, j));
      (isA[i] ? maxA : maxH).push(m);
    }
    for (let k = 0; k < 20000; k++) {
      const i = hrng.int(n);
      const j = hrng.int(n);
      if (i === j) continue;
      (isA[i] && isA[j] ? aa : !isA[i] && !isA[j] ? hh : ah).push(cos(i, j));
    }
    const trust = name === "touched-set" ? foolsGoldTrust(be, touched.map((t) => Float32Array.from(t))) : foolsGoldTrust(be, rows.map(view));
    const tA = [...trust].filter((_, i) => isA[i]);
    const tH = [...trust].filter((_, i) => !isA[i]);
    console.log(`[${name}] top-20 mean cos A: ${q(k20A)}\n   H: ${q(k20H)}\n   max cos attackers: ${q(maxA)}\n   honest: ${q(maxH)}\n   pair cos A-A ${q(aa)}\n   H-H ${q(hh)}\n   A-H ${q(ah)}\n   trust A: ${q(tA)}  H: ${q(tH)} (honest < 0.5: ${tH.filter((t) => t < 0.5).length})`);
  }
}
if (a.mode === "stats" || a.mode === "votes") {
  await run(null);
} else {
  for (const p of a.keep!.split(",") as Part[]) await run(p);
}
