// `fedfacet serve`'s transport: the Coordinator behind node:http (NET-API.md), nothing more than
// routing, header and body reading with limits, and JSON errors. Node-only.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CLIENT_PAGE, PAGE_ENTRY } from "../net-client/page.js";
import { Coordinator, type CoordinatorOptions } from "./coordinator.js";
import { ApiError } from "./errors.js";
import { PackageFiles } from "./package-files.js";

export interface ServeOptions extends CoordinatorOptions {
  /** 0 (default): any free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Largest request body in bytes (default: the coordinator's largest possible update). */
  maxBody?: number;
  /** A request body must arrive within this long after its headers (default 30 s). */
  bodyTimeoutMs?: number;
  /** The headers must arrive within this long (default 10 s). */
  headersTimeoutMs?: number;
  /** The whole request must arrive within this long (default 120 s). */
  requestTimeoutMs?: number;
}

export interface RunningCoordinator {
  /** e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  coordinator: Coordinator;
  /** Request and response body bytes so far. */
  bytes(): { in: number; out: number };
  close(): Promise<void>;
}

/** A register request is a small JSON object. */
const MAX_JSON_BODY = 4096;
const CLIENT_ID = /^[1-9][0-9]{0,14}$/;
const BEARER = /^Bearer ([0-9a-f]{1,256})$/;

export async function startCoordinator(opts: ServeOptions): Promise<RunningCoordinator> {
  const coordinator = await Coordinator.create(opts);
  // the browser device: its page and exactly the modules it imports (read now: a broken build fails here)
  const pkg = PackageFiles.load(PAGE_ENTRY);
  const log = opts.log ?? (() => {});
  const maxBody = opts.maxBody ?? coordinator.maxUpdateBytes;
  const bodyTimeoutMs = opts.bodyTimeoutMs ?? 30_000;
  const headersTimeout = opts.headersTimeoutMs ?? 10_000;
  const requestTimeout = Math.max(opts.requestTimeoutMs ?? 120_000, headersTimeout);
  const bytes = { in: 0, out: 0 };

  const send = (res: ServerResponse, status: number, body: Uint8Array | string | null, headers: Record<string, string> = {}) => {
    const data = typeof body === "string" ? Buffer.from(body, "utf8") : body;
    res.writeHead(status, { ...headers, "content-length": String(data?.length ?? 0), "cache-control": "no-store" });
    res.end(data ?? undefined);
    bytes.out += data?.length ?? 0;
  };
  const json = (res: ServerResponse, status: number, value: unknown, headers?: Record<string, string>) =>
    send(res, status, JSON.stringify(value), { "content-type": "application/json", ...headers });

  const readBody = (req: IncomingMessage, limit: number): Promise<Uint8Array> =>
    new Promise((resolve, reject) => {
      const declared = req.headers["content-length"];
      if (declared !== undefined && Number(declared) > limit) {
        reject(new ApiError(413, "too-large", `the body of ${declared} bytes exceeds the limit of ${limit}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (e: ApiError | null) => {
        clearTimeout(timer);
        req.removeAllListeners("data");
        if (e) reject(e);
        else {
          // a plain Uint8Array view: Buffer's slice() shares memory where Uint8Array's copies
          const all = Buffer.concat(chunks, size);
          resolve(new Uint8Array(all.buffer, all.byteOffset, all.length));
        }
      };
      // a client that sends headers and then trickles (or stops) must not hold the connection
      const timer = setTimeout(() => done(new ApiError(408, "timeout", `the body did not arrive within ${bodyTimeoutMs} ms`)), bodyTimeoutMs);
      req.on("data", (c: Buffer) => {
        size += c.length;
        bytes.in += c.length;
        if (size > limit) done(new ApiError(413, "too-large", `the body exceeds the limit of ${limit} bytes`));
        else chunks.push(c);
      });
      req.on("end", () => done(null));
      req.on("error", () => done(new ApiError(400, "aborted", "the request was aborted")));
    });

  /** The client id and token of a request, as given in its headers (checked by the registry later). */
  const credentials = (req: IncomingMessage): { id: number; token: string } => {
    const id = req.headers["x-fedfacet-client"];
    if (typeof id !== "string" || !CLIENT_ID.test(id)) throw new ApiError(401, "unknown-client", "header x-fedfacet-client must hold a registered client id");
    const auth = BEARER.exec(req.headers.authorization ?? "");
    if (!auth) throw new ApiError(401, "bad-token", "header authorization must be 'Bearer <token>' (hex)");
    const client = Number(id);
    coordinator.authenticate(client, auth[1]!);
    return { id: client, token: auth[1]! };
  };

  const routes: Record<string, Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void> | void>> = {
    "/v1/register": {
      POST: async (req, res) => {
        const text = Buffer.from(await readBody(req, MAX_JSON_BODY)).toString("utf8");
        let body: unknown;
        try {
          body = text.trim() === "" ? {} : JSON.parse(text);
        } catch {
          throw new ApiError(400, "bad-json", "the body must be a JSON object");
        }
        if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(400, "bad-json", "the body must be a JSON object");
        const label = (body as { label?: unknown }).label;
        // the label is only for the client's own bookkeeping: the coordinator neither keeps nor logs it
        if (label !== undefined && !(typeof label === "string" && label.length <= 200)) throw new ApiError(400, "bad-json", "'label' must be a string of at most 200 characters");
        json(res, 200, await coordinator.register());
      },
    },
    "/v1/task": {
      GET: (req, res) => {
        const { id, token } = credentials(req);
        const t = coordinator.task(id, token);
        const aggregated = { "x-fedfacet-aggregated": String(t.aggregated) };
        if (t.kind === "task") send(res, 200, t.frame, { "content-type": "application/octet-stream", "x-fedfacet-round": String(t.round), ...aggregated });
        else send(res, 204, null, { "retry-after": String(t.retryAfter), ...aggregated, ...(t.finished ? { "x-fedfacet-finished": "1" } : {}) });
      },
    },
    "/v1/update": {
      POST: async (req, res) => {
        const { id, token } = credentials(req);
        const body = await readBody(req, maxBody);
        json(res, 200, coordinator.submit(id, token, body));
      },
    },
    // secure rounds (README "Secure aggregation over the network"): POST a phase's message, GET the
    // coordinator's answer to it once the phase has closed (204 + retry-after until then)
    ...Object.fromEntries(
      (["keys", "shares", "masked", "unmask"] as const).map((kind) => [
        `/v1/secagg/${kind}`,
        {
          POST: async (req: IncomingMessage, res: ServerResponse) => {
            const { id, token } = credentials(req);
            const body = await readBody(req, coordinator.secureBodyLimit(kind));
            json(res, 200, coordinator.secureMessage(id, token, kind, body));
          },
          ...(kind === "masked"
            ? {}
            : {
                GET: (req: IncomingMessage, res: ServerResponse) => {
                  const { id, token } = credentials(req);
                  const p = coordinator.secureFetch(id, token, kind);
                  if (p.ready) send(res, 200, p.body, { "content-type": "application/json" });
                  else send(res, 204, null, { "retry-after": String(p.retryAfter) });
                },
              }),
        },
      ]),
    ),
    "/v1/status": {
      // traffic counts the updates, so DP runs leave it out with the rest of who and how many took part
      GET: (_req, res) => {
        const status = coordinator.status();
        json(res, 200, status.privacy ? status : { ...status, bytes: { ...bytes } });
      },
    },
    "/": {
      GET: (_req, res) => send(res, 200, CLIENT_PAGE, { "content-type": "text/html; charset=utf-8" }),
    },
  };
  const pkgRoute: (typeof routes)[string] = {
    GET: (req, res) => {
      const path = (req.url ?? "").split("?")[0]!.slice("/pkg/".length);
      const file = pkg.get(path);
      if (!file) throw new ApiError(404, "not-found", `/pkg/ serves the browser device's modules only, not '${path}'`);
      send(res, 200, file, { "content-type": "text/javascript; charset=utf-8" });
    },
  };

  const server = createServer(
    { headersTimeout, requestTimeout, keepAliveTimeout: 5000, connectionsCheckingInterval: Math.max(50, Math.min(1000, headersTimeout / 4)) },
    (req, res) => {
      const path = (req.url ?? "/").split("?")[0]!;
      const route = routes[path] ?? (path.startsWith("/pkg/") ? pkgRoute : undefined);
      const handler = route?.[req.method ?? ""];
      Promise.resolve()
        .then(() => {
          if (!route) throw new ApiError(404, "not-found", `no ${path} here`);
          if (!handler) throw new ApiError(405, "method-not-allowed", `${path} takes ${Object.keys(route).join(", ")}`);
          return handler(req, res);
        })
        .catch((e: unknown) => {
          const err = e instanceof ApiError ? e : new ApiError(500, "internal", "the coordinator failed on this request");
          if (!(e instanceof ApiError)) log(`error on ${req.method} ${path}: ${e instanceof Error ? e.message : String(e)}`);
          // only the code and the client id: a message may quote what the client sent
          log(`refused ${req.method} ${path} from client ${req.headers["x-fedfacet-client"] ?? "-"}: ${err.status} ${err.code}`);
          if (res.headersSent || req.socket.destroyed) return;
          // the rest of an unread body is not worth keeping: discard what arrives (closing on unread
          // bytes would reset the connection, which can destroy the answer before the client reads
          // it) and close the connection after the answer
          const close: Record<string, string> = req.complete ? {} : { connection: "close" };
          if (!req.complete) req.resume();
          json(res, err.status, { error: err.code, message: err.message }, close);
        });
    },
  );
  const tick = setInterval(() => {
    try {
      coordinator.tick();
    } catch (e) {
      log(`error on the round clock: ${e instanceof Error ? e.message : String(e)}`);
    }
  }, Math.max(20, Math.min(1000, (opts.roundDeadlineMs ?? 60_000) / 4)));
  tick.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  log(`listening on http://${host}:${addr.port}`);
  return {
    url: `http://${host}:${addr.port}`,
    coordinator,
    bytes: () => ({ ...bytes }),
    close: async () => {
      clearInterval(tick);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      // an unmasking in flight lands (and checkpoints) before the coordinator counts as stopped
      await coordinator.settled();
    },
  };
}
