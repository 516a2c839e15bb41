// The page a coordinator serves at GET /: it loads the device's ES modules unbundled from /pkg/
// (the package's compiled files) and runs one device in the tab (browser.ts).

/** Path under /pkg/ of the module the page starts (the coordinator serves its import closure). */
export const PAGE_ENTRY = "src/federated/net-client/browser.js";

export const CLIENT_PAGE = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>fedfacet device</title>
<style>body { font: 14px system-ui, sans-serif; margin: 2em; } pre { font-size: 12px; }</style>
<h1>fedfacet device</h1>
<p>Trains one user of the coordinator's synthetic data in this tab: open <code>/?user=ID</code>
(add <code>&amp;rounds=N</code> to stop after N accepted updates, <code>&amp;store=memory</code> to keep
no state in IndexedDB, <code>&amp;dp-min-noise=Z</code> to take part only in runs whose differential-privacy
noise multiplier is at least Z).</p>
<pre id="log"></pre>
<script type="module">
import { runBrowserDevice } from "/pkg/${PAGE_ENTRY}";
const pre = document.getElementById("log");
runBrowserDevice(new URLSearchParams(location.search), (line) => { pre.textContent += line + "\\n"; });
</script>
</html>
`;
