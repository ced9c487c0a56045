#!/usr/bin/env node
// Trims GitHub's OpenAPI description (npm `@octokit/openapi`) to the operations revertbot uses,
// so that `prism proxy` starts in a few seconds instead of parsing ~800 paths.
//
// Usage: node scripts/trim-github-openapi.mjs OUT.json
//
// Keeps the listed paths and methods verbatim, plus every component they reference (transitively).
// Drops what Prism does not need to validate traffic: `examples` of media types and parameters
// (and the components/examples they point to), `x-github` vendor metadata, tags, webhooks.
// Schemas are left exactly as GitHub publishes them: this is a contract check, not a rewrite.
//
// To check a new route, add it to OPERATIONS (and to the fake GitHub in tests/common/fake_github.rs).
// Prism cannot route `git/ref/{ref}` paths whose `ref` contains `/` (see docs/design.md).

import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OPERATIONS = {
  "/repos/{owner}/{repo}": ["get"],
  "/repos/{owner}/{repo}/pulls": ["get", "post"],
  "/repos/{owner}/{repo}/pulls/{pull_number}": ["get"],
  "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers": ["post"],
  "/repos/{owner}/{repo}/issues/{issue_number}/comments": ["get", "post"],
  "/repos/{owner}/{repo}/issues/{issue_number}/labels": ["post"],
  "/repos/{owner}/{repo}/issues/{issue_number}/assignees": ["post"],
  "/repos/{owner}/{repo}/installation": ["get"],
  "/app/installations/{installation_id}/access_tokens": ["post"],
};

const out = process.argv[2];
if (!out) {
  console.error("usage: node scripts/trim-github-openapi.mjs OUT.json");
  process.exit(2);
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "node_modules/@octokit/openapi/generated/api.github.com.json");
let spec;
try {
  spec = JSON.parse(readFileSync(source, "utf8"));
} catch (e) {
  console.error(`cannot read ${source}: ${e.message}\nrun \`npm ci\` first (scripts/test does)`);
  process.exit(1);
}

// Removes `examples` from media-type and parameter objects, and `x-github` metadata, in place.
// Only looks at keys whose meaning is certain: a schema property named `examples` is kept.
function strip(node, parentKey) {
  if (Array.isArray(node)) {
    for (const item of node) strip(item, undefined);
    return node;
  }
  if (node === null || typeof node !== "object") return node;
  const isSchemaProperties = parentKey === "properties";
  for (const key of Object.keys(node)) {
    if (!isSchemaProperties && (key === "x-github" || key === "x-github-breaking-changes")) {
      delete node[key];
      continue;
    }
    strip(node[key], key);
  }
  // A media-type object (value of `content[type]`) or a parameter object carries `examples`
  // next to `schema`; a schema carrying a property called `examples` has it under `properties`.
  if (!isSchemaProperties && "schema" in node && "examples" in node) delete node.examples;
  return node;
}

const paths = {};
for (const [path, methods] of Object.entries(OPERATIONS)) {
  const item = spec.paths[path];
  if (!item) throw new Error(`path ${path} is not in GitHub's description`);
  const kept = {};
  if (item.parameters) kept.parameters = item.parameters;
  for (const m of methods) {
    if (!item[m]) throw new Error(`${m.toUpperCase()} ${path} is not in GitHub's description`);
    kept[m] = item[m];
  }
  paths[path] = strip(structuredClone(kept), undefined);
}

// Collect every component reachable from the kept operations.
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
while (pending.length) {
  const ref = pending.pop();
  if (seen.has(ref)) continue;
  seen.add(ref);
  const m = /^#\/components\/([^/]+)\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  const [, kind, name] = m;
  const target = spec.components?.[kind]?.[name];
  if (target === undefined) throw new Error(`dangling $ref ${ref}`);
  const copy = strip(structuredClone(target), undefined);
  (components[kind] ??= {})[name] = copy;
  collectRefs(copy);
}

const trimmed = {
  openapi: spec.openapi,
  info: { ...spec.info, description: `${spec.info.description ?? ""}\n\nTrimmed by revertbot's scripts/trim-github-openapi.mjs to the operations it uses.` },
  servers: spec.servers,
  externalDocs: spec.externalDocs,
  paths,
  components,
};

mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
writeFileSync(tmp, JSON.stringify(trimmed, null, 1));
renameSync(tmp, out);
const count = Object.values(OPERATIONS).flat().length;
const kinds = Object.entries(components).map(([k, v]) => `${Object.keys(v).length} ${k}`).join(", ");
console.error(`wrote ${out}: ${count} operations, ${kinds}`);
