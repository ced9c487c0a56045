#!/usr/bin/env node
// Trims Forgejo's API description (`swagger.v1.json`, Swagger 2.0, as shipped at the root of the
// `forgejo-api` crate on crates.io) to the operations revertbot's Gitea/Forgejo forge uses, so that
// `prism proxy` starts in a few seconds and the copy committed in testkit/openapi/ stays small.
//
// Usage: node scripts/trim-forgejo-openapi.mjs SWAGGER.v1.json OUT.json
//   (see testkit/openapi/README.md for where SWAGGER.v1.json comes from)
//
// Keeps the listed paths and methods verbatim, plus every definition, response and parameter they
// reference (transitively). Drops `x-go-name` / `x-go-package` (Go generator metadata) and tags.
//
// One documented change to the schemas: go-swagger cannot say that a Go pointer field is `null`
// when unset, and Forgejo sends `null` for them (`"merged_at": null` on an open pull request,
// `"milestone": null`, `"errors": null` in a 404). NULLABLE lists those fields; a typed one gets
// `x-nullable: true` (Prism reads it as `type: [T, "null"]`), a `$ref` one becomes
// `{"anyOf": [{"$ref": ...}, {"type": "null"}]}`. Likewise EMPTY_URL lists `format: url` fields
// Forgejo sends as "" when unset (a repository without an avatar or a migration source; a
// comment's `issue_url` on a pull request, `pull_request_url` on an issue): they accept "" too.
// Each path carries the API's prefix (`basePath`, /api/v1) and basePath becomes `/`: Prism does
// not serve a Swagger 2.0 description under its basePath, and a client sends the whole path.
// Nothing else is rewritten: this is a contract check, not a rewrite.
//
// To check a new route, add it to OPERATIONS (and to the fake in testkit/src/fake_gitea/).

import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { dirname } from "node:path";

const OPERATIONS = {
  "/repos/{owner}/{repo}": ["get"],
  "/repos/{owner}/{repo}/pulls": ["get", "post"],
  "/repos/{owner}/{repo}/pulls/{base}/{head}": ["get"],
  "/repos/{owner}/{repo}/pulls/{index}": ["get", "patch"],
  "/repos/{owner}/{repo}/pulls/{index}/requested_reviewers": ["post"],
  "/repos/{owner}/{repo}/pulls/{index}/merge": ["post"],
  "/repos/{owner}/{repo}/issues/{index}/comments": ["get", "post"],
  "/repos/{owner}/{repo}/issues/{index}/labels": ["post"],
  "/repos/{owner}/{repo}/labels": ["get", "post"],
};

// Fields Forgejo serialises from Go pointers without `omitempty`: `null` when unset.
const NULLABLE = {
  PullRequest: [
    "milestone",
    "assignee",
    "assignees",
    "merged_at",
    "merge_commit_sha",
    "merged_by",
    "due_date",
    "closed_at",
  ],
  PullReview: ["team"],
  APINotFound: ["errors"],
};

// `format: url` fields Forgejo sends as "" when unset.
const EMPTY_URL = {
  Repository: ["avatar_url", "original_url"],
  Comment: ["issue_url", "pull_request_url"],
};

const [source, out] = process.argv.slice(2);
if (!source || !out) {
  console.error("usage: node scripts/trim-forgejo-openapi.mjs SWAGGER.v1.json OUT.json");
  process.exit(2);
}
const spec = JSON.parse(readFileSync(source, "utf8"));
if (spec.swagger !== "2.0") throw new Error(`${source}: expected Swagger 2.0, got ${spec.swagger ?? spec.openapi}`);

function strip(node, parentKey) {
  if (Array.isArray(node)) {
    for (const item of node) strip(item, undefined);
    return node;
  }
  if (node === null || typeof node !== "object") return node;
  const isProperties = parentKey === "properties";
  for (const key of Object.keys(node)) {
    if (!isProperties && (key === "x-go-name" || key === "x-go-package" || key === "tags")) {
      delete node[key];
      continue;
    }
    strip(node[key], key);
  }
  return node;
}

const paths = {};
for (const [path, methods] of Object.entries(OPERATIONS)) {
  const item = spec.paths[path];
  if (!item) throw new Error(`path ${path} is not in this description`);
  const kept = {};
  if (item.parameters) kept.parameters = item.parameters;
  for (const m of methods) {
    if (!item[m]) throw new Error(`${m.toUpperCase()} ${path} is not in this description`);
    kept[m] = item[m];
  }
  paths[`${spec.basePath ?? ""}${path}`] = strip(structuredClone(kept), undefined);
}

// Swagger 2.0 keeps reusable pieces at the top level: definitions, responses, parameters.
const kept = { definitions: {}, responses: {}, parameters: {} };
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
  const m = /^#\/(definitions|responses|parameters)\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`unsupported $ref ${ref}`);
  const [, kind, name] = m;
  const target = spec[kind]?.[name];
  if (target === undefined) throw new Error(`dangling $ref ${ref}`);
  const copy = strip(structuredClone(target), undefined);
  kept[kind][name] = copy;
  collectRefs(copy);
}

for (const [def, fields] of Object.entries(NULLABLE)) {
  const d = kept.definitions[def];
  if (!d) throw new Error(`NULLABLE: definition ${def} is not kept`);
  for (const f of fields) {
    const p = d.properties?.[f];
    if (!p) throw new Error(`NULLABLE: ${def}.${f} is not in the description`);
    if (typeof p.$ref === "string") {
      const { $ref, ...rest } = p;
      d.properties[f] = { ...rest, anyOf: [{ $ref }, { type: "null" }] };
    } else if (typeof p.type === "string") {
      p["x-nullable"] = true;
    } else {
      throw new Error(`NULLABLE: ${def}.${f} has neither a type nor a $ref`);
    }
  }
}

for (const [def, fields] of Object.entries(EMPTY_URL)) {
  const d = kept.definitions[def];
  if (!d) throw new Error(`EMPTY_URL: definition ${def} is not kept`);
  for (const f of fields) {
    const p = d.properties?.[f];
    if (!p || p.type !== "string" || p.format !== "url") throw new Error(`EMPTY_URL: ${def}.${f} is not a string with format url`);
    delete p.format;
    p.anyOf = [{ format: "url" }, { maxLength: 0 }];
  }
}

const trimmed = {
  swagger: spec.swagger,
  info: {
    ...spec.info,
    description: `${spec.info.description ?? ""}\n\nTrimmed by revertbot's scripts/trim-forgejo-openapi.mjs to the operations its Gitea/Forgejo forge uses; fields Forgejo sends as null marked nullable, url fields it sends empty accept \"\" (NULLABLE, EMPTY_URL in the script).`,
  },
  basePath: "/",
  schemes: spec.schemes,
  consumes: spec.consumes,
  produces: spec.produces,
  securityDefinitions: spec.securityDefinitions,
  security: spec.security,
  paths,
  definitions: kept.definitions,
  responses: kept.responses,
};
if (Object.keys(kept.parameters).length) trimmed.parameters = kept.parameters;

mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
writeFileSync(tmp, JSON.stringify(trimmed, null, 1) + "\n");
renameSync(tmp, out);
const count = Object.values(OPERATIONS).flat().length;
console.error(
  `wrote ${out}: ${count} operations, ${Object.keys(kept.definitions).length} definitions, ${Object.keys(kept.responses).length} responses`,
);
