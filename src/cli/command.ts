// What every `fedfacet` subcommand provides, and the error that means "the command line is wrong"
// (exit code 2, with a pointer to --help) as opposed to a failure while running (exit code 1).
export class UsageError extends Error {}

export interface Command {
  name: string;
  /** One line for the command list in `fedfacet --help`. */
  summary: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[]): Promise<number>;
}

/** node:util parseArgs' error as a UsageError; Node's first sentence names the bad argument. */
export function optionError(e: unknown): UsageError {
  const first = (e instanceof Error ? e.message : String(e)).split(". ")[0]!;
  return new UsageError(first.charAt(0).toLowerCase() + first.slice(1));
}
