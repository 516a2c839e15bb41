// Minimal logs (issue 5): after a few rounds over HTTP with known update values (a restart and a
// refused update among them), neither the coordinator's state folder nor its log lines hold any
// client's update values, trained values, loss, sample count, routes or registration label; the log
// lines are only of the kinds the README lists (ids, round numbers, sizes, aggregates).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startCoordinator, type ServeOptions } from "../src/federated/coordinator/http.js";
import { deltaArrays, smallConfig, smallSchema, tempDir, updateFrame, updatePartitions, type UpdateValues } from "./coordinator-fixtures.js";
import { encodeFrame } from "../src/federated/wire/index.js";

/** Every line the coordinator logs starts like one of these. */
const LINE_KINDS = [
  /^started in \S+: \d+ rounds, \d+ shared and \d+ group parameters$/,
  /^resumed from \S+ at round \d+ of \d+, \d+ clients registered$/,
  /^listening on http:\/\/127\.0\.0\.1:\d+$/,
  /^client \d+ registered \(\d+ registered\)$/,
  /^round \d+ open: clients [\d,]+ selected of \d+ registered$/,
  /^round \d+: update from client \d+ accepted \(\d+ bytes, \d+ of \d+ selected\)$/,
  /^round \d+ extended \(\d+ of at least \d+ updates\): (clients [\d,]+ selected too|nobody else to select)$/,
  /^round \d+ closed: \d+ updates of \d+ selected, mean loss [\d.]+, \d+ samples, [\d.]+ s$/,
  /^refused (GET|POST) \/v1\/\w+ from client [\d-]+: \d{3} [a-z-]+$/,
  /^training finished: \d+ rounds$/,
];

test("no client's values, losses, sample counts, routes or labels in the state folder or the logs", async () => {
  const t = tempDir();
  const lines: string[] = [];
  const config = smallConfig(3);
  const opts: ServeOptions = { config, schema: smallSchema(config), stateDir: t.dir, minClients: 2, log: (l) => lines.push(l) };
  let s = await startCoordinator(opts);
  const clients: { client: number; token: string; label: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const label = `device-label-${7000 + i}`;
    const r = await fetch(`${s.url}/v1/register`, { method: "POST", body: JSON.stringify({ label }) });
    clients.push({ ...((await r.json()) as { client: number; token: string }), label });
  }
  const auth = (c: (typeof clients)[number]) => ({ "x-fedfacet-client": String(c.client), authorization: `Bearer ${c.token}` });
  const post = async (c: (typeof clients)[number], body: Uint8Array) =>
    (await fetch(`${s.url}/v1/update`, { method: "POST", headers: auth(c), body: new Uint8Array(body) })).status;
  // distinctive values: each client and round its own deltas, loss and sample count
  const sent: { v: UpdateValues; global: Float32Array }[] = [];
  const shape = s.coordinator.shape;
  for (let round = 0; round < 3; round++) {
    if (round === 1) {
      // a refused update whose routes would be a telling number
      const bad = updatePartitions(shape, { shared: 0, expert: 0, routes: [0, 0], samples: 1, loss: 1 }).map((p) => (p.name === "routes" ? { ...p, values: Int32Array.of(987654, 0) } : p));
      assert.is(await post(clients[0]!, encodeFrame({ type: "update", round, partitions: bad })), 400);
    }
    const selected = clients.filter((_, i) => round > 0 || i < 2); // round 0 opened with the first two
    for (const [i, c] of selected.entries()) {
      // offsets 1, 3, 7: no client's delta is the mean of the others' (as a middle one of an
      // arithmetic progression would be, which the aggregate would then rightly hold)
      const v: UpdateValues = { shared: 0.0123457 + 0.0011 * [1, 3, 7][i]! + 0.1 * round, expert: -0.0345679 - 0.0013 * i, routes: [i % 3, (i + round) % 3], samples: 7919 + 104 * i + round, loss: 0.4137519 + 0.0123 * i + 0.01 * round };
      sent.push({ v, global: s.coordinator.globalValues() });
      assert.is(await post(c, updateFrame(shape, round, v)), 200);
    }
    if (round === 1) {
      // the coordinator restarts between rounds
      await s.close();
      s = await startCoordinator(opts);
    }
  }
  assert.is(s.coordinator.status().finished, true);
  await s.close();

  const files = readdirSync(t.dir).sort();
  assert.equal(files, ["clients.json", "coordinator.ffck"], "nothing else in the state folder");
  const state = Buffer.concat(files.map((f) => readFileSync(join(t.dir, f))));
  const text = state.toString("latin1") + "\n" + lines.join("\n");
  const f32Run = (a: Float32Array, from: number) => Buffer.from(a.buffer, a.byteOffset + 4 * from, 16);
  for (const { v, global } of sent) {
    const d = deltaArrays(shape, v);
    // four consecutive values of the delta, or of the values the client trained (global + delta)
    const trained = Float32Array.from(d.shared, (x, j) => global[j]! + x);
    for (const at of [0, 100, d.shared.length - 4]) {
      assert.is(state.indexOf(f32Run(d.shared, at)), -1, "a client's shared delta is stored");
      assert.is(state.indexOf(f32Run(trained, at)), -1, "a client's trained shared values are stored");
    }
    for (const e of d.experts) assert.is(state.indexOf(f32Run(e, 0)), -1, "a client's expert delta is stored");
    for (const n of [v.loss.toPrecision(6), String(v.samples), Buffer.from(Float32Array.of(v.loss).buffer).toString("latin1")]) {
      assert.not.ok(text.includes(n), `a client's loss or sample count (${JSON.stringify(n)}) is stored or logged`);
    }
  }
  for (const c of clients) {
    assert.not.ok(text.includes(c.label), "a registration label is stored or logged");
    assert.not.ok(text.includes(c.token), "a token is stored or logged");
  }
  assert.not.ok(text.includes("987654"), "a refused update's content is logged");
  for (const line of lines) assert.ok(LINE_KINDS.some((k) => k.test(line)), `a log line of an unlisted kind: ${line}`);
  assert.ok(lines.some((l) => l.startsWith("refused POST /v1/update")) && lines.some((l) => l.startsWith("resumed from")), "the run had its refusal and its restart");
  t.remove();
});

test.run();
