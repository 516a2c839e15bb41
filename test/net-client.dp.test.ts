// Devices against a DP coordinator over loopback HTTP: the registration tells them the clip bound
// and σ, they clip before encoding (the coordinator would refuse an over-clip update with 400), and
// the run spends the accountant's ε; a device's noise floor (--dp-min-noise) takes the run's σ at
// the boundary and refuses, before training, a σ below it or a run without DP.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig, type TrainConfig } from "../src/federated/config.js";
import type { CoordinatorStatus } from "../src/federated/coordinator/coordinator.js";
import { startCoordinator } from "../src/federated/coordinator/http.js";
import { accountedNoise } from "../src/federated/dp-config.js";
import { ClientError, FederatedClient, type ClientEvent } from "../src/federated/net-client/client.js";
import { MemoryStateStore } from "../src/federated/net-client/state.js";
import { abortableSleep } from "../src/federated/net-client/transport.js";
import { loadData, schemaOfSource } from "../src/federated/source.js";
import { RdpAccountant } from "../src/privacy/accountant.js";

function tinyRun(rounds: number, dp: TrainConfig["dp"]): TrainConfig {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  c.rounds = rounds;
  c.dp = dp;
  return c;
}

/** A coordinator of `config` for the test `f`, stopped and its state folder removed afterwards. */
async function withCoordinator(config: TrainConfig, minClients: number, f: (url: string, status: () => CoordinatorStatus) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-netdp-"));
  const running = await startCoordinator({ config, schema: schemaOfSource(config.data), stateDir: dir, roundDeadlineMs: 30_000, minClients });
  try {
    await f(running.url, () => running.coordinator.status());
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("devices clip to the coordinator's bound; every update is accepted and ε is the accountant's; a floor at the run's σ is met", async () => {
  // C far below a trained update's norm (about lr·√(parameters touched)): every device must clip
  const c = tinyRun(2, { epsilon: 100, delta: 1e-5, clip: 0.05, noise: "central", noiseMultiplier: 1 });
  await withCoordinator(c, 3, async (url, status) => {
    const ds = loadData(c.data);
    const summaries = await Promise.all(
      [0, 4, 9].map((user) =>
        new FederatedClient({
          server: url,
          user,
          data: ds,
          store: new MemoryStateStore(),
          hooks: { sleep: (ms, signal) => abortableSleep(Math.min(ms, 20), signal) },
          retry: { baseDelayMs: 10, maxDelayMs: 50 },
          // the boundary: the run's σ is exactly the floor
          minNoise: 1,
        }).run(),
      ),
    );
    for (const s of summaries) assert.equal({ finished: s.finished, accepted: s.accepted }, { finished: true, accepted: [0, 1] });
    const ref = new RdpAccountant();
    ref.step(1, accountedNoise(1, true), 2);
    assert.is(status().privacy!.epsilon, ref.epsilon(1e-5).epsilon);
  });
});

/** One device with floor `minNoise` against `url`: its error and events. */
async function floored(url: string, config: TrainConfig, minNoise: number): Promise<{ error: unknown; events: ClientEvent[] }> {
  const events: ClientEvent[] = [];
  const d = new FederatedClient({ server: url, user: 3, data: loadData(config.data), minNoise, onEvent: (e) => events.push(e), hooks: { sleep: (ms, signal) => abortableSleep(Math.min(ms, 20), signal) } });
  try {
    await d.run();
    return { error: null, events };
  } catch (e) {
    return { error: e, events };
  }
}

test("a device whose floor is above the run's σ, or that finds no DP at all, stops before training with an error naming the values", async () => {
  const dp = tinyRun(1, { epsilon: 100, delta: 1e-5, clip: 0.05, noise: "central", noiseMultiplier: 1 });
  await withCoordinator(dp, 1, async (url, status) => {
    const { error, events } = await floored(url, dp, 1.5);
    assert.ok(error instanceof ClientError, String(error));
    assert.is((error as Error).message, "round 0: the coordinator's DP run announces noise multiplier 1, below this device's minimum 1.5");
    assert.equal(events.map((e) => e.kind), ["registered"], "nothing trained or sent");
    // the coordinator got nothing: its one selected client's update would have closed the round
    // (a DP run's status shows no counts)
    assert.equal([status().round, status().open], [0, true]);
  });
  const plain = tinyRun(1, undefined);
  await withCoordinator(plain, 1, async (url) => {
    const { error, events } = await floored(url, plain, 0.5);
    assert.ok(error instanceof ClientError, String(error));
    assert.match((error as Error).message, /^round 0: the coordinator's run has no differential privacy, so this device's update would leave un-noised; its minimum noise multiplier is 0.5$/);
    assert.equal(events.map((e) => e.kind), ["registered"]);
  });
});

test.run();
