// The committed dist/ is what src/ compiles to with the pinned typescript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

test("dist/ is up to date with src/", { skip: !existsSync(tsc) && "typescript is not installed" }, () => {
  const out = mkdtempSync(join(tmpdir(), "imagesaas-dist-"));
  try {
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json", "--outDir", out], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const built = readdirSync(out).sort();
    assert.deepEqual(readdirSync(join(root, "dist")).sort(), built, "the same files");
    for (const f of built) {
      assert.equal(readFileSync(join(root, "dist", f), "utf8"), readFileSync(join(out, f), "utf8"), `dist/${f} is stale: run npm run build`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
