// `prepare`: build dist/ with the pinned typescript when it is installed
// (a development checkout after `npm install`). `npm install ./clients/typescript`
// from another project links this folder and runs `prepare` without
// installing its devDependencies, so there the committed dist/ is used
// (test/dist.test.mjs fails when dist/ is not what src/ compiles to).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(new URL("../package.json", import.meta.url));
let tsc;
try {
  tsc = require.resolve("typescript/bin/tsc", { paths: [root] });
} catch {
  tsc = undefined;
}
if (tsc && existsSync(new URL("../node_modules/typescript", import.meta.url))) {
  const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: root, stdio: "inherit" });
  process.exit(r.status ?? 1);
}
if (existsSync(new URL("../dist/index.js", import.meta.url))) {
  console.log("imagesaas: typescript is not installed here; using the committed dist/");
  process.exit(0);
}
console.error("imagesaas: no dist/ and no typescript to build it: run `npm install` in clients/typescript");
process.exit(1);
