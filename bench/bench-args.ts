// The command line of every bench script: node's parseArgs over the script's options, plus
// --help. A bad or unknown option prints what is wrong and the options (exit 2) instead of
// parseArgs' raw stack; --help prints the options (exit 0). What each option means is in the
// script's header comment.
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, type ParseArgsConfig } from "node:util";

/**
 * The default --data of the scripts that run on KuaiSAR-R: $FEDFACET_KUAISAR (as the tests read
 * it), else ../shared/data/kuaisar-r beside the package (dist/bench/ -> the package root).
 */
export const KUAISAR_DEFAULT = process.env.FEDFACET_KUAISAR ?? join(resolve(dirname(fileURLToPath(import.meta.url)), "../.."), "../shared/data/kuaisar-r");

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The script's option values (node's parseArgs, strict: no positionals, no unknown option). */
export function benchArgs<T extends Options>(options: T) {
  const script = `dist/bench/${basename(process.argv[1] ?? "bench.js")}`;
  const usage = () =>
    [`usage: node --experimental-wasm-relaxed-simd ${script} [options]`, ...Object.entries(options).map(([name, o]) => `  --${name}${o.type === "string" ? " VALUE" : ""}${o.default !== undefined && !(Array.isArray(o.default) && o.default.length === 0) ? ` (default ${String(o.default) || "\"\""})` : ""}${o.multiple ? " (repeatable)" : ""}`), `  --help`].join("\n");
  let parsed;
  try {
    parsed = parseArgs({ args: process.argv.slice(2), options: { ...options, help: { type: "boolean" } }, strict: true, allowPositionals: false });
  } catch (e) {
    console.error(`${script}: ${(e as Error).message}\n${usage()}`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage());
    process.exit(0);
  }
  return parsed.values as ReturnType<typeof parseArgs<{ options: T }>>["values"];
}

/**
 * For the scripts whose arguments are positional (`script.js [a=1] [b=2]`): each argument in the
 * order of `defaults`, numbers checked where the default is a number. --help prints the usage
 * (exit 0); an option, a non-number or one argument too many prints the problem and the usage
 * (exit 2), instead of running with NaN.
 */
export function benchPositionals<T extends Record<string, number | string>>(defaults: T): T {
  const script = `dist/bench/${basename(process.argv[1] ?? "bench.js")}`;
  const names = Object.keys(defaults);
  const usage = `usage: node --experimental-wasm-relaxed-simd ${script} ${names.map((n) => `[${n}=${String(defaults[n])}]`).join(" ")}`;
  const args = process.argv.slice(2);
  const stop = (msg: string): never => {
    console.error(`${script}: ${msg}\n${usage}`);
    process.exit(2);
  };
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    process.exit(0);
  }
  if (args.length > names.length) stop(`${args.length} arguments, at most ${names.length}`);
  const out: Record<string, number | string> = { ...defaults };
  args.forEach((arg, i) => {
    const name = names[i]!;
    if (arg.startsWith("--")) stop(`'${arg}': this script takes positional arguments`);
    if (typeof defaults[name] === "number") {
      const n = Number(arg);
      if (arg.trim() === "" || !Number.isFinite(n)) stop(`${name} must be a number, got '${arg}'`);
      out[name] = n;
    } else out[name] = arg;
  });
  return out as T;
}
