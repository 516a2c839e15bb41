// Learning-rate schedules over rounds: a multiplier of the configured step size that depends only on
// the round index (1-based), so a resumed run recomputes it and continues exactly. Why: one fresh
// Adam step per round moves every weight by about ±lr whatever its gradient's size, so at a
// constant lr the federated model keeps jittering around its optimum; shrinking lr over the rounds
// lets it settle (and a central model's epochs alike).
//
// Every schedule goes from 1 at round 1 to `final` at round `span` and stays at `final` after it:
// - "constant": always 1;
// - "cosine": final + (1 − final)·(1 + cos(π·t))/2, t = (round − 1)/(span − 1) (half a cosine);
// - "exp": final^t, a geometric decay (the same factor every round).

export type LrScheduleKind = "constant" | "cosine" | "exp";
export const LR_SCHEDULES: readonly LrScheduleKind[] = ["constant", "cosine", "exp"];

export interface LrSchedule {
  kind: LrScheduleKind;
  /** The multiplier reached at round `span`, in (0, 1]. */
  final: number;
  /** The round at which the multiplier reaches `final` (>= 1; 1: `final` from the start). */
  span: number;
}

export const CONSTANT_LR: Readonly<LrSchedule> = Object.freeze({ kind: "constant", final: 1, span: 1 });

/** Throws a RangeError naming the first field that is out of range. */
export function checkLrSchedule(s: LrSchedule): void {
  if (!LR_SCHEDULES.includes(s.kind)) throw new RangeError(`lr schedule must be one of ${LR_SCHEDULES.join(", ")}, got '${s.kind}'`);
  if (!(s.final > 0 && s.final <= 1)) throw new RangeError(`lr schedule final must be in (0, 1], got ${s.final}`);
  if (!(Number.isInteger(s.span) && s.span >= 1)) throw new RangeError(`lr schedule span must be an integer >= 1, got ${s.span}`);
}

/** The multiplier of the step size in `round` (1-based); 1 without a schedule. */
export function lrMultiplier(s: LrSchedule | undefined, round: number): number {
  if (!(Number.isInteger(round) && round >= 1)) throw new RangeError(`lrMultiplier: round must be an integer >= 1, got ${round}`);
  if (s === undefined || s.kind === "constant") return 1;
  const t = s.span > 1 ? Math.min(1, (round - 1) / (s.span - 1)) : 1;
  if (s.kind === "cosine") return s.final + ((1 - s.final) * (1 + Math.cos(Math.PI * t))) / 2;
  if (s.kind === "exp") return s.final ** t;
  throw new RangeError(`lr schedule must be one of ${LR_SCHEDULES.join(", ")}, got '${s.kind}'`);
}
