// Runs every compiled test file (dist/test/**/*.test.js) with uvu in one process, with relaxed
// SIMD enabled so that both WASM builds are tested, and ends with the line "N passed, N failed".
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = ["--experimental-wasm-relaxed-simd", join(root, "node_modules/uvu/bin.js"), join(root, "dist/test"), "\\.test\\.js$", ...process.argv.slice(2)];
const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 28 });
process.stdout.write(r.stdout ?? "");
// uvu colours its summary; strip the escape codes before reading the counts
const plain = (r.stdout ?? "").replace(/\x1b\[[0-9;]*m/g, "");
const num = (re) => Number(plain.match(re)?.[1] ?? 0);
const total = num(/Total:\s+(\d+)/);
const passed = num(/Passed:\s+(\d+)/);
const skipped = num(/Skipped:\s+(\d+)/);
// uvu's Total counts the tests that ran; skipped ones are apart from it
const failed = r.status === 0 ? total - passed : Math.max(1, total - passed);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(r.status === 0 && total > 0 ? 0 : 1);
