// The compiled modules the browser device page imports, served read-only under /pkg/ (Node only).
// The allow-list is the page entry's static import closure in dist/, read once: a path is served
// only if it is a key of that map, so no request can reach another file (no path traversal, no
// directory listing). Walking the closure also checks that the browser code imports no Node API.
import { readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";

/** dist/ of this package (this file is dist/src/federated/coordinator/package-files.js). */
export const DIST_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../..");

/** Specifiers of static imports, re-exports, side-effect and dynamic imports in compiled JS. */
const IMPORT = /(?:^|[;\s])(?:import|export)\s*(?:[\w*{}\s,$]+\sfrom\s*)?["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;

/** The module specifiers `source` imports. */
export function importsOf(source: string): string[] {
  return [...source.matchAll(IMPORT)].map((m) => (m[1] ?? m[2])!);
}

export class PackageFiles {
  private constructor(private readonly files: ReadonlyMap<string, Buffer>) {}

  /**
   * Reads `entry` (a path under `dist`, e.g. "src/federated/net-client/browser.js") and every
   * module it imports, transitively. Throws naming the importing module if one imports anything
   * but a relative path (a node:* or package import would not load in a browser).
   */
  static load(entry: string, dist = DIST_DIR): PackageFiles {
    const files = new Map<string, Buffer>();
    const todo = [posix.normalize(entry)];
    while (todo.length > 0) {
      const path = todo.pop()!;
      if (files.has(path)) continue;
      if (path.startsWith("..") || posix.isAbsolute(path) || !path.endsWith(".js")) throw new Error(`browser modules: '${path}' is not a module inside ${dist}`);
      const body = readFileSync(join(dist, path));
      files.set(path, body);
      for (const spec of importsOf(body.toString("utf8"))) {
        if (!spec.startsWith("./") && !spec.startsWith("../")) throw new Error(`browser modules: ${path} imports '${spec}', which a browser cannot load (only relative imports of our own modules)`);
        todo.push(posix.normalize(posix.join(posix.dirname(path), spec)));
      }
    }
    return new PackageFiles(files);
  }

  /** The file at `path` (relative to dist/), or undefined when it is not on the list. */
  get(path: string): Buffer | undefined {
    return this.files.get(path);
  }

  paths(): string[] {
    return [...this.files.keys()].sort();
  }
}
