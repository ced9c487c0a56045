#!/usr/bin/env node
// Trims GitLab's OpenAPI description (`doc/api/openapi/openapi_v3.yaml` in gitlabhq/gitlabhq,
// ~3.9 MB) to the operations revertbot uses, for the fake GitLab's contract check
// (testkit/tests/gitlab_contract.rs), and writes it as JSON.
//
// Usage: node scripts/trim-gitlab-openapi.mjs openapi_v3.yaml testkit/openapi/gitlab-v4.trimmed.json
//
// The input is GitLab's whole file or an excerpt of it in the same layout
// (testkit/openapi/openapi_v3.excerpt.yaml). Keeps the listed paths and methods, plus every
// component they reference (transitively). Drops what Prism does not need to validate traffic:
// operation summaries, descriptions and tags, parameter and schema descriptions and examples,
// `x-gitlab-*` vendor keys. A property *named* `description` or `example` (under `properties`) is
// kept, and so is a response's `description` (OpenAPI requires it). Schemas are otherwise left as
// GitLab publishes them: this is a contract check, not a rewrite.
//
// YAML is read with js-yaml, which Prism already brings into node_modules (package-lock.json).
//
// To check a new route, add it to OPERATIONS (and to testkit/src/fake_gitlab/).

import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// GitLab's spellings: the notes routes are generic over the noteable (`{noteable_id}`).
const OPERATIONS = {
  "/api/v4/projects/{id}": ["get"],
  "/api/v4/projects/{id}/merge_requests": ["get", "post"],
  "/api/v4/projects/{id}/merge_requests/{merge_request_iid}": ["get", "put"],
  "/api/v4/projects/{id}/merge_requests/{merge_request_iid}/merge": ["put"],
  "/api/v4/projects/{id}/merge_requests/{noteable_id}/notes": ["get", "post"],
  "/api/v4/projects/{id}/labels": ["get", "post"],
  "/api/v4/users": ["get"],
};

const [input, out] = process.argv.slice(2);
if (!input || !out) {
  console.error("usage: node scripts/trim-gitlab-openapi.mjs openapi_v3.yaml OUT.json");
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let yaml;
try {
  yaml = createRequire(join(root, "package.json"))("js-yaml");
} catch (e) {
  console.error(`cannot load js-yaml (${e.message}): run \`npm ci\` first (scripts/test does)`);
  process.exit(1);
}
const text = readFileSync(input, "utf8");
const spec = (yaml.safeLoad ?? yaml.load)(text);

const DROP_EVERYWHERE = new Set(["summary", "tags", "example", "examples"]);
function strip(node, parentKey) {
  if (Array.isArray(node)) {
    for (const item of node) strip(item, undefined);
    return node;
  }
  if (node === null || typeof node !== "object") return node;
  const isProperties = parentKey === "properties";
  const isResponse = /^\d{3}$|^default$/.test(parentKey ?? "");
  for (const key of Object.keys(node)) {
    if (!isProperties) {
      if (DROP_EVERYWHERE.has(key) || key.startsWith("x-gitlab")) {
        delete node[key];
        continue;
      }
      if (key === "description" && !isResponse && typeof node[key] === "string") {
        delete node[key];
        continue;
      }
    }
    strip(node[key], key);
  }
  return node;
}

const paths = {};
const missing = [];
for (const [path, methods] of Object.entries(OPERATIONS)) {
  const item = spec.paths?.[path];
  if (!item) {
    missing.push(`${path} (${methods.join(", ")})`);
    continue;
  }
  const kept = {};
  if (item.parameters) kept.parameters = item.parameters;
  for (const m of methods) {
    if (item[m]) kept[m] = item[m];
    else missing.push(`${m.toUpperCase()} ${path}`);
  }
  paths[path] = strip(structuredClone(kept), undefined);
}

const components = {};
const pending = [];
function collectRefs(node) {
  if (Array.isArray(node)) return node.forEach(collectRefs);
  if (node === null || typeof node !== "object") return;
  if (typeof node.$ref === "string") pending.push(node.$ref);
  for (const v of Object.values(node)) collectRefs(v);
}
collectRefs(paths);
const seen = new Set();
const dangling = [];
while (pending.length) {
  const ref = pending.pop();
  if (seen.has(ref)) continue;
  seen.add(ref);
  const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  const [, kind, name] = m;
  const target = spec.components?.[kind]?.[name];
  if (target === undefined) {
    dangling.push(ref);
    continue;
  }
  const copy = strip(structuredClone(target), undefined);
  (components[kind] ??= {})[name] = copy;
  collectRefs(copy);
}
if (missing.length) console.error(`not in the description (left out of the check):\n  ${missing.join("\n  ")}`);
if (dangling.length) {
  console.error(`referenced but not in the input (add them to the excerpt):\n  ${dangling.sort().join("\n  ")}`);
  process.exit(1);
}

const trimmed = {
  openapi: spec.openapi,
  info: {
    title: spec.info?.title,
    version: spec.info?.version,
    license: spec.info?.license,
    description: `${spec.info?.description ?? ""}\n\nTrimmed by revertbot's scripts/trim-gitlab-openapi.mjs to the operations its fake GitLab serves.`,
  },
  servers: spec.servers,
  paths,
  components,
};

mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
writeFileSync(tmp, JSON.stringify(trimmed, null, 1) + "\n");
renameSync(tmp, out);
const count = Object.values(paths).reduce((n, item) => n + Object.keys(item).filter((k) => k !== "parameters").length, 0);
const kinds = Object.entries(components).map(([k, v]) => `${Object.keys(v).length} ${k}`).join(", ");
console.error(`wrote ${out}: ${count} operations, ${kinds || "no components"}`);
