// The coordinator's round logic without HTTP: selection, closing on enough updates or at the
// deadline with enough, extension with more clients, aggregation in client-id order, late and
// duplicate updates refused, checkpoint and resume, the registry's limits and secrets.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Coordinator, type CoordinatorOptions } from "../src/federated/coordinator/coordinator.js";
import { ApiError } from "../src/federated/coordinator/errors.js";
import { ClientRegistry } from "../src/federated/coordinator/registry.js";
import { decodeFrame, encodeFrame, type WirePartition } from "../src/federated/wire/index.js";
import { deltaArrays, lastSummary, refused, smallConfig, smallSchema, someValues, tempDir, updateFrame, type UpdateValues } from "./coordinator-fixtures.js";

const config = smallConfig();
const schema = smallSchema(config);

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

async function coordinator(dir: string, extra: Partial<CoordinatorOptions> = {}) {
  return Coordinator.create({ config, schema, stateDir: dir, roundDeadlineMs: 10_000, ...extra });
}

/** global + the mean of the given clients' deltas, summed in client-id order in f64 (avg server). */
function expectedShared(start: Float32Array, c: Coordinator, updates: Map<number, UpdateValues>): Float32Array {
  const S = c.shape.sharedSize;
  const ids = [...updates.keys()].sort((a, b) => a - b);
  const ds = ids.map((id) => deltaArrays(c.shape, updates.get(id)!).shared);
  return Float32Array.from({ length: S }, (_, j) => {
    let sum = 0;
    for (const d of ds) sum += d[j]!;
    return (sum + ids.length * start[j]!) * (1 / ids.length);
  });
}

test("a round: selected clients get the task, the round closes at updatesPerRound, aggregated in client-id order", async () => {
  const t = tempDir();
  try {
    const c = await coordinator(t.dir, { minClients: 3, updatesPerRound: 3 });
    const regs = [await c.register(), await c.register()];
    assert.is(c.status().open, false, "fewer than minClients: no round yet");
    regs.push(await c.register(), await c.register());
    assert.equal(regs.map((r) => r.client), [1, 2, 3, 4]);
    assert.equal(regs[0]!.schema, schema);
    assert.is(regs[0]!.config.model.blocks, 2);
    const s0 = c.status();
    assert.equal({ open: s0.open, round: s0.round, selected: s0.clients.selected }, { open: true, round: 0, selected: 3 }, "opened at the third registration with the three registered");
    const start = c.globalValues();
    const task = c.task(1, regs[0]!.token);
    assert.is(task.kind, "task");
    if (task.kind !== "task") return;
    const f = decodeFrame(task.frame);
    assert.is(f.type, "task");
    assert.is(f.round, 0);
    assert.equal(f.partitions.map((p) => [p.name, p.length]), [["shared", c.shape.sharedSize], ["group", start.length - c.shape.sharedSize], ["groupShare", 0], ["meta", 1]]);
    assert.equal([...f.partitions[0]!.values], [...start.subarray(0, c.shape.sharedSize)]);
    const late = c.task(4, regs[3]!.token);
    assert.equal(late, { kind: "wait", retryAfter: 1, finished: false, aggregated: -1 }, "client 4 registered after the round opened");
    // submitted out of id order: the sums still go 1, 2, 3
    const sent = new Map<number, UpdateValues>();
    for (const id of [3, 1, 2]) {
      const v = { ...someValues(id), shared: [1e-3, 3e7, -3e7][id - 1]! };
      sent.set(id, v);
      refused(() => c.submit(4, regs[3]!.token, updateFrame(c.shape, 0, v)), 403, "not-selected");
      const r = c.submit(id, regs[id - 1]!.token, updateFrame(c.shape, 0, v));
      assert.equal(r, { accepted: true, round: 0 });
    }
    const s1 = c.status();
    assert.is(s1.round, 1);
    assert.is(lastSummary(s1).clients, 3);
    assert.is(lastSummary(s1).samples, 6 + 7 + 8);
    assert.ok(Math.abs(lastSummary(s1).loss - (0.61 + 0.62 + 0.63) / 3) < 1e-6);
    const want = expectedShared(start, c, sent);
    assert.equal([...c.globalValues().subarray(0, c.shape.sharedSize)], [...want]);
    // the next round's task carries the routing shares of round 0
    const t1 = c.task(1, regs[0]!.token);
    if (t1.kind !== "task") return assert.unreachable("client 1 is selected in round 1");
    const share = decodeFrame(t1.frame).partitions.find((p) => p.name === "groupShare")!;
    const routes = [...sent.values()].map((v) => v.routes);
    const expected = [0, 1].flatMap((l) => [0, 1, 2].map((k) => routes.filter((r) => r[l] === k).length / 3));
    assert.equal([...share.values], expected.map(Math.fround));
    // a late update for round 0 is refused, not mixed in
    refused(() => c.submit(1, regs[0]!.token, updateFrame(c.shape, 0, someValues(1))), 409, "round-closed");
  } finally {
    t.remove();
  }
});

test("deadline: too few updates extends the round and selects a late joiner; enough closes it", async () => {
  const t = tempDir();
  const clk = clock();
  try {
    const c = await coordinator(t.dir, { minClients: 2, updatesPerRound: 2, now: clk.now });
    const a = await c.register();
    const b = await c.register();
    c.submit(a.client, a.token, updateFrame(c.shape, 0, someValues(0)));
    // b died; c joins late
    const late = await c.register();
    assert.is(c.task(late.client, late.token).kind, "wait");
    clk.advance(10_001);
    c.tick();
    const s = c.status();
    assert.equal({ round: s.round, open: s.open, selected: s.clients.selected, submitted: s.clients.submitted }, { round: 0, open: true, selected: 3, submitted: 1 }, "extended, the late joiner selected");
    assert.is(c.task(late.client, late.token).kind, "task");
    c.submit(late.client, late.token, updateFrame(c.shape, 0, someValues(2)));
    assert.is(c.status().round, 1);
    assert.is(lastSummary(c.status()).extensions, 1);
    // round 1: a has sent, b and c stay silent; at the deadline 1 < 2: extended with nobody new
    c.submit(a.client, a.token, updateFrame(c.shape, 1, someValues(0)));
    clk.advance(10_001);
    c.tick();
    assert.is(c.status().round, 1);
    c.submit(b.client, b.token, updateFrame(c.shape, 1, someValues(1)));
    assert.is(c.status().round, 2, "closed once 2 were in");
    // with enough updates, the deadline closes a round before everybody selected sent theirs
    const t2 = tempDir();
    const c2 = await coordinator(t2.dir, { minClients: 1, now: clk.now });
    const x = await c2.register();
    await c2.register();
    // round 0 opened at the first registration, with x alone; round 1 selects both
    c2.submit(x.client, x.token, updateFrame(c2.shape, 0, someValues(0)));
    c2.submit(x.client, x.token, updateFrame(c2.shape, 1, someValues(0)));
    assert.is(c2.status().round, 1);
    clk.advance(10_001);
    c2.tick();
    assert.equal([c2.status().round, lastSummary(c2.status()).clients, lastSummary(c2.status()).selected], [2, 1, 2]);
    t2.remove();
  } finally {
    t.remove();
  }
});

test("resume: a new coordinator on the state folder continues the round and keeps its clients; mid-round updates are gone", async () => {
  const t = tempDir();
  try {
    const c = await coordinator(t.dir, { minClients: 2 });
    const a = await c.register();
    const b = await c.register();
    c.submit(a.client, a.token, updateFrame(c.shape, 0, someValues(0)));
    c.submit(b.client, b.token, updateFrame(c.shape, 0, someValues(1)));
    const third = await c.register();
    c.submit(a.client, a.token, updateFrame(c.shape, 1, someValues(2)));
    const global = c.globalValues();
    // the coordinator dies with round 1 half done
    const r = await coordinator(t.dir, { minClients: 2 });
    assert.equal([...r.globalValues()], [...global]);
    const s = r.status();
    assert.equal({ round: s.round, registered: s.clients.registered, submitted: s.clients.submitted, last: s.last?.round }, { round: 1, registered: 3, submitted: 0, last: 0 });
    // every client still authenticates (the third registered after the last round checkpoint)
    for (const x of [a, b, third]) assert.is(r.task(x.client, x.token).kind, "task");
    r.submit(a.client, a.token, updateFrame(r.shape, 1, someValues(2)));
    refused(() => r.submit(a.client, a.token, updateFrame(r.shape, 1, someValues(2))), 409, "duplicate");
    // other settings on the same folder are refused, more rounds are not
    const other = { ...config, local: { ...config.local, lr: 0.05 } };
    try {
      await Coordinator.create({ config: other, schema, stateDir: t.dir });
      assert.unreachable("other settings were accepted");
    } catch (e) {
      assert.match(String(e), /other settings \(local\)/);
    }
    const longer = await Coordinator.create({ config: { ...config, rounds: 9 }, schema, stateDir: t.dir });
    assert.is(longer.status().rounds, 9);
  } finally {
    t.remove();
  }
});

test("the last round ends training: tasks answer finished, updates are refused", async () => {
  const t = tempDir();
  try {
    const c = await Coordinator.create({ config: smallConfig(1), schema, stateDir: t.dir });
    const a = await c.register();
    c.submit(a.client, a.token, updateFrame(c.shape, 0, someValues(0)));
    assert.equal(c.status().finished, true);
    assert.equal(c.task(a.client, a.token), { kind: "wait", retryAfter: 1, finished: true, aggregated: 0 });
    refused(() => c.submit(a.client, a.token, updateFrame(c.shape, 1, someValues(0))), 409, "round-closed");
  } finally {
    t.remove();
  }
});

test("fedsasrec (no group partition): updates carry shared, zero routes and meta; an expert or a route is refused", async () => {
  const t = tempDir();
  try {
    const fs = { ...smallConfig(2), regime: "fedsasrec" as const, model: { ...smallConfig().model, kind: "fedsasrec" as const } };
    const c = await Coordinator.create({ config: fs, schema, stateDir: t.dir, minClients: 2 });
    assert.is(c.shape.layout, null);
    const [a, b] = [await c.register(), await c.register()];
    const S = c.shape.sharedSize;
    const frame = (shared: number, routes = [0, 0], extra: WirePartition[] = []) =>
      encodeFrame({
        type: "update",
        round: 0,
        partitions: [
          { name: "shared", encoding: "f32", length: S, values: new Float32Array(S).fill(shared) },
          { name: "routes", encoding: "i32", length: 2, values: Int32Array.from(routes) },
          { name: "meta", encoding: "f32", length: 2, values: Float32Array.of(3, 0.5) },
          ...extra,
        ],
      });
    refused(() => c.submit(a.client, a.token, frame(1, [1, 0])), 400, "bad-partition");
    refused(() => c.submit(a.client, a.token, frame(1, [0, 0], [{ name: "group.0.0", encoding: "f32", length: 1, values: Float32Array.of(1) }])), 400, "bad-partition");
    const start = c.globalValues();
    c.submit(a.client, a.token, frame(0.5));
    c.submit(b.client, b.token, frame(1.5));
    assert.equal(c.globalValues(), Float32Array.from(start, (g) => (2 + 2 * g) * 0.5), "global + the mean delta (1)");
    const task = c.task(a.client, a.token);
    if (task.kind !== "task") return assert.unreachable("round 1 is open");
    assert.equal(decodeFrame(task.frame).partitions.map((p) => [p.name, p.length]), [["shared", S], ["group", 0], ["groupShare", 0], ["meta", 1]]);
  } finally {
    t.remove();
  }
});

test("registry: ids and token hashes only on disk, unknown client and bad token refused, the client limit", async () => {
  const t = tempDir();
  try {
    const c = await coordinator(t.dir, { maxClients: 2 });
    const a = await c.register();
    await c.register();
    try {
      await c.register();
      assert.unreachable("a third client registered");
    } catch (e) {
      assert.is(e instanceof ApiError && `${e.status} ${e.code}`, "503 full");
    }
    const saved = readFileSync(join(t.dir, "clients.json"), "utf8");
    assert.not.ok(saved.includes(a.token), "the token is not stored");
    assert.equal(JSON.parse(saved).clients.map((x: { id: number }) => x.id), [1, 2]);
    assert.match(a.token, /^[0-9a-f]{64}$/);
    refused(() => c.task(3, a.token), 401, "unknown-client");
    refused(() => c.task(2, a.token), 401, "bad-token");
    refused(() => c.task(1, ""), 401, "bad-token");
  } finally {
    t.remove();
  }
});

test("registry: a burst of concurrent registrations: all durable, ids in call order, within the limit; a failed write refuses", async () => {
  const t = tempDir();
  try {
    const path = join(t.dir, "clients.json");
    const reg = new ClientRegistry(path, 150);
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => reg.register()));
    const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    assert.equal(ok.map((r) => r.id), Array.from({ length: 150 }, (_, i) => i + 1), "ids in call order, up to the limit");
    assert.ok(results.slice(150).every((r) => r.status === "rejected" && r.reason instanceof ApiError && r.reason.code === "full"));
    const again = new ClientRegistry(path, 150);
    for (const r of ok) again.authenticate(r.id, r.token);
    assert.is(again.size, 150);
    const lost = new ClientRegistry(join(t.dir, "no-such-folder", "clients.json"), 5);
    try {
      await lost.register();
      assert.unreachable("registered without a registry file");
    } catch (e) {
      assert.match(String(e), /ENOENT/);
    }
    assert.is(lost.size, 0);
    assert.throws(() => lost.authenticate(1, "00"), /no client 1/);
  } finally {
    t.remove();
  }
});

test.run();
