// The device a browser tab runs (the page the coordinator serves at GET /, page.ts): the synthetic
// data of the coordinator's run for the user the page's query names (?user=ID), private state in
// IndexedDB (or memory with ?store=memory), a DP noise floor with ?dp-min-noise=Z (noise-floor.ts),
// one line per event on the page. window.__fedfacet
// shows progress to whoever drives the tab (the browser test).
import { FederatedClient, syntheticData, type ClientEvent, type ClientSummary } from "./client.js";
import { IndexedDbStateStore } from "./indexeddb-store.js";
import { MemoryStateStore } from "./state.js";

export interface PageProgress {
  events: ClientEvent[];
  summary: ClientSummary | null;
  error: string | null;
  done: boolean;
}

/** Runs the device the query describes (user, rounds, store) against the page's origin. */
export async function runBrowserDevice(query: URLSearchParams, log: (line: string) => void): Promise<PageProgress> {
  const progress: PageProgress = { events: [], summary: null, error: null, done: false };
  (globalThis as { __fedfacet?: PageProgress }).__fedfacet = progress;
  try {
    const user = Number(query.get("user") ?? "");
    if (!(query.get("user") && Number.isInteger(user))) throw new Error("the page needs ?user=<id> (an integer user id of the run's synthetic data)");
    const rounds = query.get("rounds");
    const minNoise = query.get("dp-min-noise");
    if (minNoise !== null && !(Number(minNoise) > 0 && Number.isFinite(Number(minNoise)))) throw new Error(`dp-min-noise must be a positive number, got '${minNoise}'`);
    const server = globalThis.location.origin;
    const client = new FederatedClient({
      server,
      user,
      data: syntheticData,
      store: query.get("store") === "memory" ? new MemoryStateStore() : new IndexedDbStateStore(`${server}/user/${user}`),
      maxRounds: rounds === null ? undefined : Number(rounds),
      minNoise: minNoise === null ? undefined : Number(minNoise),
      label: "browser",
      onEvent: (e) => {
        progress.events.push(e);
        log(JSON.stringify(e));
      },
    });
    progress.summary = await client.run();
    log(`done: ${JSON.stringify(progress.summary)}`);
  } catch (e) {
    progress.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    log(`failed: ${progress.error}`);
  }
  progress.done = true;
  return progress;
}
