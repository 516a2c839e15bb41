// Bad input by hand, without HTTP: every malformed or unwelcome update gets its 4xx code, and the
// round's state (status, global values, accepted updates, files in the state folder) stays as it
// was; a valid update is still taken afterwards. A round that fails while it is applied halts the
// coordinator, and a restart resumes from the checkpoint before it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Coordinator } from "../src/federated/coordinator/coordinator.js";
import { ApiError } from "../src/federated/coordinator/errors.js";
import type { WirePartition } from "../src/federated/wire/index.js";
import { encodeFrame } from "../src/federated/wire/index.js";
import { forge, lastSummary, refused, smallConfig, smallSchema, someValues, tableEnd, tempDir, updateFrame, updatePartitions } from "./coordinator-fixtures.js";

const config = smallConfig();

test("every malformed update: its 4xx, and nothing changes", async () => {
  const t = tempDir();
  try {
    const c = await Coordinator.create({ config, schema: smallSchema(config), stateDir: t.dir, minClients: 3 });
    const [a, b, third] = [await c.register(), await c.register(), await c.register()];
    const extra = await c.register(); // registered after the round opened: not selected
    c.submit(b.client, b.token, updateFrame(c.shape, 0, someValues(1)));
    const snapshot = () =>
      JSON.stringify(c.status()) + Buffer.from(c.globalValues().buffer).toString("base64") + readFileSync(join(t.dir, "coordinator.ffck")).toString("base64") + readFileSync(join(t.dir, "clients.json"), "utf8");
    const before = snapshot();
    const v = someValues(0);
    const good = updateFrame(c.shape, 0, v);
    const parts = () => updatePartitions(c.shape, v);
    const withParts = (edit: (p: WirePartition[]) => WirePartition[]) => encodeFrame({ type: "update", round: 0, partitions: edit(parts()) });
    const replace = (name: string, p: Partial<WirePartition>) => withParts((ps) => ps.map((x) => (x.name === name ? { ...x, ...p } : x)));
    const S = c.shape.sharedSize;
    const cases: [string, Uint8Array, number, string | RegExp][] = [
      ["empty body", new Uint8Array(0), 400, "truncated"],
      ["truncated frame", good.subarray(0, good.length - 9), 400, /^(truncated|bad-crc)$/],
      ["oversized frame", new Uint8Array(c.maxUpdateBytes + 1), 413, "too-large"],
      ["bad CRC", forge(good, () => {}).map((x, i) => (i === 40 ? x ^ 1 : x)), 400, "bad-crc"],
      ["bad magic", forge(good, (bytes) => (bytes[0] = 0x58)), 400, "bad-magic"],
      ["wrong version", forge(good, (_, view) => view.setUint16(4, 2, true)), 400, "bad-version"],
      ["unknown message type", forge(good, (bytes) => (bytes[6] = 200)), 400, "bad-type"],
      ["a task frame", encodeFrame({ type: "task", round: 0, partitions: parts() }), 400, "bad-type"],
      ["shared too short", replace("shared", { length: S - 1, values: new Float32Array(S - 1) }), 400, "bad-shape"],
      ["shared as i32", replace("shared", { encoding: "i32", values: new Int32Array(S) }), 400, "bad-partition"],
      ["expert of the wrong size", replace(`group.0.${v.routes[0]}`, { length: 3, values: new Float32Array(3) }), 400, "bad-shape"],
      ["routes too long", replace("routes", { length: 3, values: Int32Array.of(0, 0, 0) }), 400, "bad-shape"],
      ["route out of range", replace("routes", { values: Int32Array.of(7, v.routes[1]!) }), 400, "bad-partition"],
      ["negative route", replace("routes", { values: Int32Array.of(-1, v.routes[1]!) }), 400, "bad-partition"],
      ["expert not the routed one", replace("routes", { values: Int32Array.of((v.routes[0]! + 1) % 3, v.routes[1]!) }), 400, "bad-partition"],
      ["meta too long", replace("meta", { length: 3, values: Float32Array.of(1, 1, 1) }), 400, "bad-shape"],
      ["negative samples", replace("meta", { values: Float32Array.of(-1, 0.5) }), 400, "bad-partition"],
      ["unknown partition", withParts((ps) => [...ps, { name: "private", encoding: "f32", length: 1, values: Float32Array.of(1) }]), 400, "bad-partition"],
      ["expert of a block the model lacks", withParts((ps) => [...ps, { name: "group.2.0", encoding: "f32", length: 1, values: Float32Array.of(1) }]), 400, "bad-partition"],
      ["non-canonical expert name", withParts((ps) => ps.map((x) => (x.name === `group.0.${v.routes[0]}` ? { ...x, name: `group.00.${v.routes[0]}` } : x))), 400, "bad-partition"],
      ["two experts for one block", withParts((ps) => [...ps, { name: `group.1.${(v.routes[1]! + 1) % 3}`, encoding: "f32", length: 1, values: Float32Array.of(1) }]), 400, "bad-partition"],
      ["missing meta", withParts((ps) => ps.filter((x) => x.name !== "meta")), 400, "bad-partition"],
      ["missing expert", withParts((ps) => ps.filter((x) => !x.name.startsWith("group.1."))), 400, "bad-partition"],
      // the encoder refuses non-finite values: write them into the payloads (shared comes first, meta last)
      ["NaN in shared", forge(good, (_, view) => view.setFloat32(Math.ceil(tableEnd(c.shape, v) / 4) * 4 + 8, NaN, true)), 400, "non-finite"],
      ["Infinity in meta", forge(good, (bytes, view) => view.setFloat32(bytes.length - 8, Infinity, true)), 400, "non-finite"],
      ["a round that is not open", updateFrame(c.shape, 1, v), 409, "round-closed"],
      ["an old round", forge(good, (_, view) => view.setUint32(8, 0xffffffff, true)), 409, "round-closed"],
    ];
    const check = (what: string, f: () => unknown, status: number, code: string | RegExp) => {
      try {
        f();
        assert.unreachable(`${what}: accepted`);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        assert.is(e.status, status, `${what}: ${e.code} ${e.message}`);
        if (typeof code === "string") assert.is(e.code, code, `${what}: ${e.message}`);
        else assert.match(e.code, code, what);
        assert.ok(e.message.length > 0, `${what}: a message`);
      }
      assert.is(snapshot(), before, `${what} changed the state`);
    };
    for (const [what, body, status, code] of cases) check(what, () => c.submit(a.client, a.token, body), status, code);
    check("duplicate", () => c.submit(b.client, b.token, updateFrame(c.shape, 0, someValues(5))), 409, "duplicate");
    check("not selected", () => c.submit(extra.client, extra.token, good), 403, "not-selected");
    check("unknown client", () => c.submit(99, a.token, good), 401, "unknown-client");
    check("bad token", () => c.submit(a.client, b.token, good), 401, "bad-token");
    // and the round still takes a good update, and closes with the ones it accepted
    assert.equal(c.submit(a.client, a.token, good), { accepted: true, round: 0 });
    c.submit(third.client, third.token, updateFrame(c.shape, 0, someValues(2)));
    assert.equal([c.status().round, lastSummary(c.status()).clients], [1, 3]);
  } finally {
    t.remove();
  }
});

test("a round that fails while it is applied halts the coordinator; a restart resumes from the round before", async () => {
  const t = tempDir();
  try {
    const file = join(t.dir, "coordinator.ffck");
    const halts: string[] = [];
    const c = await Coordinator.create({ config, schema: smallSchema(config), stateDir: t.dir, minClients: 2, onHalt: (why) => halts.push(why) });
    const [a, b] = [await c.register(), await c.register()];
    const before = c.globalValues();
    c.submit(a.client, a.token, updateFrame(c.shape, 0, someValues(1)));
    // the checkpoint cannot be renamed into place (a non-empty folder is in the way, which even root cannot replace)
    renameSync(file, `${file}.saved`);
    mkdirSync(file);
    writeFileSync(join(file, "x"), "");
    const halted = (f: () => unknown, what: string) => assert.match(refused(f, 503, "halted").message, /round 0 failed while it was applied/, what);
    halted(() => c.submit(b.client, b.token, updateFrame(c.shape, 0, someValues(2))), "the update that closes the round");
    assert.is(halts.length, 1);
    assert.match(halts[0]!, /round 0 failed while it was applied .*restart/);
    assert.match(c.status().halted!, /round 0 failed/);
    assert.is(c.status().open, false);
    halted(() => c.task(a.client, a.token), "a task");
    halted(() => c.submit(a.client, a.token, updateFrame(c.shape, 1, someValues(3))), "an update");
    try {
      await c.register();
      assert.unreachable("registered");
    } catch (e) {
      assert.is((e as ApiError).code, "halted");
    }
    c.tick(); // the clock finds nothing to do
    assert.is(halts.length, 1, "halts once");
    rmSync(file, { recursive: true });
    renameSync(`${file}.saved`, file);
    const again = await Coordinator.create({ config, schema: smallSchema(config), stateDir: t.dir, minClients: 2 });
    assert.is(again.status().round, 0);
    assert.is(again.status().halted, undefined);
    assert.equal(again.globalValues(), before, "the global values of the checkpoint before the failed round");
    // the round runs again with the same clients and closes
    again.submit(a.client, a.token, updateFrame(again.shape, 0, someValues(1)));
    again.submit(b.client, b.token, updateFrame(again.shape, 0, someValues(2)));
    assert.equal([again.status().round, lastSummary(again.status()).clients], [1, 2]);
  } finally {
    t.remove();
  }
});

test.run();
