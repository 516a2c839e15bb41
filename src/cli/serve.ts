// `fedfacet serve`: the federated coordinator over HTTP (NET-API.md) until Ctrl-C or SIGTERM.
// Every event goes to stdout as one timestamped line (ids, round numbers, sizes, aggregates only).
import { resolve } from "node:path";
import { startCoordinator } from "../federated/coordinator/http.js";
import { schemaOfSource } from "../federated/source.js";
import { UsageError, type Command } from "./command.js";
import { int } from "./train-options.js";
import { parseServeArgs, SECAGG_BOUND, seconds, secureOptions, serveConfig } from "./serve-options.js";

const HELP = `Usage: fedfacet serve --state DIR [options]

Runs the federated coordinator: clients register, fetch each round's task and send their updates
over HTTP; the global model is checkpointed in --state after every round and a restarted
coordinator continues from there (its clients too).

Service:
  --state DIR            checkpoint and client registry (created; resumed when it holds a run)
  --data-spec SPEC       what the model is built for: a KuaiSAR-style folder (only its field lists
                         and feature tables are read) or synthetic[:name=value,...] with the
                         synthetic generator's options, lists as a/b/c (default synthetic)
  --port P               (default 8765; 0: any free port)
  --host H               (default 127.0.0.1)
  --max-clients M        registrations beyond M are refused with 503 (default 10000)
  --max-body BYTES       largest request (default: twice a raw f32 update of the model)
  --body-timeout S       a request body must arrive within S seconds (default 30)
  --headers-timeout S    request headers must arrive within S seconds (default 10)

Rounds:
  --rounds N             (default 30)
  --clients-per-round C  clients selected per round (default: every registered client)
  --updates-per-round U  close a round once U updates are in (default: all selected);
                         U below C is over-selection, so that stragglers do not stall a round
  --min-clients N        open the first round once N clients are registered; at the deadline,
                         close with at least N updates, else wait longer and select more (default 1)
  --round-deadline S     seconds a round waits for updates (default 60); in a secure round,
                         each of its four phases waits this long
  --client-ratio Q       or select each registered client with probability Q (with --dp-epsilon:
                         the accountant's Poisson sampling rate, default 1)

Differential privacy (user-level DP-FedAvg; README "Differential privacy"):
  --dp-epsilon E         privacy budget: the noise is calibrated so that --rounds rounds spend at
                         most E; epsilon spent is logged each round and shown in GET /v1/status,
                         and the run finishes before a round that would exceed E
  --dp-delta D           the budget's delta (required with --dp-epsilon; well below 1/clients)
  --dp-clip C            L2 bound of one client's update, which devices clip to (and, without
                         secure aggregation, the coordinator enforces: 400 over-clip) (default 18)
  --dp-noise central     the coordinator adds N(0, (sigma C)^2) to the round's sum (the default
                         without --secure-aggregation). Rounds close at the deadline with what
                         they have (no extension), divided by the expected cohort Q x registered
  --dp-noise local       each device adds N(0, (sigma C)^2 / T) to its padded update before it is
                         quantised and masked, T the round's (majority) threshold, so the sum of
                         any T or more carries at least sigma C and the coordinator sees only that
                         noised sum; it then tops the noise up to sqrt(2) sigma C, so that the
                         release does not reveal how many took part. Needs --secure-aggregation
                         (and is its default there): a plain update carries only the chosen
                         experts. Loss and samples are withheld; a round that aborts or whose
                         cohort is below 3 is skipped (nothing applied) and still counted in
                         epsilon. GET /v1/status then shows no client ids or counts

Secure aggregation (the coordinator learns only each round's sum; README "Secure aggregation"):
  --secure-aggregation   clients clip, quantise and mask their update; weighting becomes uniform.
                         With --dp-epsilon: distributed DP (--dp-noise local); --dp-noise central,
                         --secagg-bound and --secagg-threshold are refused
  --secagg-threshold T   fewest clients a round may finish with (default: a majority of those
                         selected, at least 2); fewer aborts the attempt, nothing is applied, the
                         round re-runs. Not with --dp-epsilon (the majority threshold is what
                         bounds the noise the release is topped up to)
  --secagg-bound B       per-coordinate clipping bound of the deltas (default ${SECAGG_BOUND}; with
                         DP the range is C + 9 x the device's noise std instead)

Robust aggregation (plain rounds; README "Robust aggregation and poisoning"):
  --aggregator A         mean | median | trimmed | normbound | foolsgold | rlr | consensus, or
                         shared=A,group=A per partition (default mean). A round then holds every
                         accepted update until it closes. Refused with --secure-aggregation (the
                         coordinator sees only the sum), --dp-epsilon (the noise is calibrated to
                         the clipped mean), touched averaging and --weighting samples (a device's
                         sample count is its own claim)
  --aggregator-tensors P=A,...
                         a rule for the shared parameter tensors named P or P.* (e.g.
                         mlp.0=consensus); a pattern naming no parameter stops the coordinator
  --trim B               trimmed: fraction cut at each end, in [0, 0.5) (default 0.1)
  --norm-bound C         normbound, foolsgold, rlr, consensus: L2 bound of a device's update, or
                         'median' of the round's norms (default median)
  --agree F              rlr, consensus: the sign agreement a coordinate needs, in (0, 1] (default 0.3)

Training (as for fedfacet train): --model mrff|fedsasrec --seed --local-steps --optimizer --lr
  --weight-decay --server --server-lr --weighting --dropout --maxlen --field-dim --blocks --heads --groups
  --alpha --mlp --gate-weighted --user-expert-init --click-input --gate-clicks
  --preset reference|device  the device preset of fedfacet train; each device starts its user bias
                         and personal table from its own history, as the in-process engine does
  --user-bias --item-bias --personal-bias trained|eval --personal-prior --personal-weight
  --bias-init zero|click-rate --private-opt shared|sgd --private-lr --private-steps
  --averaging all|touched  (touched: refused with --dp-epsilon and --secure-aggregation)
  --history last|all --lr-schedule constant|cosine|exp --lr-final F --lr-span N
  -h, --help             show this help`;

export const serveCommand: Command = {
  name: "serve",
  summary: "run the federated coordinator over HTTP (clients register, train, send updates)",
  async run(args) {
    const a = parseServeArgs(args);
    if (a.help) {
      console.log(HELP);
      return 0;
    }
    if (a.state === undefined) throw new UsageError("--state DIR is required (where the coordinator keeps its checkpoint)");
    const config = serveConfig(a);
    const { secure, minClients } = secureOptions(a, config, int("min-clients", a["min-clients"], 1));
    const schema = schemaOfSource(config.data);
    const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
    // set below once the process can stop; a halt while starting is the start's error (Coordinator.create throws)
    let halt: (reason: string) => void = () => {};
    const running = await startCoordinator({
      config,
      schema,
      stateDir: resolve(a.state),
      port: int("port", a.port, 0) ?? 8765,
      host: a.host ?? "127.0.0.1",
      minClients,
      secure,
      updatesPerRound: int("updates-per-round", a["updates-per-round"], 1),
      roundDeadlineMs: seconds("round-deadline", a["round-deadline"]),
      maxClients: int("max-clients", a["max-clients"], 1),
      maxBody: int("max-body", a["max-body"], 64),
      bodyTimeoutMs: seconds("body-timeout", a["body-timeout"]),
      headersTimeoutMs: seconds("headers-timeout", a["headers-timeout"]),
      log,
      // a halted coordinator refuses everything until restarted: stop, so that a supervisor restarts it
      onHalt: (reason) => halt(reason),
    });
    return await new Promise<number>((done) => {
      const stop = (why: string, code: number) => {
        log(`${why}: stopping (the last round checkpoint stays in ${resolve(a.state!)})`);
        process.off("SIGINT", signal);
        process.off("SIGTERM", signal);
        void running.close().then(() => done(code));
      };
      const signal = (name: string) => stop(name, 0);
      halt = (reason) => stop(`halted (${reason})`, 1);
      process.on("SIGINT", signal);
      process.on("SIGTERM", signal);
    });
  },
};
