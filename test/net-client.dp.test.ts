// Devices against a DP coordinator over loopback HTTP: the registration tells them the clip bound,
// they clip before encoding (the coordinator would refuse an over-clip update with 400), and the
// run spends the accountant's ε.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultConfig } from "../src/federated/config.js";
import { startCoordinator } from "../src/federated/coordinator/http.js";
import { accountedNoise } from "../src/federated/dp-config.js";
import { FederatedClient } from "../src/federated/net-client/client.js";
import { MemoryStateStore } from "../src/federated/net-client/state.js";
import { abortableSleep } from "../src/federated/net-client/transport.js";
import { loadData, schemaOfSource } from "../src/federated/source.js";
import { RdpAccountant } from "../src/privacy/accountant.js";

test("devices clip to the coordinator's bound; every update is accepted and ε is the accountant's", async () => {
  const c = defaultConfig("mrff");
  c.data = { kind: "synthetic", options: { users: 12, items: 120, maxHistory: 30 } };
  c.model = { ...c.model, maxlen: 8, fieldDim: 2, groups: 2, mlp: [8] };
  c.rounds = 2;
  // C far below a trained update's norm (about lr·√(parameters touched)): every device must clip
  c.dp = { epsilon: 100, delta: 1e-5, clip: 0.05, noise: "central", noiseMultiplier: 1 };
  const dir = mkdtempSync(join(tmpdir(), "fedfacet-netdp-"));
  const running = await startCoordinator({ config: c, schema: schemaOfSource(c.data), stateDir: dir, roundDeadlineMs: 30_000, minClients: 3 });
  try {
    const ds = loadData(c.data);
    const summaries = await Promise.all(
      [0, 4, 9].map((user) =>
        new FederatedClient({
          server: running.url,
          user,
          data: ds,
          store: new MemoryStateStore(),
          hooks: { sleep: (ms, signal) => abortableSleep(Math.min(ms, 20), signal) },
          retry: { baseDelayMs: 10, maxDelayMs: 50 },
        }).run(),
      ),
    );
    for (const s of summaries) assert.equal({ finished: s.finished, accepted: s.accepted }, { finished: true, accepted: [0, 1] });
    const ref = new RdpAccountant();
    ref.step(1, accountedNoise(1, true), 2);
    assert.is(running.coordinator.status().privacy!.epsilon, ref.epsilon(1e-5).epsilon);
  } finally {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
