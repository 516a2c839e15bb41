// On-device inference: the click probability of each candidate item for one user, given the
// user's recent history. The sequence runs once, over the real history only (a window trimmed of
// its padding computes what the padded one does, see PositionEmbedding), and every candidate is
// then scored by the MLP from the last position's state.
import { selectRows } from "../autograd/ops/embedding.js";
import { sigmoid } from "../autograd/ops/sigmoid.js";
import type { ParamStore } from "../autograd/params.js";
import type { Tape } from "../autograd/tape.js";
import { indexTensor } from "../nn/fill.js";
import { Rng } from "../util/rng.js";
import type { SequenceModel } from "./model.js";

export interface ScoreRequest {
  /** Item indices of the user's impressions, oldest first; the last maxlen are used. */
  history: ArrayLike<number>;
  /** Whether each impression was clicked (1) or not (0), same length (read by the click-input option). */
  clicks: ArrayLike<number>;
  /** The user's field codes, one per user field. */
  userCodes: ArrayLike<number>;
  /** Field codes of every item (Dataset.itemFeatures). */
  itemFeatures: Int32Array;
  /** Item indices to score. */
  candidates: ArrayLike<number>;
}

/**
 * Click probabilities of the candidates, in order. `tape` serves as scratch: whatever it recorded
 * and every tensor in its arena is discarded (use one kept for inference).
 */
export function scoreItems(model: SequenceModel, tape: Tape, ps: ParamStore, req: ScoreRequest): Float64Array {
  const { history, clicks, candidates } = req;
  if (clicks.length !== history.length) throw new RangeError(`scoreItems: ${clicks.length} clicks for ${history.length} history items`);
  if (req.userCodes.length !== model.schema.userCardinalities.length) {
    throw new RangeError(`scoreItems: ${req.userCodes.length} user codes for ${model.schema.userCardinalities.length} user fields`);
  }
  // a user with no history still gets a one-slot window (all padding): its scores rest on e_u
  const count = Math.min(history.length, model.config.maxlen);
  const T = Math.max(count, 1);
  const windows = { batch: 1, maxlen: T, items: new Int32Array(T), clicks: new Float32Array(T), mask: new Float32Array(T) };
  const first = history.length - count;
  for (let j = 0; j < count; j++) {
    windows.items[T - count + j] = history[first + j]!;
    windows.clicks[T - count + j] = clicks[first + j]!;
    windows.mask[T - count + j] = 1;
  }
  const recording = tape.recording;
  tape.reset();
  tape.recording = false;
  try {
    const batch = { windows, users: Int32Array.of(0), itemFeatures: req.itemFeatures, userFeatures: Int32Array.from(req.userCodes) };
    const enc = model.encode(tape, ps, batch, { train: false, rng: new Rng(0) });
    const n = candidates.length;
    const last = tape.view(enc.h, (T - 1) * model.d, [1, model.d]);
    const repeat = indexTensor(tape, [n], () => 0);
    const logits = model.score(tape, ps, selectRows(tape, last, repeat), req.itemFeatures, (j) => candidates[j]!, selectRows(tape, enc.eu, repeat), false);
    const p = sigmoid(tape, logits);
    return Float64Array.from(tape.be.f.subarray(p.offset, p.offset + n));
  } finally {
    tape.recording = recording;
    tape.reset();
  }
}
