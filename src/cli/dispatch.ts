// The `fedfacet` command's dispatch to a subcommand (main.ts decides first whether this process
// runs it). Exit codes: 0 success, 1 failure while running, 2 a wrong command line (the message
// names the bad argument).
import { readFileSync } from "node:fs";
import { benchCommand } from "./bench.js";
import { clientCommand } from "./client.js";
import { DataError } from "../data/error.js";
import { ModelConfigError } from "../model/build.js";
import { UsageError, type Command } from "./command.js";
import { evalCommand } from "./eval.js";
import { privacyCommand } from "./privacy.js";
import { serveCommand } from "./serve.js";
import { trainCommand } from "./train.js";

const COMMANDS: Command[] = [trainCommand, evalCommand, serveCommand, clientCommand, benchCommand, privacyCommand];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: fedfacet <command> [options]

Trains and serves MRFF, a multifaceted sequential recommender, on-device with federated learning.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Options:
  -h, --help     show this help (fedfacet <command> --help for a command's options)
  -V, --version  show the version`;
}

function version(): string {
  // dist/src/cli/dispatch.js -> the package root
  return JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")).version;
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    console.error(help());
    return 2;
  }
  if (first === "-h" || first === "--help" || first === "help") {
    console.log(help());
    return 0;
  }
  if (first === "-V" || first === "--version") {
    console.log(version());
    return 0;
  }
  if (first.startsWith("-")) throw new UsageError(`unknown option '${first}'`);
  const cmd = COMMANDS.find((c) => c.name === first);
  if (!cmd) throw new UsageError(`unknown command '${first}' (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
  return cmd.run(rest);
}

/** Runs the command line argv (without node and the script) and sets the process's exit code. */
export function runCli(argv: string[]): Promise<void> {
  return dispatch(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (e instanceof UsageError) {
        console.error(`fedfacet: ${e.message}\nRun 'fedfacet --help' for usage.`);
        process.exitCode = 2;
      } else if (e instanceof DataError || e instanceof ModelConfigError) {
        // bad input, named by the message: a stack would only make it look like a crash
        console.error(`fedfacet: ${e.message}`);
        process.exitCode = 1;
      } else {
        console.error(`fedfacet: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        process.exitCode = 1;
      }
    },
  );
}
