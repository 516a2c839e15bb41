// Which clients take part in a round, and how they are cut into chunks. Both depend only on the
// run seed, the round and the client count: never on the worker count.
import { Rng } from "../util/rng.js";
import { deriveSeed, Stream } from "./seed.js";

/** Clients per round: a fraction of all clients, or a number of them. */
export type Participation = { ratio: number } | { count: number };

/** Participants of round `round` in ascending client id (all of them at ratio 1). */
export function sampleClients(clients: number, p: Participation, seed: number, round: number): Int32Array {
  const m = "ratio" in p ? Math.max(1, Math.round(p.ratio * clients)) : Math.min(p.count, clients);
  const ids = Int32Array.from({ length: clients }, (_, i) => i);
  if (m === clients) return ids;
  // partial Fisher-Yates: the first m slots are a uniform sample without replacement
  const rng = new Rng(deriveSeed(seed, Stream.Sample, round));
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(clients - i);
    const t = ids[i]!;
    ids[i] = ids[j]!;
    ids[j] = t;
  }
  return ids.slice(0, m).sort();
}

/** Consecutive runs of `size` ids (the last one shorter). */
export function chunksOf(ids: Int32Array, size: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let at = 0; at < ids.length; at += size) out.push(ids.slice(at, at + size));
  return out;
}
